// A test's sandbox: a fresh directory holding its HOME and RAY_STATE_DIR, and
// the processes it started, found again at the end and killed.
//
// Every process started while a sandbox is active inherits RAY_TEST_OWNER=<id>
// in its environment; daemons (`ray start` detaches raynode) keep it, so
// KillOwned() finds them by it in /proc/<pid>/environ, with every descendant
// of a marked process, whatever its parent became. A process that was started
// with a scrubbed environment (an sshd session) must be given the marker by
// the test (Sandbox::MarkerEnv()).
#ifndef RAY_TESTS_COMMON_SANDBOX_H_
#define RAY_TESTS_COMMON_SANDBOX_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace ray::test {

class Sandbox {
 public:
  /// Creates /tmp/ray-test-XXXXXX with home/ and state/ in it, points HOME and
  /// RAY_STATE_DIR there and marks this process's children with a fresh id.
  /// Aborts the program when the directory cannot be made (nothing could run).
  Sandbox();
  /// KillOwned(), then removes the directory (kept when RAY_TEST_KEEP is set).
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  /// Kills (SIGKILL) every process that carries this sandbox's marker, and
  /// their descendants, until none is left; reaps this process's zombies.
  /// Returns the pids it killed.
  std::vector<pid_t> KillOwned() const;

  const std::string& root() const { return root_; }
  const std::string& id() const { return id_; }
  /// "RAY_TEST_OWNER=<id>", for environments a test builds by hand.
  std::string MarkerEnv() const;

 private:
  std::string root_;
  std::string id_;
};

/// Removes the runner's own RAY_* variables (RAY_ADDRESS, RAY_AUTH_TOKEN, ...)
/// from this process's environment, so that no test reaches the runner's
/// cluster or depends on its settings; RAY_TEST_*, RAY_FUZZ_* and RAY_CHAOS_*
/// (the suite's own knobs) stay.
void ScrubRunnerEnvironment();

/// The pids (other than this process) whose environment holds `marker`
/// ("NAME=value", matched whole), and all their descendants.
std::vector<pid_t> ProcessesMarked(const std::string& marker);

}  // namespace ray::test

#endif  // RAY_TESTS_COMMON_SANDBOX_H_
