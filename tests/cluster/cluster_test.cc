// Multi-node behaviour with real raynode processes on this machine: placement
// by custom resource, objects crossing nodes, node death (SIGKILL, SIGSTOP),
// and shipped code (auth: auth_test.cc). The test binary is the driver; workers on other
// nodes run a copy of it shipped through the GCS.
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <ray/api.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/cluster/node_process.h"
#include "tests/storage/temp_dir.h"
#include "tests/common/wait_until.h"

namespace {

using ray::test::WaitUntil;

/// Creates the (empty) file `path`.
void Touch(const std::string& path) {
  if (FILE* f = std::fopen(path.c_str(), "w")) std::fclose(f);
}

/// The names of the files in `dir`.
std::set<std::string> FilesIn(const std::string& dir) {
  std::set<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') names.insert(e->d_name);
    }
    closedir(d);
  }
  return names;
}

/// The raynode whose raylet started this worker.
int NodePid() { return static_cast<int>(getppid()); }

std::string ExePath() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, n) : "";
}

std::vector<char> MakeBlob(int64_t n, int seed) {
  std::vector<char> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<char>((i * 31 + seed) & 0xff);
  return v;
}

int64_t Checksum(const std::vector<char>& v) {
  int64_t sum = 0;
  for (size_t i = 0; i < v.size(); ++i) sum += static_cast<unsigned char>(v[i]) * (i % 7 + 1);
  return sum;
}

int64_t ChecksumRemote(std::vector<char> v) { return Checksum(v); }

std::vector<char> Transform(std::vector<char> v) {
  for (auto& c : v) c = static_cast<char>(c * 3 + 1);
  return v;
}

std::vector<ray::ObjectRef<std::vector<char>>> PutOnNode(int64_t n) {
  return {ray::Put(MakeBlob(n, 5))};
}

int SlowNodePid(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return static_cast<int>(getppid());
}

int NodePidOf(std::vector<char> v) { return v.empty() ? -1 : static_cast<int>(getppid()); }

int SlowSquare(int x, int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return x * x;
}

/// SlowSquare that says where it runs: it creates "<dir>/<node pid>-<x>" when it
/// starts, and returns {x * x, the pid of the node it finished on}.
std::vector<int> MarkedSlowSquare(int x, int ms, std::string dir) {
  Touch(dir + "/" + std::to_string(getppid()) + "-" + std::to_string(x));
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return {x * x, static_cast<int>(getppid())};
}

class Where {
 public:
  static Where* Create() { return new Where(); }
  int NodePid() { return static_cast<int>(getppid()); }
  int Add(int x) { return total_ += x; }
  int SlowPid(int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return static_cast<int>(getppid());
  }
  /// SlowPid that creates the file `marker` when it starts.
  int MarkedSlowPid(std::string marker, int ms) {
    Touch(marker);
    return SlowPid(ms);
  }

 private:
  int total_ = 0;
};

RAY_REMOTE(SlowNodePid, Transform, PutOnNode, NodePid, NodePidOf, ExePath, MakeBlob, ChecksumRemote, SlowSquare,
           MarkedSlowSquare, Where::Create, &Where::NodePid, &Where::Add, &Where::SlowPid,
           &Where::MarkedSlowPid);

using ray::test::NodeProcess;

class ClusterTest : public ::testing::Test {
 protected:
  void TearDown() override {
    ray::Shutdown();
    for (auto& n : nodes_) n->Stop();
  }

  /// Starts a node; the first one is the head, the others join it.
  NodeProcess& AddNode(std::vector<std::string> args) {
    auto node = std::make_unique<NodeProcess>();
    // RAY_TEST_DEBUG=1: nodes log at debug level (raynode.log in each node's temp dir).
    if (getenv("RAY_TEST_DEBUG")) args.insert(args.end(), {"--logging-level", "debug"});
    args.insert(args.end(), {"--object-store-memory", "300000000", "--heartbeat-timeout-ms",
                             std::to_string(heartbeat_timeout_ms_)});
    if (!nodes_.empty()) args.insert(args.end(), {"--address", nodes_.front()->address()});
    EXPECT_TRUE(node->Start(args)) << node->log();
    nodes_.push_back(std::move(node));
    return *nodes_.back();
  }

