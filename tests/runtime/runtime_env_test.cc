// ray::RuntimeEnv (Ray's api/runtime_env.h) and what the runtime checks,
// packs and merges before a runtime env travels with a task
// (runtime/src/runtime_env_util.h). No processes: a temp directory only.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "ray/api/runtime_env.h"
#include "runtime/src/runtime_env_util.h"
#include "tests/storage/temp_dir.h"

namespace user {
struct Pip {
  std::vector<std::string> packages;
  bool pip_check = false;
};
void to_json(nlohmann::json& j, const Pip& p) {
  j = nlohmann::json{{"packages", p.packages}, {"pip_check", p.pip_check}};
}
void from_json(const nlohmann::json& j, Pip& p) {
  j.at("packages").get_to(p.packages);
  j.at("pip_check").get_to(p.pip_check);
}
}  // namespace user

namespace ray::runtime {
namespace {

using json = nlohmann::json;

TEST(RuntimeEnv, FieldsRoundTripThroughJsonIncludingAUserType) {
  RuntimeEnv env;
  EXPECT_TRUE(env.Empty());
  env.Set("env_vars", std::map<std::string, std::string>{{"A", "1"}});
  env.Set("pip", user::Pip{{"requests"}, true});
  EXPECT_TRUE(env.Contains("pip"));
  EXPECT_EQ((env.Get<std::map<std::string, std::string>>("env_vars").at("A")), "1");
  EXPECT_EQ(env.Get<user::Pip>("pip").packages, std::vector<std::string>{"requests"});
  env.SetJsonStr("working_dir", "\"/tmp/x\"");
  EXPECT_EQ(env.GetJsonStr("working_dir"), "\"/tmp/x\"");
  RuntimeEnv copy = RuntimeEnv::Deserialize(env.Serialize());
  EXPECT_EQ(copy.Get<user::Pip>("pip").pip_check, true);
  EXPECT_TRUE(copy.Remove("pip"));
  EXPECT_FALSE(copy.Remove("pip"));
  EXPECT_FALSE(copy.Contains("pip"));
}

TEST(RuntimeEnv, MissingFieldsWrongTypesAndBadJsonRaiseRayRuntimeEnvException) {
  RuntimeEnv env;
  env.Set("n", 3);
  EXPECT_THROW(env.Get<int>("absent"), RayRuntimeEnvException);
  EXPECT_THROW(env.Get<std::string>("n"), RayRuntimeEnvException);
  EXPECT_THROW(env.GetJsonStr("absent"), RayRuntimeEnvException);
  EXPECT_THROW(env.SetJsonStr("x", "{not json"), RayRuntimeEnvException);
  EXPECT_THROW(RuntimeEnv::Deserialize("[1, 2]"), RayRuntimeEnvException);
  EXPECT_THROW(RuntimeEnv::Deserialize("{"), internal::RayRuntimeEnvException);  // Ray's spelling
}

std::string RefusalOf(const json& env) {
  try {
    CheckRuntimeEnv(env, "ray::Task(f).Remote");
  } catch (const RayRuntimeEnvException& e) {
    return e.what();
  }
  return "";
}

TEST(RuntimeEnvCheck, OnlyEnvVarsAndWorkingDirAreHonouredAndTheRestIsNamed) {
  EXPECT_EQ(RefusalOf({{"env_vars", {{"A", "1"}}}, {"working_dir", "/tmp"}}), "");
  for (const char* field : {"pip", "conda", "container", "py_modules", "java_jars", "nsight"}) {
    std::string why = RefusalOf({{field, "x"}});
    EXPECT_NE(why.find(std::string("'") + field + "' is not supported"), std::string::npos) << why;
    EXPECT_NE(why.find("ray::Task(f).Remote"), std::string::npos) << why;
  }
  EXPECT_NE(RefusalOf({{"pip", {"requests"}}}).find("C++ code only"), std::string::npos);
  EXPECT_NE(RefusalOf({{"env_vars", {{"A", 1}}}}).find("env_vars.A must be a string"),
            std::string::npos);
  EXPECT_NE(RefusalOf({{"env_vars", "A=1"}}).find("must be an object"), std::string::npos);
  EXPECT_NE(RefusalOf({{"env_vars", {{"RAY_ADDRESS", "x"}}}}).find("set by the runtime"),
            std::string::npos);
  EXPECT_NE(RefusalOf({{"env_vars", {{"A=B", "x"}}}}).find("invalid variable name"),
            std::string::npos);
  EXPECT_NE(RefusalOf({{"working_dir", 3}}).find("path of a local directory"), std::string::npos);
}

TEST(RuntimeEnvMerge, OwnFieldsReplaceInheritedOnesAndEnvVarsMerge) {
  std::string job = R"({"env_vars":{"A":"job","B":"job"},"working_dir":"gcs://working_dir_1"})";
  std::string task = R"({"env_vars":{"B":"task","C":"task"}})";
  json merged = json::parse(MergeRuntimeEnv(job, task));
  EXPECT_EQ(merged["env_vars"], (json{{"A", "job"}, {"B", "task"}, {"C", "task"}}));
  EXPECT_EQ(merged["working_dir"], "gcs://working_dir_1");
  EXPECT_EQ(MergeRuntimeEnv(job, ""), job);
  EXPECT_EQ(MergeRuntimeEnv("", task), task);
  json replaced = json::parse(MergeRuntimeEnv(job, R"({"working_dir":"gcs://working_dir_2"})"));
  EXPECT_EQ(replaced["working_dir"], "gcs://working_dir_2");
}

void Write(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

TEST(RuntimeEnvPack, AWorkingDirShipsItsFilesByRelativePathKeyedByContent) {
  storage::TempDir temp;
  const std::filesystem::path dir = temp.path() + "/wd";
  Write(dir / "a.txt", "alpha");
  Write(dir / "sub" / "b.txt", "beta");
  proto::CodePackage package = PackWorkingDir(dir.string(), "ray::Init");
  ASSERT_EQ(package.size(), 2u);
  EXPECT_EQ(package[0], (std::pair<std::string, std::string>{"a.txt", "alpha"}));
  EXPECT_EQ(package[1], (std::pair<std::string, std::string>{"sub/b.txt", "beta"}));
  const std::string key = WorkingDirKey(package);
  EXPECT_EQ(key.rfind("working_dir_", 0), 0u);
  EXPECT_EQ(key, WorkingDirKey(PackWorkingDir(dir.string(), "again")));
  Write(dir / "a.txt", "changed");
  EXPECT_NE(key, WorkingDirKey(PackWorkingDir(dir.string(), "again")));
}

TEST(RuntimeEnvPack, AMissingDirectoryAURIOrOneTooLargeIsRefusedSayingWhy) {
  storage::TempDir temp;
  auto refusal = [](const std::string& dir) {
    try {
      PackWorkingDir(dir, "ray::Init");
    } catch (const RayRuntimeEnvException& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(refusal(temp.path() + "/none").find("is not a directory"), std::string::npos);
  EXPECT_NE(refusal("s3://bucket/dir").find("only a local directory"), std::string::npos);
  const std::filesystem::path big = temp.path() + "/big";
  std::filesystem::create_directories(big);
  std::ofstream(big / "blob").seekp(static_cast<std::streamoff>(kWorkingDirLimit)) << 'x';
  std::string why = refusal(big.string());
  EXPECT_NE(why.find("more than 100 MiB"), std::string::npos) << why;
}

}  // namespace
}  // namespace ray::runtime
