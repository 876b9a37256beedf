// The checks that keep a node's files from other local users
// (actors/common/private_dir.h), on real directories in a temp dir.
#include "actors/common/private_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/storage/temp_dir.h"

namespace ray {
namespace {

namespace fs = std::filesystem;

class PrivateDirTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }
  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }
  static mode_t ModeOf(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 0;
  }
  storage::TempDir dir_;
};

TEST_F(PrivateDirTest, CreatesMissingPartsForThisUserOnly) {
  const std::string deep = Path("a/b/c");
  EXPECT_EQ(EnsurePrivateDir(deep), "");
  EXPECT_EQ(ModeOf(Path("a")), 0700u);
  EXPECT_EQ(ModeOf(deep), 0700u);
  EXPECT_EQ(EnsurePrivateDir(deep), "") << "an existing private directory is fine";
}

TEST_F(PrivateDirTest, RefusesADirectoryOthersCanWriteOrReplace) {
  fs::create_directory(Path("open"));
  ::chmod(Path("open").c_str(), 0777);
  EXPECT_EQ(EnsurePrivateDir(Path("open")), Path("open") + " is writable by others (mode 0777)");
  // Under a parent anyone may write to and that is not sticky, it could be swapped.
  EXPECT_NE(EnsurePrivateDir(Path("open/mine")).find("is writable by others and not sticky"),
            std::string::npos);
  ::chmod(Path("open").c_str(), 01777);  // sticky, as /tmp is: fine
  EXPECT_EQ(EnsurePrivateDir(Path("open/mine")), "");
  fs::create_directory(Path("real"));
  fs::create_directory_symlink(Path("real"), Path("link"));
  EXPECT_EQ(UnsafeDirReason(Path("link")), Path("link") + " is a symlink");
}

TEST_F(PrivateDirTest, TheDefaultRootFallsBackToOneOfThisUsersOwn) {
  const std::string root = Path("ray");
  const std::string own = root + "-" + std::to_string(::geteuid());
  std::string why;
  EXPECT_EQ(RootOrFallback(root, &why), root) << "missing: it will be made";
  fs::create_directory(root);
  ::chmod(root.c_str(), 0700);
  EXPECT_EQ(RootOrFallback(root, &why), root);
  ::chmod(root.c_str(), 0777);
  EXPECT_EQ(RootOrFallback(root, &why), own);
  EXPECT_EQ(why, root + " is writable by others (mode 0777)");
  if (::geteuid() == 0) {
    ::chmod(root.c_str(), 0700);
    ASSERT_EQ(::chown(root.c_str(), 65534, 65534), 0);
    EXPECT_EQ(RootOrFallback(root, &why), own);
    EXPECT_NE(why.find("belongs to uid 65534"), std::string::npos) << why;
  }
}

TEST_F(PrivateDirTest, FilesAreNeverOpenedThroughASymlink) {
  fs::create_symlink("/etc/passwd", Path("planted.out"));
  EXPECT_EQ(OpenPrivateAppend(Path("planted.out")), -1);
  EXPECT_EQ(errno, ELOOP);
  EXPECT_EQ(OpenRegularFile(Path("planted.out")), -1);
  ASSERT_EQ(::mkfifo(Path("fifo").c_str(), 0600), 0);
  EXPECT_EQ(OpenRegularFile(Path("fifo")), -1) << "a FIFO would block the reader";
  int fd = OpenPrivateAppend(Path("real.out"));
  ASSERT_GE(fd, 0);
  ::close(fd);
  EXPECT_EQ(ModeOf(Path("real.out")), 0600u);
  fd = OpenRegularFile(Path("real.out"));
  EXPECT_GE(fd, 0);
  ::close(fd);
}

}  // namespace
}  // namespace ray
