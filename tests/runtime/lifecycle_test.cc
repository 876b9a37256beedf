// Init / Shutdown, options, leftovers, and a driver attached to a raynode.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <ray/api.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "storage/lineage/lineage_log.h"
#include "tests/common/fd_capture.h"
#include "tests/common/init_error.h"
#include "tests/storage/temp_dir.h"
#include "storage/meta/meta_store.h"
#include "tests/runtime/test_functions.h"
#include "tests/common/wait_until.h"

extern char** environ;

namespace {

using ray::test::FdCapture;
using ray::test::WaitUntil;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A child process of the test, SIGKILLed and reaped when the guard goes out
/// of scope (an ASSERT_ that fails returns early) unless the test reaped it.
class ChildGuard {
 public:
  explicit ChildGuard(pid_t pid) : pid_(pid) {}
  ~ChildGuard() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  ChildGuard(const ChildGuard&) = delete;
  ChildGuard& operator=(const ChildGuard&) = delete;

  pid_t pid() const { return pid_; }
  /// True when the child has exited, reaped now with its status in `*status`.
  bool Reaped(int* status) {
    if (pid_ <= 0) return true;
    if (waitpid(pid_, status, WNOHANG) != pid_) return false;
    pid_ = -1;
    return true;
  }

 private:
  pid_t pid_;
};

/// Ends the driver's session when it goes out of scope, whichever way the test ends.
struct ShutdownAtExit {
  ~ShutdownAtExit() { ray::Shutdown(); }
};

ray::RayConfig SmallConfig() {
  ray::RayConfig config;
  config.num_cpus = 2;
  config.object_store_memory = int64_t{64} << 20;
  config.temp_dir = "/tmp/ray-tests";
  return config;
}

size_t LineageRecords(const ray::storage::MetaStore& store) {
  size_t records = 0;
  store.Scan(ray::storage::LineageLog::kTaskTable, [&](const std::string&, const std::string&) {
    ++records;
    return true;
  });
  return records;
}

std::set<std::string> ShmSegments() {
  std::set<std::string> names;
  if (DIR* d = opendir("/dev/shm")) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.rfind("ray_" + std::to_string(getpid()) + "_", 0) == 0) names.insert(n);
    }
    closedir(d);
  }
  return names;
}

std::set<int> ChildPids() {
  std::set<int> pids;
  DIR* d = opendir("/proc");
  while (dirent* e = readdir(d)) {
    int pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string comm, state;
    int p, ppid;
    if (stat >> p >> comm >> state >> ppid && ppid == getpid() && state != "Z") pids.insert(pid);
  }
  closedir(d);
  return pids;
}

/// Children of every thread of `pid` (a node spawns workers from its CAF threads).
std::set<int> ThreadChildren(pid_t pid) {
  std::set<int> out;
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream f(dir + "/" + e->d_name + "/children");
      int child;
      while (f >> child) out.insert(child);
    }
    closedir(d);
  }
  return out;
}

}  // namespace

TEST(Lifecycle, InitAfterShutdownWorks) {
  for (int round = 0; round < 3; ++round) {
    auto config = SmallConfig();
    ray::Init(config);
    EXPECT_TRUE(ray::IsInitialized());
    EXPECT_EQ(*ray::Get(ray::Task(Plus1).Remote(round)), round + 1);
    ray::Shutdown();
    EXPECT_FALSE(ray::IsInitialized());
  }
  ray::Shutdown();  // twice is fine
}

TEST(Lifecycle, ShutdownLeavesNoProcessOrSegment) {
  auto config = SmallConfig();
  ray::Init(config);
  auto counter = ray::Actor(Counter::Create).Remote(0);
  ray::Get(counter.Task(&Counter::Add).Remote(1));
  ray::Get(ray::Task(Plus1).Remote(1));
  EXPECT_FALSE(ChildPids().empty());
  EXPECT_FALSE(ShmSegments().empty());
  ray::Shutdown();
  EXPECT_TRUE(ChildPids().empty());
  EXPECT_TRUE(ShmSegments().empty());
}

