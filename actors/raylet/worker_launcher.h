// Starts worker processes, forwards their output, and reaps them. Plain C++.
//
// Each worker's stdout/stderr go through pipes to one log thread, which
// appends them to <log_dir>/worker-<pid>.{out,err} and, with log_to_driver,
// echoes each line as "(pid=N) line" on this process's stdout/stderr. When a
// worker's pipes close, it is reaped and `on_exit(pid, status)` is called
// from the log thread.
#ifndef RAY_ACTORS_RAYLET_WORKER_LAUNCHER_H_
#define RAY_ACTORS_RAYLET_WORKER_LAUNCHER_H_

#include <sys/types.h>

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "actors/raylet/raylet_core.h"

namespace ray::raylet {

class WorkerLauncher final : public WorkerHost {
 public:
  using ExitCallback = std::function<void(pid_t pid, int status)>;

  WorkerLauncher(std::string log_dir, bool log_to_driver, ExitCallback on_exit);
  WorkerLauncher(const WorkerLauncher&) = delete;
  WorkerLauncher& operator=(const WorkerLauncher&) = delete;
  /// Kills (SIGKILL) and reaps every worker still running.
  ~WorkerLauncher();

  /// Starts `argv` with this process's environment plus `env`; returns the pid,
  /// or -1 with `*error` set.
  pid_t Launch(const std::vector<std::string>& argv,
               const std::map<std::string, std::string>& env, std::string* error) override;
  void Signal(pid_t pid, int sig) override;
  /// SIGKILLs every live worker and waits for all of them.
  void KillAll() override;
  bool Usable(const std::string& path, bool executable) override;
  /// Writes each file of `code` into `dir` (created), mode 0755.
  Status InstallCode(const std::string& dir, const proto::CodePackage& code) override;
  Status InstallWorkingDir(const std::string& dir, const proto::CodePackage& files) override;
  size_t live() const;

 private:
  struct Child {
    pid_t pid;
    int out_fd;
    int err_fd;
    int out_log;
    int err_log;
    std::string out_partial;
    std::string err_partial;
  };
  void Loop();
  void Drain(Child& child, bool is_err, int fd);
  void Reap(Child& child);

  std::string log_dir_;
  bool log_to_driver_;
  ExitCallback on_exit_;
  mutable std::mutex mu_;
  std::map<pid_t, Child> children_;  // GUARDED_BY(mu_)
  int wake_[2] = {-1, -1};
  bool stop_ = false;                // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace ray::raylet

#endif  // RAY_ACTORS_RAYLET_WORKER_LAUNCHER_H_