  void Connect(ray::RayConfig config = {}) {
    config.address = nodes_.front()->address();
    ray::Init(config);
  }

  int64_t heartbeat_timeout_ms_ = 5000;
  std::vector<std::unique_ptr<NodeProcess>> nodes_;
};

TEST_F(ClusterTest, TasksAndActorsRunOnTheNodeWithTheirCustomResource) {
  NodeProcess& head = AddNode({"--num-cpus", "1"});
  NodeProcess& b = AddNode({"--num-cpus", "1", "--resources", "{\"b\": 2}"});
  NodeProcess& c = AddNode({"--num-cpus", "1", "--resources", "{\"c\": 1}"});
  Connect();
  EXPECT_EQ(*ray::Get(ray::Task(NodePid).SetResource("b", 1).Remote()), b.pid());
  EXPECT_EQ(*ray::Get(ray::Task(NodePid).SetResource("c", 1).Remote()), c.pid());
  EXPECT_EQ(*ray::Get(ray::Task(NodePid).Remote()), head.pid());
  auto actor = ray::Actor(Where::Create).SetResource("c", 1).Remote();
  EXPECT_EQ(*ray::Get(actor.Task(&Where::NodePid).Remote()), c.pid());
  // Calls reach it in order.
  std::vector<ray::ObjectRef<int>> sums;
  for (int i = 1; i <= 20; ++i) sums.push_back(actor.Task(&Where::Add).Remote(i));
  EXPECT_EQ(*ray::Get(sums.back()), 210);
}

TEST_F(ClusterTest, ObjectsMadeOnOneNodeAreReadOnAnother) {
  AddNode({"--num-cpus", "1"});
  AddNode({"--num-cpus", "1", "--resources", "{\"b\": 1}"});
  AddNode({"--num-cpus", "1", "--resources", "{\"c\": 1}"});
  Connect();
  const int64_t kSize = 3 << 20;  // shared memory, several chunks
  auto blob = ray::Task(MakeBlob).SetResource("b", 1).Remote(kSize, 7);
  auto sum_on_c = ray::Task(ChecksumRemote).SetResource("c", 1).Remote(blob);
  int64_t expected = Checksum(MakeBlob(kSize, 7));
  EXPECT_EQ(*ray::Get(sum_on_c), expected);
  // The driver (on the head) reads it too.
  EXPECT_EQ(Checksum(*ray::Get(blob)), expected);
  // Small objects travel inline.
  auto small = ray::Task(MakeBlob).SetResource("b", 1).Remote(1000, 3);
  EXPECT_EQ(*ray::Get(ray::Task(ChecksumRemote).SetResource("c", 1).Remote(small)),
            Checksum(MakeBlob(1000, 3)));
}

TEST_F(ClusterTest, DriverPutIsReadOnAnotherNode) {
  AddNode({"--num-cpus", "1"});
  AddNode({"--num-cpus", "1", "--resources", "{\"b\": 1}"});
  Connect();
  std::vector<char> data = MakeBlob(5 << 20, 11);
  auto ref = ray::Put(data);
  EXPECT_EQ(*ray::Get(ray::Task(ChecksumRemote).SetResource("b", 1).Remote(ref)), Checksum(data));
}

TEST_F(ClusterTest, LargeArgumentsPullTheTaskToTheirNode) {
  AddNode({"--num-cpus", "2"});
  NodeProcess& b = AddNode({"--num-cpus", "2", "--resources", "{\"b\": 1}"});
  Connect();
  auto blob = ray::Task(MakeBlob).SetResource("b", 1).Remote(int64_t{2} << 20, 1);
  // Made sure it exists on b without copying it here (Get or Wait would).
  ray::Get(ray::Task(ChecksumRemote).SetResource("b", 1).Remote(blob));
  // No wait for b to report where the blob is (the test cannot see the GCS's
  // object directory): b's object manager reports a shared-memory object to
  // the GCS the moment it is sealed (om_transfer.cc, Core::Report), on the
  // connection that later carried the result of the task that read it, so the
  // GCS had the location before that result reached this driver.
  // No resource asks for node b, but its 2 MiB argument lives there.
  auto where = ray::Task(NodePidOf).Remote(blob);
  EXPECT_EQ(*ray::Get(where), b.pid());
}