TEST(Lifecycle, SegmentOfAKilledNodeIsRemovedByTheNextNode) {
  // A node that died by SIGKILL left a segment named after its (gone) pid.
  pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);  // `child` is now a pid of no process
  std::string stale = "/dev/shm/ray_" + std::to_string(child) + "_deadbeef";
  FILE* f = fopen(stale.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fclose(f);
  auto config = SmallConfig();
  ray::Init(config);
  EXPECT_NE(access(stale.c_str(), F_OK), 0) << stale << " is still there";
  ray::Shutdown();
  unlink(stale.c_str());
}

TEST(Lifecycle, SecondInitIsAnErrorUnlessIgnored) {
  auto config = SmallConfig();
  ray::Init(config);
  EXPECT_THROW(ray::Init(config), ray::RayException);
  config.ignore_reinit_error = true;
  EXPECT_NO_THROW(ray::Init(config));
  ray::Shutdown();
}

TEST(Lifecycle, UnsupportedOptionsAreRejectedByName) {
  auto config = SmallConfig();
  config.raylet_socket_name = "/tmp/sock";
  EXPECT_NE(ray::test::InitError(config).find("raylet_socket_name"), std::string::npos);
  config = SmallConfig();
  config.internal_config = "{}";
  EXPECT_NE(ray::test::InitError(config).find("internal_config"), std::string::npos);
  EXPECT_FALSE(ray::IsInitialized());
}

TEST(Lifecycle, HeadOnlyOptionsConfigureTheEmbeddedHead) {
  ray::storage::TempDir temp;  // removed with its contents when the test ends
  ASSERT_FALSE(temp.path().empty());
  const std::string dir = temp.path();
  auto config = SmallConfig();
  config.temp_dir = dir;
  config.num_redis_shards = 3;
  config.redis_max_memory = int64_t{1} << 20;
  ray::Init(config);
  EXPECT_EQ(*ray::Get(ray::Task(Plus1).Remote(1)), 2);
  ray::Shutdown();
  for (int i = 0; i < 3; ++i) {
    std::string shard = std::string(dir) + "/session_latest/gcs/shard-" + std::to_string(i);
    EXPECT_EQ(access((shard + "/CURRENT").c_str(), F_OK), 0) << shard;
  }
  // With an address they belong to `ray start --head`.
  config = SmallConfig();
  config.address = "127.0.0.1:1";
  config.num_redis_shards = 2;
  EXPECT_NE(ray::test::InitError(config).find("ray start --head"), std::string::npos);
  config = SmallConfig();
  config.num_redis_shards = 0;
  EXPECT_NE(ray::test::InitError(config).find("num_redis_shards"), std::string::npos);
  config = SmallConfig();
  config.redis_max_clients = 0;
  EXPECT_NE(ray::test::InitError(config).find("redis_max_clients"), std::string::npos);
}

TEST(Lifecycle, EmbeddedHeadAcceptsItsOwnDriverWithThePassword) {
  auto config = SmallConfig();
  config.redis_password = "embedded-password-0123";
  ray::Init(config);
  EXPECT_EQ(*ray::Get(ray::Task(Plus1).Remote(1)), 2);
  ray::Shutdown();
}

TEST(Lifecycle, BadOptionValuesAreRejected) {
  auto config = SmallConfig();
  config.num_cpus = -1;  // 0 is a node of no CPUs; negative is nonsense
  EXPECT_NE(ray::test::InitError(config).find("num_cpus"), std::string::npos);
  config = SmallConfig();
  config.logging_level = "loud";
  EXPECT_NE(ray::test::InitError(config).find("logging_level"), std::string::npos);
  config = SmallConfig();
  config.huge_pages = true;
  EXPECT_NE(ray::test::InitError(config).find("huge_pages"), std::string::npos);
  config = SmallConfig();
  config.huge_pages = true;
  config.plasma_directory = "/tmp";
  EXPECT_NE(ray::test::InitError(config).find("hugetlbfs"), std::string::npos);
  config = SmallConfig();
  config.object_store_memory = int64_t{1} << 50;
  EXPECT_NE(ray::test::InitError(config).find("object store"), std::string::npos);
  config = SmallConfig();
  config.resources["CPU"] = 4;
  EXPECT_NE(ray::test::InitError(config).find("num_cpus"), std::string::npos);
  config = SmallConfig();
  config.address = "nohost";
  EXPECT_NE(ray::test::InitError(config).find("host:port"), std::string::npos);
}

