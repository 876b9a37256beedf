// A fresh registry ($RAY_STATE_DIR) and --temp-dir per test, so tests can run
// in parallel; nodes a test leaves running are force-stopped after it.
#ifndef RAY_TESTS_CLI_CLI_FIXTURE_H_
#define RAY_TESTS_CLI_CLI_FIXTURE_H_

#include <gtest/gtest.h>
#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "tests/cli/cli_runner.h"
#include "tests/storage/temp_dir.h"

namespace ray::cli::testing {

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    state_dir_ = dir_.path() + "/state";
    temp_dir_ = dir_.path() + "/tmp";
  }
  void TearDown() override { Ray({"stop", "--force"}); }

  /// The `ray` binary the test runs.
  virtual std::string RayPath() const { return RAY_CLI_PATH; }

  /// Runs `ray args...` against this test's registry.
  RunResult Ray(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    args.insert(args.begin(), RayPath());
    env["RAY_STATE_DIR"] = state_dir_;
    return RunProgram(args, env);
  }

  /// The registry files of the nodes still registered.
  std::vector<std::string> RegistryRecords() const {
    std::vector<std::string> records;
    for (const auto& name : FilesWithPrefix(state_dir_, "raynode-")) {
      if (name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0)
        records.push_back(name);
    }
    return records;
  }

  storage::TempDir dir_;
  std::string state_dir_;
  std::string temp_dir_;
};

/// The text in `text` between `before` and the next `after` (empty if absent).
inline std::string Between(const std::string& text, const std::string& before,
                           const std::string& after) {
  size_t start = text.find(before);
  if (start == std::string::npos) return "";
  start += before.size();
  size_t end = text.find(after, start);
  return end == std::string::npos ? "" : text.substr(start, end - start);
}

/// The pid in "... (pid 1234) ..." of `ray start`'s output; 0 when absent.
inline pid_t StartedPid(const std::string& out) {
  return static_cast<pid_t>(std::atoi(Between(out, "(pid ", ")").c_str()));
}

}  // namespace ray::cli::testing

#endif  // RAY_TESTS_CLI_CLI_FIXTURE_H_
