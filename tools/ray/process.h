// The few process-level operations `ray start` and `ray stop` need.
#ifndef RAY_TOOLS_RAY_PROCESS_H_
#define RAY_TOOLS_RAY_PROCESS_H_

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace ray::cli {

/// The directory holding the running executable (from /proc/self/exe).
std::string ExecutableDirectory();

/// What to run in a child; built in the child, which knows its own pid.
struct Launch {
  std::vector<std::string> argv;
  std::string log_path;  // stdout and stderr are appended here; empty: inherited
};

/// Forks a child that starts a new session, reads /dev/null, redirects its output
/// as `make(child pid)` says and execs it. Returns the child's pid, or -1 with `*error`.
pid_t SpawnDetached(const std::function<Launch(pid_t)>& make, std::string* error);

/// Replaces this process with `argv` (for `ray start --block`); returns only on failure.
void Exec(const std::vector<std::string>& argv, std::string* error);

/// True while `pid` is a live (not zombie) process whose argv[0] names raynode:
/// a pid reused by another program after the node exited is not ours to signal.
bool IsRaynode(pid_t pid);

/// True while `pid` is a live `ray monitor` process (the autoscaler).
bool IsMonitor(pid_t pid);

/// Stops the `ray monitor` at `pid`, if it is one: SIGTERM, then up to 120 s
/// for its launches in progress to end (`force`: SIGKILL, 5 s), then SIGKILL.
void StopMonitor(pid_t pid, bool force);

/// `path` with a leading `~/` made this process's $HOME.
std::string ExpandHome(const std::string& path);

/// Polls IsRaynode until it is false or `timeout_ms` passes; true when it exited.
bool WaitUntilGone(pid_t pid, int timeout_ms);

/// Removes the shared-memory segments "ray_<pid>_*" in `directory` (empty: /dev/shm);
/// returns how many were removed.
int RemoveSegments(pid_t pid, const std::string& directory);

/// The last `lines` lines of the file at `path` (empty if unreadable).
std::string TailFile(const std::string& path, int lines);

/// Sleeps for `ms` milliseconds.
void SleepMs(int ms);

}  // namespace ray::cli

#endif  // RAY_TOOLS_RAY_PROCESS_H_
