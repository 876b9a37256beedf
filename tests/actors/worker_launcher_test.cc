// Shipped code is written only inside the job's code directory.
#include "actors/raylet/worker_launcher.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace ray::raylet {
namespace {

namespace fs = std::filesystem;

TEST(WorkerLauncher, InstallsShippedCodeAsExecutablesInItsDirectory) {
  fs::path dir = fs::temp_directory_path() / ("ray-code-" + std::to_string(getpid()));
  WorkerLauncher launcher(dir.string(), false, [](pid_t, int) {});
  ASSERT_TRUE(launcher.InstallCode((dir / "job").string(), {{"driver", "\x7f" "ELF"}}).ok());
  EXPECT_TRUE(launcher.Usable((dir / "job" / "driver").string(), /*executable=*/true));
  for (const char* bad : {"../escaped", "sub/dir", "..", ""}) {
    Status refused = launcher.InstallCode((dir / "job").string(), {{bad, "x"}});
    EXPECT_EQ(refused.code(), Errc::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(fs::exists(dir / "escaped"));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ray::raylet
