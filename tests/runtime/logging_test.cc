// RAYLOG (ray/api/logging.h): lines at or above RayConfig::logging_level are
// written, in a driver to its stderr and in a worker to the worker's log.
#include <gtest/gtest.h>
#include <ray/api.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>

#include "tests/common/fd_capture.h"
#include "tests/common/wait_until.h"
#include "tests/storage/temp_dir.h"

namespace {

using ray::test::FdCapture;
using ray::test::WaitUntil;

int LogFromAWorker(std::string text) {
  RAYLOG(INFO) << "worker says " << text;
  RAYLOG(DEBUG) << "worker whispers " << text;
  return static_cast<int>(getpid());
}

RAY_REMOTE(LogFromAWorker);

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

class RayLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(temp_.path().empty());
    ray::RayConfig config;
    config.num_cpus = 1;
    config.object_store_memory = int64_t{64} << 20;
    config.temp_dir = temp_.path();
    config.logging_level = "info";
    config.log_to_driver = false;  // the worker's line stays in its log file
    ray::Init(config);
  }
  void TearDown() override { ray::Shutdown(); }
  ray::storage::TempDir temp_;
};

TEST_F(RayLogTest, ADriversLinesAtTheLevelGoToStderrAndLowerOnesNowhere) {
  EXPECT_TRUE(ray::IsLevelEnabled(ray::RayLogLevel::INFO));
  EXPECT_FALSE(ray::IsLevelEnabled(ray::RayLoggerLevel::DEBUG));
  FdCapture err(2, temp_.path() + "/stderr");
  RAYLOG(WARNING) << "driver warns " << 42;
  RAYLOG(DEBUG) << "driver whispers";
  err.Stop();
  const std::string text = err.Text();
  EXPECT_NE(text.find("WARNING"), std::string::npos) << text;
  EXPECT_NE(text.find("logging_test.cc"), std::string::npos) << "with its file and line: " << text;
  EXPECT_NE(text.find("driver warns 42"), std::string::npos) << text;
  EXPECT_EQ(text.find("whispers"), std::string::npos) << text;
}

TEST_F(RayLogTest, AWorkersLinesGoToItsLogFile) {
  int pid = *ray::Get(ray::Task(LogFromAWorker).Remote(std::string("hello")));
  const std::string log =
      temp_.path() + "/session_latest/logs/worker-" + std::to_string(pid) + ".err";
  std::string text;
  EXPECT_TRUE(WaitUntil([&] {
    text = ReadAll(log);
    return text.find("worker says hello") != std::string::npos;
  })) << log << ":\n" << text;
  EXPECT_EQ(text.find("whispers"), std::string::npos) << "DEBUG is below info: " << text;
}

TEST(RayLogDeathTest, FatalWritesItsLineThenAborts) {
  EXPECT_DEATH({ RAYLOG(FATAL) << "cannot go on"; }, "cannot go on");
}

}  // namespace