TEST(Lifecycle, NodeIpAddressIsWhereTheNodeListens) {
  auto config = SmallConfig();
  config.node_ip_address = "127.0.0.2";  // still loopback, but not the default
  ray::Init(config);
  EXPECT_EQ(*ray::Get(ray::Task(Plus1).Remote(1), 20000), 2);
  ray::Shutdown();
  config.node_ip_address = "203.0.113.1";  // TEST-NET: not an address of this machine
  EXPECT_NE(ray::test::InitError(config).find("203.0.113.1"), std::string::npos);
}

TEST(Lifecycle, TasksAreInTheLineageLogBeforeTheyRun) {
  ray::storage::TempDir temp;  // removed with its contents when the test ends
  ASSERT_FALSE(temp.path().empty());
  const std::string dir = temp.path();
  auto config = SmallConfig();
  config.temp_dir = dir;
  ray::Init(config);
  auto first = ray::Task(Plus1).Remote(1);
  auto second = ray::Task(Plus1).Remote(first);
  auto slow = ray::Task(SleepMs).Remote(5000);  // logged although it has not finished
  EXPECT_EQ(*ray::Get(second), 3);
  std::string first_id = first.ID(), second_id = second.ID(), slow_id = slow.ID();
  ray::Shutdown();
  std::string error;
  auto store = ray::storage::MetaStore::Open(dir + "/session_latest/gcs", &error);
  ASSERT_TRUE(store) << error;
  ray::storage::LineageLog log(store.get());
  auto producer = log.GetProducer(second_id);
  ASSERT_TRUE(producer.has_value());
  EXPECT_EQ(producer->function, "Plus1");
  ASSERT_EQ(producer->args.size(), 1u);
  EXPECT_TRUE(producer->args[0].is_ref);
  EXPECT_EQ(producer->args[0].object_id, first_id);
  EXPECT_TRUE(log.GetProducer(first_id).has_value());
  auto slow_record = log.GetProducer(slow_id);
  ASSERT_TRUE(slow_record.has_value());
  EXPECT_EQ(slow_record->function, "SleepMs");
  store.reset();
}

TEST(Lifecycle, LineageLogIsCappedByRedisMaxMemory) {
  ray::storage::TempDir temp;  // removed with its contents when the test ends
  ASSERT_FALSE(temp.path().empty());
  const std::string dir = temp.path();
  auto config = SmallConfig();
  config.temp_dir = dir;
  config.redis_max_memory = 4000;  // bytes of lineage records: a few dozen tasks
  ray::Init(config);
  std::vector<ray::ObjectRef<int>> refs;
  for (int i = 0; i < 300; ++i) refs.push_back(ray::Task(Plus1).Remote(i));
  std::string last_id = refs.back().ID(), first_id = refs.front().ID();
  EXPECT_EQ(*ray::Get(refs.back()), 300);
  ray::Shutdown();
  std::string error;
  auto store = ray::storage::MetaStore::Open(dir + "/session_latest/gcs", &error);
  ASSERT_TRUE(store) << error;
  size_t records = LineageRecords(*store);
  EXPECT_GT(records, 0u);
  EXPECT_LT(records, 150u);
  ray::storage::LineageLog log(store.get());
  EXPECT_TRUE(log.GetProducer(last_id).has_value());    // the newest are kept
  EXPECT_FALSE(log.GetProducer(first_id).has_value());  // the oldest went first
  store.reset();
}

