// The main of every GoogleTest binary of the suite (instead of gtest_main).
//
// Each test runs in a Sandbox of its own (sandbox.h): its own HOME and
// RAY_STATE_DIR, none of the runner's RAY_* settings, and every process it
// started, daemons included, is killed when it ends, passed or failed; the
// killed ones are named, since a test that leaves processes behind has a bug.
// With RAY_TEST_TIMEOUT_S set (tests/CMakeLists.txt sets it a little under
// ctest's TIMEOUT), a test still running then has its processes killed and the
// binary exits 124, so ctest's own kill, which cannot see detached daemons,
// never has to come.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "tests/common/sandbox.h"

namespace ray::test {
namespace {

/// Kills the test's processes and ends the binary if the test outlives its time.
class Watchdog {
 public:
  Watchdog(int seconds, const std::string& test, const Sandbox* sandbox)
      : thread_([this, seconds, test, sandbox] {
          std::unique_lock<std::mutex> lock(mu_);
          if (cv_.wait_for(lock, std::chrono::seconds(seconds), [this] { return done_; })) return;
          fprintf(stderr, "\n[sandbox] %s still running after %d s (RAY_TEST_TIMEOUT_S): "
                  "killing its processes\n", test.c_str(), seconds);
          auto killed = sandbox->KillOwned();
          fprintf(stderr, "[sandbox] killed %zu process(es)\n", killed.size());
          fflush(nullptr);
          _exit(124);
        }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

class SandboxListener : public ::testing::EmptyTestEventListener {
 public:
  void OnTestStart(const ::testing::TestInfo& info) override {
    name_ = std::string(info.test_suite_name()) + "." + info.name();
    sandbox_ = std::make_unique<Sandbox>();
    const char* limit = getenv("RAY_TEST_TIMEOUT_S");
    if (limit != nullptr && atoi(limit) > 0) {
      watchdog_ = std::make_unique<Watchdog>(atoi(limit), name_, sandbox_.get());
    }
  }

  void OnTestEnd(const ::testing::TestInfo&) override {
    watchdog_.reset();
    auto killed = sandbox_->KillOwned();
    if (!killed.empty()) {
      fprintf(stderr, "[sandbox] %s left %zu process(es) running; killed:", name_.c_str(),
              killed.size());
      for (pid_t pid : killed) fprintf(stderr, " %d", static_cast<int>(pid));
      fprintf(stderr, "\n");
    }
    sandbox_.reset();
  }

 private:
  std::string name_;
  std::unique_ptr<Sandbox> sandbox_;
  std::unique_ptr<Watchdog> watchdog_;
};

}  // namespace
}  // namespace ray::test

int main(int argc, char** argv) {
  ray::test::ScrubRunnerEnvironment();
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::UnitTest::GetInstance()->listeners().Append(new ray::test::SandboxListener);
  return RUN_ALL_TESTS();
}
