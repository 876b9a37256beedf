// Runs a program to completion and captures its exit code and output.
#ifndef RAY_TESTS_CLI_CLI_RUNNER_H_
#define RAY_TESTS_CLI_CLI_RUNNER_H_

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace ray::cli::testing {

struct RunResult {
  int code = -1;  // exit status; 128 + signal when killed
  std::string out;
  std::string err;
};

/// Runs `argv` with `env` added to this process's environment. Output goes through
/// files, not pipes, so a daemon that inherits them cannot keep this waiting.
RunResult RunProgram(const std::vector<std::string>& argv,
                     const std::map<std::string, std::string>& env);

/// Starts `argv` in the background with `env` added; returns its pid.
pid_t StartBackground(const std::vector<std::string>& argv,
                      const std::map<std::string, std::string>& env);

/// True while `pid` exists and is not a zombie.
bool IsAlive(pid_t pid);

/// Names in `dir` that start with `prefix`.
std::vector<std::string> FilesWithPrefix(const std::string& dir, const std::string& prefix);

/// Polls until `path` exists with a complete line in it, or `timeout_ms` passes.
bool WaitForLine(const std::string& path, int timeout_ms, std::string* line);

/// Polls until the text of `path` matches `pattern` (ECMAScript, searched
/// anywhere), or `timeout_ms` passes; `*text` is the file's last text either way.
bool WaitForMatch(const std::string& path, const std::string& pattern, int timeout_ms,
                  std::string* text);

}  // namespace ray::cli::testing

#endif  // RAY_TESTS_CLI_CLI_RUNNER_H_
