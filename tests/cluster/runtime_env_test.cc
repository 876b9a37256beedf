// Runtime envs on a real raynode: env_vars at job, task and actor level
// (merged as Ray merges them, inherited by nested tasks, workers pooled per
// env), a working_dir shipped to the node and made the workers' directory, and
// the fields this runtime cannot honour refused when the call is made.
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <ray/api.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "tests/cluster/node_process.h"
#include "tests/storage/temp_dir.h"

namespace {

std::string EnvOf(std::string name) {
  const char* value = getenv(name.c_str());
  return value != nullptr ? value : "<unset>";
}

std::string CurrentDir() {
  char buf[PATH_MAX];
  return getcwd(buf, sizeof(buf)) != nullptr ? buf : "<none>";
}

std::string ReadFile(std::string path) {
  std::ifstream in(path);
  if (!in) return "<missing>";
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class EnvActor {
 public:
  static EnvActor* Create() { return new EnvActor(); }
  std::string Env(std::string name) { return EnvOf(name); }
  /// What a task it submits sees: it inherits the actor's env.
  std::string NestedEnv(std::string name) { return *ray::Get(ray::Task(EnvOf).Remote(name)); }
};

RAY_REMOTE(EnvOf, CurrentDir, ReadFile, EnvActor::Create, &EnvActor::Env, &EnvActor::NestedEnv);

ray::RuntimeEnv EnvVars(const std::map<std::string, std::string>& vars) {
  ray::RuntimeEnv env;
  env.Set("env_vars", vars);
  return env;
}

class RuntimeEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(node_.Start({"--num-cpus", "2", "--object-store-memory", "100000000"}))
        << node_.log();
    config_.address = node_.address();
  }
  void TearDown() override {
    ray::Shutdown();
    node_.Stop();
  }
  ray::test::NodeProcess node_;
  ray::RayConfig config_;
};

TEST_F(RuntimeEnvTest, EnvVarsAtJobTaskAndActorLevelMergeAndNestedTasksInheritThem) {
  config_.runtime_env = EnvVars({{"LEVEL", "job"}, {"JOB_ONLY", "yes"}});
  ray::Init(config_);
  EXPECT_EQ(*ray::Get(ray::Task(EnvOf).Remote("LEVEL")), "job");
  auto task_env = EnvVars({{"LEVEL", "task"}});
  EXPECT_EQ(*ray::Get(ray::Task(EnvOf).SetRuntimeEnv(task_env).Remote("LEVEL")), "task");
  EXPECT_EQ(*ray::Get(ray::Task(EnvOf).SetRuntimeEnv(task_env).Remote("JOB_ONLY")), "yes")
      << "a task's env_vars replaced the job's instead of merging";
  auto actor = ray::Actor(EnvActor::Create).SetRuntimeEnv(EnvVars({{"LEVEL", "actor"}})).Remote();
  EXPECT_EQ(*ray::Get(actor.Task(&EnvActor::Env).Remote("LEVEL")), "actor");
  EXPECT_EQ(*ray::Get(actor.Task(&EnvActor::NestedEnv).Remote("LEVEL")), "actor");
  // The workers those ran in are not reused for the job's own env.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(*ray::Get(ray::Task(EnvOf).Remote("LEVEL")), "job");
  EXPECT_EQ(EnvOf("LEVEL"), "<unset>") << "the driver's own environment changed";
}

TEST_F(RuntimeEnvTest, AWorkingDirIsShippedToTheNodeAndIsTheWorkersDirectory) {
  ray::storage::TempDir temp;
  const std::string dir = temp.path() + "/project";
  std::filesystem::create_directories(dir + "/data");
  std::ofstream(dir + "/data/input.txt") << "hello from the working_dir";
  ray::RuntimeEnv env;
  env.Set("working_dir", dir);
  ray::Init(config_);
  const std::string driver_dir = CurrentDir();
  auto read = ray::Task(ReadFile).SetRuntimeEnv(env).Remote("data/input.txt");
  EXPECT_EQ(*ray::Get(read), "hello from the working_dir");
  std::string cwd = *ray::Get(ray::Task(CurrentDir).SetRuntimeEnv(env).Remote());
  EXPECT_NE(cwd.find("/runtime_resources/working_dir_"), std::string::npos) << cwd;
  EXPECT_NE(cwd, dir) << "the workers ran in the driver's directory, not a shipped copy";
  EXPECT_EQ(*ray::Get(ray::Task(ReadFile).Remote("data/input.txt")), "<missing>")
      << "a task without the env ran in its working_dir";
  EXPECT_EQ(CurrentDir(), driver_dir);
}

TEST_F(RuntimeEnvTest, FieldsThatCannotBeHonouredAreRefusedWhenTheCallIsMade) {
  ray::Init(config_);
  ray::RuntimeEnv pip;
  pip.Set("pip", std::vector<std::string>{"requests"});
  try {
    ray::Task(EnvOf).SetRuntimeEnv(pip).Remote("X");
    ADD_FAILURE() << "a pip runtime env was accepted";
  } catch (const ray::RayRuntimeEnvException& e) {
    EXPECT_NE(std::string(e.what()).find("'pip' is not supported"), std::string::npos) << e.what();
  }
  ray::RuntimeEnv missing;
  missing.Set("working_dir", std::string("/nonexistent/dir"));
  EXPECT_THROW(ray::Actor(EnvActor::Create).SetRuntimeEnv(missing).Remote(),
               ray::RayRuntimeEnvException);
  ray::Shutdown();
  ray::RuntimeEnv conda;
  conda.Set("conda", std::string("myenv"));
  config_.runtime_env = conda;
  EXPECT_THROW(ray::Init(config_), ray::RayRuntimeEnvException);
}

}  // namespace