TEST_F(ClusterTest, WorkKilledWithItsNodeFinishesOnAnother) {
  heartbeat_timeout_ms_ = 2000;
  ray::storage::TempDir started;  // the tasks' "<node pid>-<task>" markers
  ASSERT_FALSE(started.path().empty());
  AddNode({"--num-cpus", "1"});
  NodeProcess& b = AddNode({"--num-cpus", "2", "--resources", "{\"w\": 2}"});
  AddNode({"--num-cpus", "2", "--resources", "{\"w\": 2}"});
  Connect();
  std::vector<ray::ObjectRef<std::vector<int>>> refs;
  for (int i = 0; i < 12; ++i) {
    refs.push_back(
        ray::Task(MarkedSlowSquare).SetResource("w", 1).Remote(i, 1000, started.path()));
  }
  // Work is running on b (a task started there) before b dies.
  const int b_pid = b.pid();
  const std::string on_b = std::to_string(b_pid) + "-";
  std::set<int> started_on_b;
  ASSERT_TRUE(WaitUntil([&] {
    for (const auto& name : FilesIn(started.path())) {
      if (name.rfind(on_b, 0) == 0) started_on_b.insert(std::stoi(name.substr(on_b.size())));
    }
    return !started_on_b.empty();
  })) << "no task started on node b";
  b.Signal(SIGKILL);  // running and queued tasks die with it
  // Each finishes, those that were running on b on another node.
  for (int i = 0; i < 12; ++i) {
    std::vector<int> result = *ray::Get(refs[i]);
    ASSERT_EQ(result.size(), 2u) << "task " << i;
    EXPECT_EQ(result[0], i * i) << "task " << i;
    if (started_on_b.count(i)) EXPECT_NE(result[1], b_pid) << "task " << i << " ran on b";
  }
  // New work avoids the dead node.
  EXPECT_NE(*ray::Get(ray::Task(NodePid).SetResource("w", 1).Remote()), b_pid);
}

