// Defects found by trying the cluster as a new user would: calls on a killed
// actor, workers started without the shim that replaces their main, and a
// stranger's stalled connections that locked everyone out of the port.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <ray/api.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <map>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "tests/cluster/node_process.h"
#include "tests/common/read_file.h"

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
using Clock = std::chrono::steady_clock;

constexpr char kToken[] = "hardening-test-token";

int64_t MsSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

/// A stranger's connections to a node (issue 22): `sockets` at once from
/// `source`, a loopback address of its own, each reopened as soon as the node
/// closes it. Even ones trickle the handshake's first bytes, one a second (a
/// per-byte timeout never fires); odd ones send nothing. Traffic only within
/// 127.0.0.0/8; it stops by itself after `duration`.
class Flood {
 public:
  Flood(const std::string& source, const std::string& host, uint16_t port, int sockets,
        std::chrono::milliseconds duration)
      : thread_([=] { Run(source, host, port, sockets, duration); }) {}
  ~Flood() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  /// Connections opened, and those the node closed (then opened again).
  int64_t opened() const { return opened_; }
  int64_t closed_by_node() const { return closed_; }

 private:
  struct Slot {
    int fd = -1;
    bool trickle = false;
    size_t sent = 0;
    Clock::time_point next_byte;
  };

  void Open(Slot* s, const sockaddr_in& from, const sockaddr_in& to) {
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(s->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    (void)!bind(s->fd, reinterpret_cast<const sockaddr*>(&from), sizeof(from));
    (void)!connect(s->fd, reinterpret_cast<const sockaddr*>(&to), sizeof(to));
    s->sent = 0;
    s->next_byte = Clock::now() + std::chrono::milliseconds(100);
    ++opened_;
  }

  void Run(const std::string& source, const std::string& host, uint16_t port, int sockets,
           std::chrono::milliseconds duration) {
    sockaddr_in from{}, to{};
    from.sin_family = to.sin_family = AF_INET;
    inet_pton(AF_INET, source.c_str(), &from.sin_addr);
    inet_pton(AF_INET, host.c_str(), &to.sin_addr);
    to.sin_port = htons(port);
    // Only loopback, whatever the caller passed.
    if ((ntohl(from.sin_addr.s_addr) >> 24) != 127 || (ntohl(to.sin_addr.s_addr) >> 24) != 127) return;
    const std::string hello = "RAYAUTH2" + std::string(32, 'x');
    std::vector<Slot> slots(sockets);
    for (int i = 0; i < sockets; ++i) {
      slots[i].trickle = i % 2 == 0;
      Open(&slots[i], from, to);
    }
    const auto end = Clock::now() + duration;
    std::vector<pollfd> fds(sockets);
    while (!stop_ && Clock::now() < end) {
      for (int i = 0; i < sockets; ++i) fds[i] = {slots[i].fd, POLLIN, 0};
      poll(fds.data(), fds.size(), 50);
      auto now = Clock::now();
      for (int i = 0; i < sockets; ++i) {
        Slot& s = slots[i];
        if (fds[i].revents != 0) {
          char buf[256];
          ssize_t r = recv(s.fd, buf, sizeof(buf), 0);
          if (r > 0 || (r < 0 && (errno == EAGAIN || errno == EINTR))) continue;
          close(s.fd);
          ++closed_;
          Open(&s, from, to);
          continue;
        }
        if (s.trickle && now >= s.next_byte && s.sent < hello.size()) {
          if (send(s.fd, hello.data() + s.sent, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1) ++s.sent;
          s.next_byte = now + std::chrono::seconds(1);
        }
      }
    }
    for (auto& s : slots) close(s.fd);
  }

  std::atomic<bool> stop_{false};
  std::atomic<int64_t> opened_{0}, closed_{0};
  std::thread thread_;
};

/// The output of `command` (stdout and stderr), and its exit status in `*status`.
std::string Output(const std::string& command, int* status) {
  std::string out;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  *status = pclose(p);
  return out;
}

size_t CountOf(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

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
    StartNode(raynode);
    ray::RayConfig config;
    config.address = head_.address();
    ray::Init(config);
  }

  void StartNode(const std::string& raynode = RAY_BIN_DIR "/raynode") {
    head_.set_binary(raynode);
    ASSERT_TRUE(head_.Start({"--num-cpus", "2", "--object-store-memory", "100000000"}, 20000,
                            {{"RAY_AUTH_TOKEN", kToken}}))
        << head_.log();
    auto colon = head_.address().rfind(':');
    host_ = head_.address().substr(0, colon);
    port_ = static_cast<uint16_t>(std::stoi(head_.address().substr(colon + 1)));
  }

  /// A new worker (an actor) and a call on it; the milliseconds it took.
  int64_t StartAWorker(int x) {
    auto start = Clock::now();
    auto tally = ray::Actor(Tally::Create).Remote();
    EXPECT_EQ(*ray::Get(tally.Task(&Tally::Add).Remote(x), 20000), x);
    int64_t ms = MsSince(start);
    for (int pid : Workers()) seen_.insert(pid);
    tally.Kill();  // its CPU back for the next one
    return ms;
  }

  /// The node's descendant processes (its workers, however launched) now.
  std::set<int> Workers() const {
    std::map<int, int> parent;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      std::string name = entry.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::string stat = ray::test::ReadWholeFile(entry.path() / "stat");
      auto close = stat.rfind(')');
      if (close == std::string::npos) continue;
      std::istringstream rest(stat.substr(close + 2));
      std::string state;
      int ppid = 0;
      rest >> state >> ppid;
      if (state != "Z") parent[std::stoi(name)] = ppid;
    }
    std::set<int> out;
    for (bool grew = true; grew;) {
      grew = false;
      for (const auto& [pid, ppid] : parent) {
        if ((ppid == head_.pid() || out.count(ppid)) && out.insert(pid).second) grew = true;
      }
    }
    return out;
  }