TEST(Lifecycle, LineageOfDroppedResultsIsGarbageCollected) {
  ray::storage::TempDir temp;  // removed with its contents when the test ends
  ASSERT_FALSE(temp.path().empty());
  const std::string dir = temp.path();
  auto config = SmallConfig();
  config.temp_dir = dir;
  ray::Init(config);
  auto kept = ray::Task(Plus1).Remote(5);
  auto kept_chain = ray::Task(Plus1).Remote(ray::Task(Plus1).Remote(10));  // needs its producer
  {
    auto ref = ray::Task(Plus1).Remote(0);
    for (int i = 1; i < 200; ++i) ref = ray::Task(Plus1).Remote(ref);
    EXPECT_EQ(*ray::Get(ref), 200);
  }  // the whole chain is dropped
  EXPECT_EQ(*ray::Get(kept), 6);
  EXPECT_EQ(*ray::Get(kept_chain), 12);
  std::string kept_id = kept.ID(), chain_id = kept_chain.ID();
  // No wait for the releases to reach the GCS (the test cannot see its lineage
  // table while the GCS holds the store open): each dropped ref sent its
  // release to the raylet at once, ahead of Shutdown's stop; the raylet passes
  // its batch to the GCS before it stops, and the GCS handles that before the
  // exit it is sent after the raylet is gone.
  ray::Shutdown();
  std::string error;
  auto store = ray::storage::MetaStore::Open(dir + "/session_latest/gcs", &error);
  ASSERT_TRUE(store) << error;
  size_t records = LineageRecords(*store);
  EXPECT_EQ(records, 3u);  // kept, kept_chain and the task kept_chain takes its argument from
  ray::storage::LineageLog log(store.get());
  EXPECT_TRUE(log.GetProducer(kept_id).has_value());
  auto chain = log.GetProducer(chain_id);
  ASSERT_TRUE(chain.has_value());
  EXPECT_TRUE(log.GetProducer(chain->args.at(0).object_id).has_value());
  store.reset();
}

TEST(Lifecycle, InfeasibleRequestLogsAClearWarning) {
  ray::storage::TempDir temp;  // removed with its contents when the test ends
  ASSERT_FALSE(temp.path().empty());
  auto config = SmallConfig();
  ray::Init(config);
  FdCapture stderr_capture(2, temp.path() + "/stderr");
  auto ref = ray::Task(Return1).SetNumCpus(64).Remote();
  auto waited = ray::Wait(std::vector<ray::ObjectRef<int>>{ref}, 1, 300);
  EXPECT_TRUE(waited.ready.empty());
  // The raylet writes the warning when it sees the request: polled for.
  std::string err;
  WaitUntil([&] {
    err = stderr_capture.Text();
    return err.find("Return1") != std::string::npos && err.find("CPU=64") != std::string::npos;
  });
  stderr_capture.Stop();
  EXPECT_NE(err.find("Return1"), std::string::npos) << err;
  EXPECT_NE(err.find("CPU=64"), std::string::npos) << err;
  ray::Shutdown();
}

TEST(Lifecycle, PlasmaDirectoryHoldsTheStore) {
  char dir[] = "/tmp/ray-plasma-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  auto config = SmallConfig();
  config.plasma_directory = dir;
  ray::Init(config);
  std::vector<char> big(size_t{1} << 20, 1);
  auto ref = ray::Put(big);
  auto view = ray::GetView(ref);
  EXPECT_TRUE(view.in_shared_memory());
  EXPECT_EQ(*ray::Get(ray::Task(SumBytes).Remote(ref)), int64_t{1} << 20);
  bool has_file = false;
  if (DIR* d = opendir(dir)) {
    while (dirent* e = readdir(d)) has_file |= std::string(e->d_name).rfind("ray_", 0) == 0;
    closedir(d);
  }
  EXPECT_TRUE(has_file);
  ray::Shutdown();
  rmdir(dir);
}

TEST(Lifecycle, ObjectIdSeedMakesIdsRepeatable) {
  std::string first, second;
  for (std::string* out : {&first, &second}) {
    auto config = SmallConfig();
    config.object_id_seed = 42;
    ray::Init(config);
    *out = ray::Task(Plus1).Remote(1).ID() + ray::Put(5).ID();
    ray::Shutdown();
  }
  EXPECT_EQ(first, second);
  auto config = SmallConfig();
  ray::Init(config);
  EXPECT_NE(ray::Task(Plus1).Remote(1).ID() + ray::Put(5).ID(), first);
  ray::Shutdown();
}

