// What another local user can do to a cluster on the same machine: nothing.
// The node refuses a temp root others may write to (where they could plant
// symlinks it would write through), keeps its session, logs, GCS and
// shared-memory objects for its own user, and serves no log through a
// symlink. The other user is `nobody`, through setpriv, as an attacker would be.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/cluster/node_process.h"
#include "tests/storage/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using ray::test::NodeProcess;

const std::vector<std::string> kSmallNode = {"--num-cpus", "1", "--object-store-memory",
                                             "100000000"};

/// Runs `command` in sh as the user nobody; its exit status.
int AsNobody(const std::string& command) {
  std::string line = "setpriv --reuid=65534 --regid=65534 --clear-groups -- sh -c '" + command +
                     "' >/dev/null 2>&1";
  int status = std::system(line.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class LocalUserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root, to act as another user with setpriv";
    if (access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "needs setpriv (util-linux)";
  }

  /// The node's session directory (its temp root's session_latest).
  static std::string Session(const NodeProcess& node) {
    return fs::canonical(node.temp_dir() + "/session_latest").string();
  }
};

TEST_F(LocalUserTest, ATempRootOthersCanWriteOrOwnIsRefusedSayingWhy) {
  ray::storage::TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string open_root = dir.path() + "/open";
  fs::create_directory(open_root);
  chmod(open_root.c_str(), 0777);
  NodeProcess node;
  std::vector<std::string> args = kSmallNode;
  args.insert(args.end(), {"--temp-dir", open_root});
  EXPECT_FALSE(node.Start(args, 10000));
  EXPECT_NE(node.log().find(open_root + " is writable by others (mode 0777)"), std::string::npos)
      << node.log();

  const std::string theirs = dir.path() + "/theirs";
  fs::create_directory(theirs);
  ASSERT_EQ(chown(theirs.c_str(), 65534, 65534), 0);
  NodeProcess other;
  args = kSmallNode;
  args.insert(args.end(), {"--temp-dir", theirs});
  EXPECT_FALSE(other.Start(args, 10000));
  EXPECT_NE(other.log().find(theirs + " belongs to uid 65534"), std::string::npos) << other.log();
}

TEST_F(LocalUserTest, AnotherUserReadsNoSegmentSessionLogOrGcsFile) {
  NodeProcess node;
  ASSERT_TRUE(node.Start(kSmallNode)) << node.log();
  // A temp root others may enter (0755 is allowed): what is under it is still theirs.
  chmod(node.temp_dir().c_str(), 0755);
  const std::string session = Session(node);
  std::string segment;
  for (const auto& e : fs::directory_iterator("/dev/shm")) {
    if (e.path().filename().string().rfind("ray_" + std::to_string(node.pid()) + "_", 0) == 0) {
      segment = e.path().string();
    }
  }
  ASSERT_FALSE(segment.empty()) << "no object store segment of the node";
  ASSERT_EQ(AsNobody("true"), 0) << "setpriv does not work here";
  EXPECT_NE(AsNobody("head -c 16 " + segment), 0) << segment << " is readable by another user";
  EXPECT_NE(AsNobody("ls " + session + "/logs"), 0) << "the logs are listable by another user";
  EXPECT_NE(AsNobody("ls " + session + "/gcs"), 0) << "the GCS is listable by another user";
  EXPECT_NE(AsNobody("touch " + session + "/logs/worker-1.out"), 0);
  struct stat st {};
  ASSERT_EQ(stat(segment.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(session.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(LocalUserTest, ALogThatIsASymlinkIsNotServed) {
  NodeProcess node;
  ASSERT_TRUE(node.Start(kSmallNode)) << node.log();
  // As if planted: worker-<pid>.out pointing at a file of root's.
  const std::string logs = Session(node) + "/logs";
  fs::create_symlink("/etc/passwd", logs + "/worker-999999.out");
  std::ofstream(logs + "/worker-999998.out") << "a real worker log\n";  // served, for contrast
  const std::string out = node.temp_dir() + "/logs.txt";
  std::string command = std::string(RAY_BIN_DIR) + "/ray logs --address " + node.address() +
                        " --node " + node.address() + " --pid 999999 > " + out + " 2>&1";
  std::system(command.c_str());
  std::ifstream in(out);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find("root:"), std::string::npos) << text;
  EXPECT_NE(text.find("not a log file (a symlink or special file)"), std::string::npos) << text;
  command = std::string(RAY_BIN_DIR) + "/ray logs --address " + node.address() + " --node " +
            node.address() + " --pid 999998 > " + out + " 2>&1";
  std::system(command.c_str());
  std::ifstream real(out);
  text.assign((std::istreambuf_iterator<char>(real)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("a real worker log"), std::string::npos) << text;
  // The listing of the node's logs leaves it out too.
  command = std::string(RAY_BIN_DIR) + "/ray logs --address " + node.address() + " > " + out +
            " 2>&1";
  std::system(command.c_str());
  std::ifstream listing(out);
  text.assign((std::istreambuf_iterator<char>(listing)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find("worker-999999.out"), std::string::npos) << text;
  EXPECT_NE(text.find("worker-999998.out"), std::string::npos) << "it lists the real one: " << text;
}

}  // namespace