  std::string host_;
  uint16_t port_ = 0;
  std::set<int> seen_;  // the node's processes while StartAWorker's actors lived

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

// Issue 22: 32 stalled sockets (or a loop reopening them) held every place of
// the handshake, so no driver, worker or `ray status` got in, and the log
// said nothing after the first line.
TEST_F(HardeningTest, StalledAndReconnectingConnectionsFromOneAddressLockNoDriverOut) {
  StartNode();
  Flood flood("127.0.0.2", host_, port_, 200, std::chrono::seconds(20));
  // Past one whole-handshake deadline: the first stallers were pushed out or timed out and
  // came back.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  const std::set<int> before = Workers();  // the node's helpers, no worker yet
  auto start = Clock::now();
  ray::RayConfig config;
  config.address = head_.address();
  ray::Init(config);
  int64_t connect_ms = MsSince(start);
  EXPECT_EQ(*ray::Get(ray::Task(Twice).Remote(21), 20000), 42);  // starts a worker
  int64_t first_task_ms = MsSince(start);
  EXPECT_LT(first_task_ms, 2000) << "connect " << connect_ms << " ms, first task " << first_task_ms
                                 << " ms under the flood";
  EXPECT_GT(Workers().size(), before.size()) << "the task ran in no new worker process";
  int64_t actor_ms = StartAWorker(5);
  EXPECT_LT(actor_ms, 2000) << "an actor under the flood";
  std::cout << "[ flood    ] from 127.0.0.2, 200 sockets: driver connected in " << connect_ms
            << " ms, first task (a new worker) done at " << first_task_ms
            << " ms, an actor's worker and call in " << actor_ms << " ms; the node closed "
            << flood.closed_by_node() << " of " << flood.opened() << " connections so far"
            << std::endl;
  // `ray status` gets in too, and shows the refusals by reason and address.
  int status = -1;
  std::string text = Output(std::string(RAY_BIN_DIR "/ray status --address ") + head_.address(), &status);
  EXPECT_EQ(status, 0) << text;
  EXPECT_NE(text.find("auth handshakes: "), std::string::npos) << text;
  EXPECT_NE(text.find("127.0.0.2 ("), std::string::npos) << text;
  std::string json = Output(
      std::string(RAY_BIN_DIR "/ray status --format json --address ") + head_.address(), &status);
  EXPECT_EQ(status, 0) << json;
  EXPECT_NE(json.find("\"handshakes\": {"), std::string::npos) << json;
  EXPECT_NE(json.find("\"address\": \"127.0.0.2\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"address_limit\": "), std::string::npos) << json;
  EXPECT_EQ(json.find("\"address_limit\": 0,"), std::string::npos) << json;  // counted
  // The flood was real: the node closed its connections and they came back.
  EXPECT_GT(flood.closed_by_node(), 200);
  flood.Stop();
  ray::Shutdown();
  // Logged, but a few lines (one per 10 s, with counts), not one per connection.
  std::string log = head_.log();
  size_t lines = CountOf(log, "refused a connection from 127.0.0.2");
  EXPECT_GE(lines, 1u) << log;
  EXPECT_LE(lines, 4u) << log.substr(0, 20000);
}

// The same issue, seen from a driver already connected: its new workers could
// not get in ("worker processes fail to start").
TEST_F(HardeningTest, ADriverConnectedBeforeAFloodStillStartsWorkers) {
  StartHead();
  EXPECT_EQ(*ray::Get(ray::Task(Twice).Remote(1), 20000), 2);
  Flood flood("127.0.0.2", host_, port_, 200, std::chrono::seconds(20));
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  std::set<int> before = Workers();
  for (int i = 1; i <= 3; ++i) {
    int64_t ms = StartAWorker(i);
    EXPECT_LT(ms, 2000) << "worker " << i << " under the flood";
    std::cout << "[ flood    ] worker " << i << " started and answered in " << ms << " ms"
              << std::endl;
  }
  // Each actor's worker is killed with it: the next is a new process, connected under the flood.
  size_t fresh = 0;
  for (int pid : seen_) fresh += before.count(pid) == 0;
  EXPECT_GE(fresh, 1u) << "no new worker process started under the flood";
  EXPECT_GT(flood.closed_by_node(), 200);
}

// A stranger on the node's own address (a local user): the limit per address
// now covers the driver and workers too, and "addresses that proved the token
// recently" would tell nothing. Newcomers push out the oldest places, and a
// Ray peer finishes long before the stallers' places are its turn.
TEST_F(HardeningTest, AStrangerOnTheNodesOwnAddressLocksNoDriverOut) {
  StartNode();
  Flood flood("127.0.0.1", host_, port_, 200, std::chrono::seconds(20));
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  auto start = Clock::now();
  ray::RayConfig config;
  config.address = head_.address();
  ray::Init(config);
  int64_t connect_ms = MsSince(start);
  EXPECT_EQ(*ray::Get(ray::Task(Twice).Remote(21), 20000), 42);
  int64_t first_task_ms = MsSince(start);
  EXPECT_LT(first_task_ms, 2000) << "connect " << connect_ms << " ms";
  int64_t actor_ms = StartAWorker(5);
  EXPECT_LT(actor_ms, 2000);
  std::cout << "[ flood    ] from 127.0.0.1, 200 sockets: driver connected in " << connect_ms
            << " ms, first task done at " << first_task_ms << " ms, an actor in " << actor_ms
            << " ms; the node closed " << flood.closed_by_node() << " of " << flood.opened()
            << " connections so far" << std::endl;
  EXPECT_GT(flood.closed_by_node(), 200);
}

}  // namespace