TEST_F(ClusterTest, HungNodeIsDetectedAndItsWorkFinishesElsewhere) {
  heartbeat_timeout_ms_ = 2000;
  AddNode({"--num-cpus", "1"});
  NodeProcess& b = AddNode({"--num-cpus", "1", "--resources", "{\"w\": 1}"});
  NodeProcess& c = AddNode({"--num-cpus", "1", "--resources", "{\"w\": 1}"});
  Connect();
  // Wait until both nodes run a task, then hang b.
  std::set<int> seen;
  for (int i = 0; i < 40 && seen.size() < 2; ++i) {
    std::vector<ray::ObjectRef<int>> two = {ray::Task(NodePid).SetResource("w", 1).Remote(),
                                            ray::Task(NodePid).SetResource("w", 1).Remote()};
    for (auto& r : two) seen.insert(*ray::Get(r));
  }
  ASSERT_EQ(seen.size(), 2u);
  b.Signal(SIGSTOP);
  for (int i = 0; i < 100 && !b.IsStopped(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(b.IsStopped()) << "SIGSTOP did not stop node b";
  auto start = std::chrono::steady_clock::now();
  std::vector<ray::ObjectRef<int>> refs;
  for (int i = 0; i < 6; ++i) refs.push_back(ray::Task(NodePid).SetResource("w", 1).Remote());
  for (auto& r : refs) EXPECT_EQ(*ray::Get(r), c.pid());
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 15.0);
  // Resumed, the node learns it was removed and exits.
  b.Signal(SIGCONT);
  EXPECT_TRUE(b.WaitExit(10000)) << b.log();
}

TEST_F(ClusterTest, HeadRefusesNodesBeyondMaxClients) {
  AddNode({"--num-cpus", "1", "--max-clients", "2"});
  AddNode({"--num-cpus", "1"});
  NodeProcess third;
  EXPECT_FALSE(third.Start({"--address", nodes_.front()->address()}));
  EXPECT_NE(third.log().find("--redis-max-clients=2"), std::string::npos) << third.log();
}

TEST_F(ClusterTest, CodeIsShippedThroughTheGcsUnlessLoadedFromLocal) {
  AddNode({"--num-cpus", "1"});
  NodeProcess& b = AddNode({"--num-cpus", "1", "--resources", "{\"b\": 1}"});
  Connect();
  std::string shipped = *ray::Get(ray::Task(ExePath).SetResource("b", 1).Remote());
  EXPECT_EQ(shipped.rfind(b.temp_dir(), 0), 0u) << shipped;
  EXPECT_NE(shipped.find("/code/"), std::string::npos) << shipped;
  // The driver's own node runs the original.
  EXPECT_EQ(*ray::Get(ray::Task(ExePath).Remote()), ExePath());
  ray::Shutdown();

  ray::RayConfig config;
  config.load_code_from_local = true;
  Connect(config);
  EXPECT_EQ(*ray::Get(ray::Task(ExePath).SetResource("b", 1).Remote()), ExePath());
}

TEST_F(ClusterTest, TasksSpillToIdleNodes) {
  AddNode({"--num-cpus", "1"});
  AddNode({"--num-cpus", "1"});
  AddNode({"--num-cpus", "1"});
  Connect();
  // Three 1-CPU nodes: twelve 200 ms tasks take ~0.8 s, not ~2.4 s.
  std::vector<ray::ObjectRef<int>> refs;
  for (int i = 0; i < 12; ++i) refs.push_back(ray::Task(SlowSquare).Remote(i, 200));
  std::set<int> nodes;
  for (int i = 0; i < 12; ++i) EXPECT_EQ(*ray::Get(refs[i]), i * i);
  // Batches of three 300 ms tasks on the driver's 1-CPU node: two of each
  // cannot start there, and go where a heartbeat shows room (instant tasks
  // could all run here while the views of the peers are a heartbeat old).
  for (int i = 0; i < 3; ++i) {
    std::vector<ray::ObjectRef<int>> batch;
    for (int j = 0; j < 3; ++j) batch.push_back(ray::Task(SlowNodePid).Remote(300));
    for (auto& r : batch) nodes.insert(*ray::Get(r));
  }
  EXPECT_GE(nodes.size(), 2u);
}

// -- fault tolerance ------------------------------------------------------------

TEST_F(ClusterTest, LostObjectsAreRebuiltFromTheLineageLog) {
  AddNode({"--num-cpus", "1"});
  NodeProcess& b = AddNode({"--num-cpus", "1", "--resources", "{\"w\": 1}"});
  Connect();
  const int64_t kSize = 2 << 20;
  auto first = ray::Task(MakeBlob).SetResource("w", 1).Remote(kSize, 9);
  auto second = ray::Task(Transform).SetResource("w", 1).Remote(first);  // depends on first
  int64_t expected = Checksum(Transform(MakeBlob(kSize, 9)));
  // Both exist on b only (the check runs there).
  ASSERT_EQ(*ray::Get(ray::Task(ChecksumRemote).SetResource("w", 1).Remote(second)), expected);
  NodeProcess& c = AddNode({"--num-cpus", "1", "--resources", "{\"w\": 1}"});
  b.Signal(SIGKILL);
  // Neither copy survived: second is rebuilt on c, and first with it.
  EXPECT_EQ(Checksum(*ray::Get(second)), expected);
  EXPECT_EQ(Checksum(*ray::Get(first)), Checksum(MakeBlob(kSize, 9)));
  EXPECT_EQ(*ray::Get(ray::Task(NodePid).SetResource("w", 1).Remote()), c.pid());
}

std::string RunCommand(const std::string& command, int* status) {
  std::string out;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  char buf[4096];
  size_t n;
  while (p && (n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  *status = p ? pclose(p) : -1;
  return out;
}

TEST_F(ClusterTest, RayLineagePrintsHowAnObjectWasMade) {
  AddNode({"--num-cpus", "1"});
  AddNode({"--num-cpus", "1", "--resources", "{\"w\": 1}"});
  Connect();
  auto first = ray::Task(MakeBlob).SetResource("w", 1).Remote(1000, 2);
  auto second = ray::Task(Transform).Remote(first);
  auto put = ray::Put(std::vector<char>(10, 'x'));
  ray::Get(second);
  int status = 0;
  std::string ray_cli = std::string(RAY_BIN_DIR) + "/ray lineage --address " +
                        nodes_.front()->address() + " ";
  std::string out = RunCommand(ray_cli + second.Hex(), &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("Transform"), std::string::npos) << out;
  EXPECT_NE(out.find("MakeBlob"), std::string::npos) << out;  // followed through the argument
  EXPECT_NE(out.find(first.Hex()), std::string::npos) << out;
  EXPECT_NE(out.find("w=1"), std::string::npos) << out;
  out = RunCommand(ray_cli + put.Hex(), &status);
  EXPECT_NE(out.find("ray::Put"), std::string::npos) << out;
  out = RunCommand(ray_cli + "nothex", &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("hex"), std::string::npos) << out;
}

TEST_F(ClusterTest, LostPutObjectFailsSayingItCannotBeRebuilt) {
  AddNode({"--num-cpus", "1"});
  NodeProcess& b = AddNode({"--num-cpus", "1", "--resources", "{\"w\": 1}"});
  Connect();
  auto refs = *ray::Get(ray::Task(PutOnNode).SetResource("w", 1).Remote(int64_t{2} << 20));
  ASSERT_EQ(refs.size(), 1u);
  b.Signal(SIGKILL);
  try {
    ray::Get(refs[0]);
    ADD_FAILURE() << "an object whose only copy died was returned";
  } catch (const ray::ObjectLostException& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("ray::Put"), std::string::npos) << what;
    EXPECT_NE(what.find("died"), std::string::npos) << what;
  }
}

TEST_F(ClusterTest, ActorIsRestartedOnAnotherNodeWhenItsNodeDies) {
  AddNode({"--num-cpus", "1"});
  NodeProcess& b = AddNode({"--num-cpus", "1", "--resources", "{\"w\": 2}"});
  Connect();
  auto restartable = ray::Actor(Where::Create).SetResource("w", 1).SetMaxRestarts(1).Remote();
  auto mortal = ray::Actor(Where::Create).SetResource("w", 1).Remote();
  EXPECT_EQ(*ray::Get(restartable.Task(&Where::NodePid).Remote()), b.pid());
  EXPECT_EQ(*ray::Get(restartable.Task(&Where::Add).Remote(5)), 5);
  ray::Get(mortal.Task(&Where::Add).Remote(1));
  NodeProcess& c = AddNode({"--num-cpus", "1", "--resources", "{\"w\": 2}"});
  ray::storage::TempDir temp;  // removed with its contents when the test ends
  ASSERT_FALSE(temp.path().empty());
  const std::string marker = temp.path() + "/first-call-started";
  auto pending_retried =
      restartable.Task(&Where::MarkedSlowPid).SetMaxRetries(1).Remote(marker, 1000);
  auto pending = restartable.Task(&Where::SlowPid).Remote(1000);
  // b dies while the first call runs there (the second waits behind it).
  ASSERT_TRUE(WaitUntil([&] { return access(marker.c_str(), F_OK) == 0; }))
      << "the first call never started on b";
  b.Signal(SIGKILL);
  EXPECT_EQ(*ray::Get(pending_retried), c.pid());
  EXPECT_THROW(ray::Get(pending), ray::RayActorException);
  // The constructor ran again on c: the state starts over.
  EXPECT_EQ(*ray::Get(restartable.Task(&Where::NodePid).Remote()), c.pid());
  EXPECT_EQ(*ray::Get(restartable.Task(&Where::Add).Remote(1)), 1);
  try {
    ray::Get(mortal.Task(&Where::Add).Remote(1));
    ADD_FAILURE() << "an actor without restarts answered after its node died";
  } catch (const ray::RayActorException& e) {
    EXPECT_NE(std::string(e.what()).find("died"), std::string::npos) << e.what();
  }
}

/// A port free right now (bound, read back, closed).
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return 0;
  }
  close(fd);
  return ntohs(addr.sin_port);
}

