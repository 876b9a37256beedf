// How the cluster launcher and the autoscaler run commands on a node: over
// the system's ssh (one shared connection per host, ControlMaster) for hosts,
// or with bash on this machine for fake_multinode's local nodes. A script is
// sent on the shell's standard input, so what it holds (the auth token in an
// `export`) never appears in a process list.
#ifndef RAY_TOOLS_RAY_COMMAND_RUNNER_H_
#define RAY_TOOLS_RAY_COMMAND_RUNNER_H_

#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace ray::cli {

using Env = std::map<std::string, std::string>;

/// What a command did: its exit status (-1: it could not run or timed out,
/// with `error` saying which) and its standard output and error, merged.
struct RunResult {
  int exit_code = -1;
  std::string output;
  std::string error;
  bool ok() const { return exit_code == 0; }
};

/// Runs `argv` with `input` on its standard input, collecting its output until
/// it exits or `timeout_s` passes (then it is killed). With `live`, each line
/// is also written there as it comes, after `prefix`.
RunResult RunProcess(const std::vector<std::string>& argv, const std::string& input, int timeout_s,
                     std::ostream* live = nullptr, const std::string& prefix = "");

/// `text` quoted for a POSIX shell ('...').
std::string ShellQuote(const std::string& text);

/// The last `lines` lines of `text`.
std::string LastLines(const std::string& text, int lines);

class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  /// Where commands run, for messages ("127.0.0.2", "local node fake-1").
  virtual std::string Where() const = 0;
  /// Runs `script` in bash with `env` exported first.
  virtual RunResult Run(const std::string& script, const Env& env, int timeout_s,
                        std::ostream* live = nullptr) = 0;
  /// Copies the local file or directory `local` to `remote` (a `~/` prefix is
  /// the node's home), making the remote parent directory first.
  virtual RunResult Copy(const std::string& local, const std::string& remote) = 0;
  /// The argv that runs `command` on the node attached to this terminal (a
  /// pseudo-terminal when `tty`), forwarding `ports` from this host, for
  /// `ray exec` and `ray attach`.
  virtual std::vector<std::string> InteractiveArgv(const std::string& command, const Env& env,
                                                   bool tty, const std::vector<int>& ports) = 0;
};

/// How to reach hosts over SSH.
struct SshOptions {
  std::string user;
  std::string private_key;  // empty: ssh's own defaults
  int port = 0;  // 0: not given (ssh_config's Port, else 22)
  std::string control_dir;  // known_hosts lives here (the shared connections in /tmp/ray-ssh-<uid>)
  int connect_timeout_s = 10;
};

std::unique_ptr<CommandRunner> MakeSshRunner(const std::string& host, const SshOptions& options);
std::unique_ptr<CommandRunner> MakeLocalRunner(const std::string& name);

/// The `export` lines that set `env` in a script; a "PATH" entry is put in
/// front of the node's own PATH.
std::string ExportLines(const Env& env);

}  // namespace ray::cli

#endif  // RAY_TOOLS_RAY_COMMAND_RUNNER_H_
