// A real `raynode` process for cluster tests: started with its own port,
// temp dir and shared-memory segment, stopped (or killed) by the test.
#ifndef RAY_TESTS_CLUSTER_NODE_PROCESS_H_
#define RAY_TESTS_CLUSTER_NODE_PROCESS_H_

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace ray::test {

class NodeProcess {
 public:
  NodeProcess() = default;
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;
  ~NodeProcess() { Kill(); }

  /// Starts raynode with `args` (plus --address-file, and --temp-dir unless
  /// `args` has one) and waits
  /// until it listens. False when it exits first; `log()` then says why.
  /// `env` entries override the test's environment ("" removes a variable).
  bool Start(const std::vector<std::string>& args, int timeout_ms = 20000,
             const std::map<std::string, std::string>& env = {});
  /// SIGTERM and wait (SIGKILL after 10 s). Returns the exit status.
  int Stop();
  /// Sends `signal` (SIGKILL: also reaps it).
  void Signal(int signal);
  void Kill();
  /// Waits up to timeout_ms for the process to exit by itself; true when it did.
  bool WaitExit(int timeout_ms, int* status = nullptr);
  bool Running();
  /// True while the process is stopped (SIGSTOP), from /proc/<pid>/stat.
  bool IsStopped() const;

  /// The raynode executable to run (default: the build's).
  void set_binary(const std::string& path) { binary_ = path; }
  pid_t pid() const { return pid_; }
  const std::string& address() const { return address_; }
  const std::string& temp_dir() const { return temp_dir_; }
  /// Its stdout+stderr so far.
  std::string log() const;

 private:
  pid_t pid_ = -1;
  std::string binary_ = RAY_BIN_DIR "/raynode";
  std::string address_;
  std::string temp_dir_;
  std::string log_path_;
};

}  // namespace ray::test

#endif  // RAY_TESTS_CLUSTER_NODE_PROCESS_H_