TEST_F(ClusterTest, HeadRestartedOnItsGcsDirectoryKeepsTheClusterGoing) {
  ray::storage::TempDir temp;  // the GCS directory, removed when the test ends
  ASSERT_FALSE(temp.path().empty());
  const std::string gcs_dir = temp.path();
  std::string port = std::to_string(FreePort());
  std::vector<std::string> head_args = {"--num-cpus", "1", "--port", port, "--gcs-dir", gcs_dir};
  NodeProcess& head = AddNode(head_args);
  NodeProcess& b = AddNode({"--num-cpus", "2", "--resources", "{\"w\": 2}"});
  ray::RayConfig config;
  config.address = b.address();  // the driver is on b, which survives
  ray::Init(config);
  auto keeper = ray::Actor(Where::Create).SetResource("w", 1).SetName("keeper").Remote();
  EXPECT_EQ(*ray::Get(keeper.Task(&Where::Add).Remote(5)), 5);
  auto logged = ray::Task(Transform).Remote(std::vector<char>(10, 1));
  ray::Get(logged);
  // The record is in the GCS before the crash (a record still on its way when
  // the head dies may be lost with it; one written may not).
  const std::string lineage_cmd = std::string(RAY_BIN_DIR) + "/ray lineage --address ";
  std::string before;
  for (int i = 0; i < 50 && before.find("Transform") == std::string::npos; ++i) {
    int st = 0;
    before = RunCommand(lineage_cmd + head.address() + " " + logged.Hex(), &st);
    if (before.find("Transform") == std::string::npos) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ASSERT_NE(before.find("Transform"), std::string::npos) << before;

  head.Signal(SIGKILL);
  // b has seen the head go (and is reconnecting) before the new head starts.
  ASSERT_TRUE(WaitUntil([&] { return b.log().find("lost the GCS") != std::string::npos; }))
      << b.log();
  NodeProcess head2;
  ASSERT_TRUE(head2.Start(head_args)) << head2.log();
  // b rejoins; the named actor (alive on b) is found again and kept its state.
  std::optional<ray::ActorHandle<Where>> found;
  for (int i = 0; i < 100 && !found; ++i) {
    try {
      found = ray::GetActor<Where>("keeper");
    } catch (const ray::RayException&) {
    }
    if (!found) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(found.has_value()) << b.log();
  EXPECT_EQ(*ray::Get(found->Task(&Where::Add).Remote(1)), 6);
  // The lineage log is still there.
  int status = 0;
  std::string out = RunCommand(lineage_cmd + head2.address() + " " + logged.Hex(), &status);
  EXPECT_NE(out.find("Transform"), std::string::npos) << out;
  // Work goes on, on b and on the new head.
  EXPECT_EQ(*ray::Get(ray::Task(NodePid).SetResource("w", 1).Remote()), b.pid());
  std::set<int> where;
  for (int i = 0; i < 10 && !where.count(head2.pid()); ++i) {
    std::vector<ray::ObjectRef<int>> refs;
    for (int j = 0; j < 6; ++j) refs.push_back(ray::Task(SlowNodePid).Remote(200));
    for (auto& r : refs) where.insert(*ray::Get(r));
  }
  EXPECT_TRUE(where.count(head2.pid())) << "no task spilled to the restarted head";
  ray::Shutdown();
  head2.Stop();
}

}  // namespace
