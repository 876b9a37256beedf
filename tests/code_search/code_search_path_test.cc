// With code_search_path, workers are the generic ray_default_worker, which
// dlopens the user's libraries instead of re-running the driver executable.
#include <gtest/gtest.h>
#include <ray/api.h>

#include <string>

int LibraryTimesTwo(int x);
std::string LibraryWorkerExe();

TEST(CodeSearchPath, WorkersLoadFunctionsFromTheLibraries) {
  ray::RayConfig config;
  config.num_cpus = 1;
  config.object_store_memory = int64_t{64} << 20;
  config.code_search_path = {REMOTE_LIBRARY_DIR};
  ray::Init(config);
  EXPECT_EQ(*ray::Get(ray::Task(LibraryTimesTwo).Remote(21), 20000), 42);
  std::string exe = *ray::Get(ray::Task(LibraryWorkerExe).Remote(), 20000);
  EXPECT_NE(exe.find("ray_default_worker"), std::string::npos) << exe;
  ray::Shutdown();
}

TEST(CodeSearchPath, MissingPathIsRejected) {
  ray::RayConfig config;
  config.code_search_path = {"/nonexistent/ray/code"};
  try {
    ray::Init(config);
    ray::Shutdown();
    FAIL() << "expected RayException";
  } catch (const ray::RayException& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/ray/code"), std::string::npos);
  }
}
