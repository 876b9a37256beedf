// Defects found by trying the cluster as a new user would: calls on a killed
// actor, and workers started without the shim that replaces their main.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <ray/api.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/cluster/node_process.h"

namespace {

class Tally {
 public:
  static Tally* Create() { return new Tally(); }
  int Add(int x) { return total_ += x; }

 private:
  int total_ = 0;
};

int Twice(int x) { return 2 * x; }

RAY_REMOTE(Tally::Create, &Tally::Add, Twice);

using ray::test::NodeProcess;

constexpr char kToken[] = "hardening-test-token";

class HardeningTest : public ::testing::Test {
 protected:
  void SetUp() override { setenv("RAY_AUTH_TOKEN", kToken, 1); }
  void TearDown() override {
    ray::Shutdown();
    head_.Stop();
    std::error_code ec;
    if (!bin_.empty()) std::filesystem::remove_all(bin_, ec);
  }

  void StartHead(const std::string& raynode = RAY_BIN_DIR "/raynode") {
    head_.set_binary(raynode);
    ASSERT_TRUE(head_.Start({"--num-cpus", "2", "--object-store-memory", "100000000"}, 20000,
                            {{"RAY_AUTH_TOKEN", kToken}}))
        << head_.log();
    ray::RayConfig config;
    config.address = head_.address();
    ray::Init(config);
  }

  NodeProcess head_;
  std::string bin_;
};

TEST_F(HardeningTest, CallsOnAKilledActorFailNamingTheKill) {
  StartHead();
  for (int i = 0; i < 10; ++i) {
    auto tally = ray::Actor(Tally::Create).Remote();
    EXPECT_EQ(*ray::Get(tally.Task(&Tally::Add).Remote(1)), 1);
    tally.Kill();
    try {
      ray::Get(tally.Task(&Tally::Add).Remote(1), 20000);
      ADD_FAILURE() << "run " << i << ": a call on a killed actor succeeded";
    } catch (const ray::RayActorException& e) {
      EXPECT_NE(std::string(e.what()).find("killed"), std::string::npos) << e.what();
    }
  }
}

TEST_F(HardeningTest, WithoutTheWorkerShimNoWorkerStartsAndGetSaysWhy) {
  // A raynode whose ../lib has no libray_worker_preload.so.
  char tmpl[] = "/tmp/ray-noshim-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  bin_ = tmpl;
  std::filesystem::create_directories(bin_ + "/bin");
  std::filesystem::create_directories(bin_ + "/lib");
  std::filesystem::copy_file(RAY_BIN_DIR "/raynode", bin_ + "/bin/raynode");
  StartHead(bin_ + "/bin/raynode");
  try {
    ray::Get(ray::Task(Twice).Remote(4), 30000);
    ADD_FAILURE() << "a task ran without the worker shim";
  } catch (const ray::RayWorkerException& e) {
    EXPECT_NE(std::string(e.what()).find("libray_worker_preload.so is missing"), std::string::npos)
        << e.what();
  }
  // Nothing was started: the node has no child processes.
  std::string children = "/proc/" + std::to_string(head_.pid()) + "/task/" +
                         std::to_string(head_.pid()) + "/children";
  std::string line;
  std::ifstream(children) >> line;
  EXPECT_EQ(line, "") << "the node started processes: " << line;
}

}  // namespace
