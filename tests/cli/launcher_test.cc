// `ray up`, `exec`, `attach`, `get_head_ip`, `get_worker_ips` and `down`
// with the local provider over real SSH: the test starts its own sshd on a
// spare port of 127.0.0.1, 127.0.0.2 and 127.0.0.3 with a key made for it,
// and each address is a host of its own (sshd gives each its own HOME and
// RAY_STATE_DIR, so its `ray start` and `ray stop` see only its node).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/cli/cli_fixture.h"
#include "tools/ray/registry.h"

namespace ray::cli::testing {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

const char* const kHosts[] = {"127.0.0.1", "127.0.0.2", "127.0.0.3"};

int SparePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

bool Accepts(const char* host, int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host, &addr.sin_addr);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

class LauncherSshTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    ASSERT_TRUE(fs::exists("/usr/sbin/sshd"))
        << "these tests need sshd: scripts/install-deps.sh installs openssh-server";
    root_ = dir_.path();
    port_ = SparePort();
    head_port_ = SparePort();
    ASSERT_EQ(Shell("ssh-keygen -q -t ed25519 -N '' -f " + root_ + "/hostkey && ssh-keygen -q -t "
                    "ed25519 -N '' -f " + root_ + "/userkey && cp " + root_ + "/userkey.pub " +
                    root_ + "/authorized_keys && chmod 600 " + root_ + "/authorized_keys"),
              0);
    std::ofstream config(root_ + "/sshd_config");
    config << "Port " << port_ << "\n";
    for (const char* host : kHosts) config << "ListenAddress " << host << "\n";
    config << "HostKey " << root_ << "/hostkey\n"
           << "AuthorizedKeysFile " << root_ << "/authorized_keys\n"
           << "PidFile " << root_ << "/sshd.pid\n"
           << "StrictModes no\nUsePAM no\nPasswordAuthentication no\n"
           << "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n";
    for (const char* host : kHosts) {
      std::string home = HostHome(host);
      fs::create_directories(home + "/state");
      fs::create_directories(home + "/tmux");
      // RAY_TEST_OWNER: sshd gives sessions a fresh environment, and the
      // sandbox (tests/common/sandbox.h) finds what they start by it.
      const char* owner = getenv("RAY_TEST_OWNER");
      config << "Match LocalAddress " << host << "\n  SetEnv HOME=" << home
             << " RAY_STATE_DIR=" << home << "/state TMUX_TMPDIR=" << home << "/tmux"
             << (owner != nullptr ? std::string(" RAY_TEST_OWNER=") + owner : "") << "\n";
    }
    config.close();
    if (getuid() == 0) fs::create_directories("/run/sshd");
    ASSERT_EQ(Shell("/usr/sbin/sshd -f " + root_ + "/sshd_config -E " + root_ + "/sshd.log"), 0);
    for (int i = 0; i < 100 && !Accepts("127.0.0.3", port_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(Accepts("127.0.0.3", port_));
    cluster_config_ = root_ + "/cluster.yaml";
    WriteConfig("cluster_name: lab\n",
                "file_mounts:\n  ~/app: " + root_ + "/app\n"
                "setup_commands:\n  - echo \"set up $RAY_NODE_IP\" > ~/setup.txt\n"
                "available_node_types:\n"
                "  head: {resources: {CPU: 1, slot_head: 1}}\n"
                "  worker: {resources: {CPU: 1, slot_worker: 1}, min_workers: 2, max_workers: 2}\n"
                "head_node_type: head\n");
    fs::create_directories(root_ + "/app");
    std::ofstream(root_ + "/app/data.txt") << "mounted\n";
    env_ = {{"HOME", root_ + "/laptop"}, {"RAY_CLUSTER_DIR", root_ + "/c"},
            {"RAY_AUTH_TOKEN", ""}};
  }

  void TearDown() override {
    if (HasFailure()) {
      RunResult log = RunProgram({"/bin/bash", "-c", "tail -n 30 " + HostHome("127.0.0.1") +
                                  "/state/monitor-*.log " + HostHome("127.0.0.1") +
                                  "/state/raynode-*.log"}, {});
      std::cout << "--- the head's autoscaler and raynode logs ---\n" << log.out << std::endl;
    }
    Ray({"down", "-y", cluster_config_}, env_);
    for (const char* host : kHosts) {
      RunProgram({RAY_CLI_PATH, "stop", "--force"}, {{"RAY_STATE_DIR", HostHome(host) + "/state"}});
      Shell("TMUX_TMPDIR=" + HostHome(host) + "/tmux tmux kill-server 2>/dev/null");
    }
    Shell("tmux -L " + TmuxSocket() + " kill-server 2>/dev/null");
    std::string pid;
    if (ReadFile(root_ + "/sshd.pid", &pid)) kill(std::atoi(pid.c_str()), SIGTERM);
    CliTest::TearDown();
  }

  /// The cluster config: `top`, the local provider of the three hosts with
  /// this test's sshd and key, then `rest`.
  /// Without `with_port`, the config names no ssh_port (ssh's own settings decide).
  void WriteConfig(const std::string& top, const std::string& rest, bool with_port = true) {
    std::ofstream(cluster_config_)
        << top << "provider:\n  type: local\n  head_ip: 127.0.0.1\n"
        << "  worker_ips: [127.0.0.2, 127.0.0.3]\n  head_port: " << head_port_ << "\n"
        << "auth:\n  ssh_user: " << getpwuid(getuid())->pw_name << "\n"
        << "  ssh_private_key: " << root_ << "/userkey\n"
        << (with_port ? "  ssh_port: " + std::to_string(port_) + "\n" : "") << rest;
  }

  std::string HostHome(const std::string& host) const { return root_ + "/host-" + host; }
  std::string TmuxSocket() const { return "raytest" + std::to_string(port_); }

  static int Shell(const std::string& command) {
    return RunProgram({"/bin/bash", "-c", command}, {}).code;
  }

  RunResult Launcher(std::vector<std::string> args) { return Ray(std::move(args), env_); }

  /// The pids of the raynodes registered on `host`.
  std::vector<pid_t> Raynodes(const std::string& host) const {
    std::vector<pid_t> pids;
    std::string dir = HostHome(host) + "/state";
    for (const auto& path : ListRecords(dir)) {
      NodeRecord record;
      std::string error;
      if (ReadRecord(path, &record, &error) && IsAlive(record.pid)) pids.push_back(record.pid);
    }
    return pids;
  }

  std::string root_;
  int port_ = 0;       // sshd's
  int head_port_ = 0;  // the cluster's head: tests run in parallel
  std::string cluster_config_;
  std::map<std::string, std::string> env_;
};

TEST_F(LauncherSshTest, UpExecAttachAndDownOnThreeHostsOverSsh) {
  auto start = std::chrono::steady_clock::now();
  RunResult up = Launcher({"up", "-y", cluster_config_});
  double up_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(up.code, 0) << up.out << up.err;
  EXPECT_THAT(up.out, HasSubstr("[1/4] head node"));
  EXPECT_THAT(up.out, HasSubstr("workers: 2/2 done"));
  EXPECT_THAT(up.out, HasSubstr("is up: 3 node(s) alive, head 127.0.0.1:" + std::to_string(head_port_)));
  std::cout << "ray up, 3 nodes over SSH: " << up_s << " s" << std::endl;
  for (const char* host : kHosts) {
    EXPECT_EQ(Raynodes(host).size(), 1u) << host;
    std::string setup, mounted;
    EXPECT_TRUE(ReadFile(HostHome(host) + "/setup.txt", &setup));
    EXPECT_EQ(setup, std::string("set up ") + host + "\n") << "setup_commands ran there";
    EXPECT_TRUE(ReadFile(HostHome(host) + "/app/data.txt", &mounted));
    EXPECT_EQ(mounted, "mounted\n") << "file_mounts copied there";
  }

  // The head's autoscaler got the config, with the key and the file mounts as they are on the head.
  std::string bootstrap;
  ASSERT_TRUE(ReadFile(HostHome("127.0.0.1") + "/ray_bootstrap_config.yaml", &bootstrap));
  EXPECT_THAT(bootstrap, HasSubstr("ssh_private_key: ~/ray_bootstrap_key.pem"));
  EXPECT_THAT(bootstrap, HasSubstr("~/app: ~/app"));
  EXPECT_TRUE(fs::exists(HostHome("127.0.0.1") + "/ray_bootstrap_key.pem"));

  RunResult head_ip = Launcher({"get_head_ip", cluster_config_});
  EXPECT_EQ(head_ip.out, "127.0.0.1\n");
  RunResult worker_ips = Launcher({"get_worker_ips", cluster_config_});
  ASSERT_EQ(worker_ips.code, 0) << worker_ips.err;
  EXPECT_THAT(worker_ips.out, HasSubstr("127.0.0.2\n"));
  EXPECT_THAT(worker_ips.out, HasSubstr("127.0.0.3\n"));

  RunResult status = Launcher({"exec", cluster_config_, "ray status --format json"});
  ASSERT_EQ(status.code, 0) << status.err;
  auto report = nlohmann::json::parse(status.out, nullptr, false);
  ASSERT_TRUE(report.is_object()) << status.out;
  std::set<std::string> alive;
  for (const auto& node : report["nodes"]) {
    if (node["state"] == "ALIVE") {
      std::string address = node["address"];
      alive.insert(address.substr(0, address.rfind(':')));
    }
  }
  EXPECT_EQ(alive, (std::set<std::string>{"127.0.0.1", "127.0.0.2", "127.0.0.3"}));

  // A driver run with `ray exec` (RAY_ADDRESS and the token set there) places a task on each host.
  RunResult where = Launcher({"exec", cluster_config_, std::string(LAUNCHER_DRIVER_PATH) + " where"});
  ASSERT_EQ(where.code, 0) << where.out << where.err;
  EXPECT_THAT(where.out, HasSubstr("nodes: 127.0.0.1,127.0.0.2,127.0.0.3"));
  RunResult failing = Launcher({"exec", cluster_config_, "echo on-the-head; exit 7"});
  EXPECT_EQ(failing.code, 7) << "ray exec exits with the command's status";
  EXPECT_THAT(failing.out, HasSubstr("on-the-head"));

  // A second `ray up` of the same config changes nothing: the same raynodes.
  std::map<std::string, std::vector<pid_t>> before;
  for (const char* host : kHosts) before[host] = Raynodes(host);
  RunResult again = Launcher({"up", "-y", cluster_config_});
  ASSERT_EQ(again.code, 0) << again.out << again.err;
  EXPECT_THAT(again.out, HasSubstr("nothing changed"));
  EXPECT_THAT(again.out, HasSubstr("[127.0.0.1] up to date"));
  EXPECT_THAT(again.out, HasSubstr("the autoscaler is running"));
  for (const char* host : kHosts) EXPECT_EQ(Raynodes(host), before[host]) << host;
  // The head's autoscaler took the workers `ray up` started as its own and launched none.
  std::string monitor_log;
  ReadFile(HostHome("127.0.0.1") + "/state/monitor-" + std::to_string(before["127.0.0.1"].at(0)) +
               ".log",
           &monitor_log);
  EXPECT_THAT(monitor_log, HasSubstr("adopted 127.0.0.2"));
  EXPECT_THAT(monitor_log, ::testing::Not(HasSubstr("launching"))) << monitor_log;

  // `ray attach --tmux`, driven with tmux send-keys, opens a shell on the head.
  std::string marker = root_ + "/attached.txt";
  std::string session = std::string(RAY_CLI_PATH) + " attach --tmux " + cluster_config_;
  ASSERT_EQ(RunProgram({"/usr/bin/tmux", "-L", TmuxSocket(), "-f", "/dev/null", "new-session", "-d", "-x",
                        "120", "-y", "30", session},
                       env_)
                .code,
            0);
  std::string line;
  for (int i = 0; i < 100 && line.empty(); ++i) {
    RunProgram({"/usr/bin/tmux", "-L", TmuxSocket(), "send-keys",
                "echo \"attached $RAY_ADDRESS $HOME\" > " + marker, "Enter"},
               {});
    WaitForLine(marker, 300, &line);
  }
  EXPECT_EQ(line, "attached 127.0.0.1:" + std::to_string(head_port_) + " " + HostHome("127.0.0.1"))
      << "a shell in tmux on the head, with the cluster's address; the pane shows:\n"
      << RunProgram({"/usr/bin/tmux", "-L", TmuxSocket(), "capture-pane", "-p"}, {}).out;

  RunResult down = Launcher({"down", "-y", cluster_config_});
  ASSERT_EQ(down.code, 0) << down.out << down.err;
  EXPECT_THAT(down.out, HasSubstr("stopped on 3 node(s)"));
  for (const char* host : kHosts) {
    EXPECT_TRUE(Raynodes(host).empty()) << "a raynode is left on " << host;
    for (pid_t pid : before[host]) EXPECT_FALSE(IsAlive(pid)) << host;
  }
  RunResult after = Launcher({"exec", cluster_config_, "true"});
  EXPECT_EQ(after.code, 1);
  EXPECT_THAT(after.err, HasSubstr("cluster 'lab' is not up"));
}

TEST_F(LauncherSshTest, TheHeadsAutoscalerStartsAndStopsHostsOverSsh) {
  // One worker host at first; the head's autoscaler may add the other.
  WriteConfig("cluster_name: grow\nmax_workers: 2\nidle_timeout_minutes: 0.05\n",
              "available_node_types:\n"
              "  head: {resources: {CPU: 1}}\n"
              "  worker: {resources: {CPU: 1}, min_workers: 1, max_workers: 2}\n"
              "head_node_type: head\n");
  RunResult up = Launcher({"up", "-y", cluster_config_});
  ASSERT_EQ(up.code, 0) << up.out << up.err;
  EXPECT_THAT(up.out, HasSubstr("is up: 2 node(s) alive"));
  EXPECT_TRUE(Raynodes("127.0.0.3").empty());

  // 4 tasks of a CPU for 3 s: the head and 127.0.0.2 take two, the autoscaler adds 127.0.0.3.
  RunResult burst = Launcher({"exec", cluster_config_, std::string(LAUNCHER_DRIVER_PATH) + " burst 4 3"});
  ASSERT_EQ(burst.code, 0) << burst.out << burst.err;
  EXPECT_THAT(burst.out, HasSubstr("burst: 4 tasks on 3 nodes"));
  std::vector<pid_t> head = Raynodes("127.0.0.1");
  ASSERT_EQ(head.size(), 1u);
  const std::string monitor_log =
      HostHome("127.0.0.1") + "/state/monitor-" + std::to_string(head[0]) + ".log";
  std::string log;
  EXPECT_TRUE(WaitForMatch(monitor_log, "started worker node 127\\.0\\.0\\.3", 10000, &log)) << log;
  EXPECT_THAT(log, HasSubstr("adopted 127.0.0.2")) << "the worker `ray up` started is the autoscaler's";
  EXPECT_THAT(log, HasSubstr("launching a worker node: demand {CPU: 1}"));
  // Idle for 3 s: one worker goes, the other stays for min_workers 1. The log
  // says "terminated" once the node is gone and given back; the idle time it
  // gives is the autoscaler's tick after the 3 s (3 or 4 s with 1 s ticks).
  EXPECT_TRUE(WaitForMatch(monitor_log,
                           "terminated worker node 127\\.0\\.0\\.[23] \\(idle for [34] s "
                           "\\(idle_timeout_minutes 3 s\\)\\)",
                           30000, &log))
      << log;
  auto workers = [&] { return Raynodes("127.0.0.2").size() + Raynodes("127.0.0.3").size(); };
  EXPECT_EQ(workers(), 1u);
  RunResult down = Launcher({"down", "-y", cluster_config_});
  EXPECT_EQ(down.code, 0) << down.out << down.err;
  for (const char* host : kHosts) EXPECT_TRUE(Raynodes(host).empty()) << host;
}

// A host whose sshd port is given only in the user's ssh config is reached:
// the launcher passes no -p of its own, which would override it. ssh reads the
// config of the passwd entry's home, never $HOME, so the test's `ssh` and
// `scp` (first in PATH, as the launcher and rsync look them up) add
// `-F $HOME/.ssh/config` for the laptop's HOME of this test.
TEST_F(LauncherSshTest, UpReachesHostsWhosePortIsOnlyInTheSshConfig) {
  WriteConfig("cluster_name: cfg\n",
              "available_node_types:\n"
              "  head: {resources: {CPU: 1}}\n"
              "  worker: {resources: {CPU: 1}, min_workers: 2, max_workers: 2}\n"
              "head_node_type: head\n",
              /*with_port=*/false);
  fs::create_directories(root_ + "/bin");
  fs::create_directories(root_ + "/laptop/.ssh");
  for (const char* tool : {"ssh", "scp"}) {
    std::string path = root_ + "/bin/" + tool;
    std::ofstream(path) << "#!/bin/sh\nexec /usr/bin/" << tool
                        << " -F \"$HOME/.ssh/config\" \"$@\"\n";
    fs::permissions(path, fs::perms::owner_all);
  }
  std::ofstream(root_ + "/laptop/.ssh/config") << "Host 127.0.0.*\n  Port " << port_ << "\n";
  env_["PATH"] = root_ + "/bin:" + std::string(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
  RunResult up = Launcher({"up", "-y", cluster_config_});
  ASSERT_EQ(up.code, 0) << up.out << up.err;
  EXPECT_THAT(up.out, HasSubstr("is up: 3 node(s) alive"));
  for (const char* host : kHosts) EXPECT_EQ(Raynodes(host).size(), 1u) << host;
  RunResult exec = Launcher({"exec", cluster_config_, "echo on-$RAY_ADDRESS"});
  EXPECT_EQ(exec.code, 0) << exec.err;
  EXPECT_THAT(exec.out, HasSubstr("on-127.0.0.1:" + std::to_string(head_port_)));
  RunResult down = Launcher({"down", "-y", cluster_config_});
  EXPECT_EQ(down.code, 0) << down.out << down.err;
  for (const char* host : kHosts) EXPECT_TRUE(Raynodes(host).empty()) << host;
}

TEST_F(LauncherSshTest, AHostThatFailsIsNamedWithItsCommandAndOutput) {
  std::ofstream yaml(cluster_config_, std::ios::app);
  yaml << "worker_setup_commands:\n  - echo about to fail on $RAY_NODE_IP; false\n";
  yaml.close();
  RunResult up = Launcher({"up", "-y", cluster_config_});
  EXPECT_EQ(up.code, 1);
  EXPECT_THAT(up.err, HasSubstr("127.0.0.2: `echo about to fail on $RAY_NODE_IP; false` failed "
                                "(exit status 1); its last lines:\nabout to fail on 127.0.0.2"));
  EXPECT_THAT(up.err, HasSubstr("2 of 2 worker(s) failed to start"));
  RunResult no = Launcher({"up", cluster_config_});
  EXPECT_EQ(no.code, 2) << "no terminal: -y is required";
  EXPECT_THAT(no.err, HasSubstr("Give -y to confirm"));
}

}  // namespace
}  // namespace ray::cli::testing