TEST(Lifecycle, WorkerOutputReachesTheDriverWithItsPid) {
  ray::storage::TempDir temp;  // removed with its contents when the test ends
  ASSERT_FALSE(temp.path().empty());
  auto config = SmallConfig();
  config.log_to_driver = true;
  ray::Init(config);
  FdCapture stdout_capture(1, temp.path() + "/stdout");
  int pid = *ray::Get(ray::Task(PrintLine).Remote(std::string("line from a worker")));
  // The raylet forwards the worker's line when it reads it from the worker's pipe.
  const std::string expected = "(pid=" + std::to_string(pid) + ") line from a worker";
  std::string out;
  WaitUntil([&] {
    out = stdout_capture.Text();
    return out.find(expected) != std::string::npos;
  });
  ray::Shutdown();
  stdout_capture.Stop();
  EXPECT_NE(out.find(expected), std::string::npos) << out;
}

TEST(Lifecycle, DriverAttachesToARaynode) {
  ray::storage::TempDir temp;  // the raynode's temp dir, address file and output
  ASSERT_FALSE(temp.path().empty());
  const std::string address_file = temp.path() + "/address";
  const std::string log_file = temp.path() + "/raynode.log";
  std::vector<std::string> args = {std::string(RAY_BIN_DIR) + "/raynode", "--num-cpus=2",
                                   "--object-store-memory=67108864",
                                   "--temp-dir=" + temp.path() + "/ray",
                                   "--address-file=" + address_file};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t spawned = -1;
  int rc = posix_spawn(&spawned, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ASSERT_EQ(rc, 0) << "cannot run " << args[0];
  ChildGuard raynode(spawned);  // killed on every way out of the test
  const pid_t pid = raynode.pid();
  // It writes "host:port\n" to the address file once it listens (whatever it
  // printed before: on a fresh $HOME, that it created the auth token).
  std::string address;
  int status = 0;
  bool exited = false;
  WaitUntil([&] {
    std::string text = ReadFile(address_file);
    if (!text.empty() && text.back() == '\n') {
      address = text.substr(0, text.size() - 1);
      return true;
    }
    exited = raynode.Reaped(&status);
    return exited;
  });
  ASSERT_FALSE(exited) << "raynode exited (status " << status << "):\n" << ReadFile(log_file);
  ASSERT_EQ(address.rfind("127.0.0.1:", 0), 0u)
      << "no address in " << address_file << ":\n" << ReadFile(log_file);
  // It says so on its output too (printed before the address file is written).
  EXPECT_NE(ReadFile(log_file).find("raynode listening on " + address), std::string::npos)
      << ReadFile(log_file);
  {
    ShutdownAtExit shutdown;  // before the raynode is killed, should a call below throw
    auto config = SmallConfig();
    config.address = address;
    ray::Init(config);
    EXPECT_EQ(*ray::Get(ray::Task(Plus).Remote(20, 22), 20000), 42);
    auto counter = ray::Actor(Counter::Create).SetMaxRestarts(-1).Remote(1);
    EXPECT_EQ(*ray::Get(counter.Task(&Counter::Add).Remote(2), 20000), 3);
    std::vector<char> big(size_t{2} << 20, 1);
    EXPECT_EQ(*ray::Get(ray::Task(SumBytes).Remote(ray::Put(big)), 20000), int64_t{2} << 20);
  }
  // The driver is gone: its workers and its (restartable) actor go with it.
  size_t left = 1;
  WaitUntil([&] { return (left = ThreadChildren(pid).size()) == 0; }, std::chrono::seconds(5));
  EXPECT_EQ(left, 0u);
  kill(pid, SIGTERM);
  ASSERT_TRUE(WaitUntil([&] { return raynode.Reaped(&status); }, std::chrono::seconds(10)))
      << "raynode did not stop on SIGTERM:\n" << ReadFile(log_file);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << ReadFile(log_file);
}
