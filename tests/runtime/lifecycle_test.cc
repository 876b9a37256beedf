// Init / Shutdown, options, leftovers, and a driver attached to a raynode.
#include <dirent.h>
#include <gtest/gtest.h>
#include <ray/api.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <thread>

#include "storage/lineage/lineage_log.h"
#include "tests/common/init_error.h"
#include "tests/storage/temp_dir.h"
#include "storage/meta/meta_store.h"
#include "tests/runtime/test_functions.h"

namespace {

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
  config.redis_password = "pw";
  ray::Init(config);
  EXPECT_EQ(*ray::Get(ray::Task(Plus1).Remote(1)), 2);
  ray::Shutdown();
}

TEST(Lifecycle, BadOptionValuesAreRejected) {
  auto config = SmallConfig();
  config.num_cpus = 0;
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
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // releases reach the GCS
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
  auto config = SmallConfig();
  ray::Init(config);
  testing::internal::CaptureStderr();
  auto ref = ray::Task(Return1).SetNumCpus(64).Remote();
  auto waited = ray::Wait(std::vector<ray::ObjectRef<int>>{ref}, 1, 300);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(waited.ready.empty());
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
  auto config = SmallConfig();
  config.log_to_driver = true;
  ray::Init(config);
  testing::internal::CaptureStdout();
  int pid = *ray::Get(ray::Task(PrintLine).Remote(std::string("line from a worker")));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ray::Shutdown();
  std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("(pid=" + std::to_string(pid) + ") line from a worker"), std::string::npos)
      << out;
}

TEST(Lifecycle, DriverAttachesToARaynode) {
  std::string raynode = std::string(RAY_BIN_DIR) + "/raynode";
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    execl(raynode.c_str(), raynode.c_str(), "--num-cpus=2", "--object-store-memory=67108864",
          "--temp-dir=/tmp/ray-tests", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  FILE* f = fdopen(out[0], "r");
  char line[512] = {0};
  ASSERT_NE(fgets(line, sizeof(line), f), nullptr);
  std::string text = line;  // "raynode listening on 127.0.0.1:PORT (session ...)"
  auto start = text.find("127.0.0.1:");
  ASSERT_NE(start, std::string::npos) << text;
  std::string address = text.substr(start, text.find(' ', start) - start);
  auto config = SmallConfig();
  config.address = address;
  ray::Init(config);
  EXPECT_EQ(*ray::Get(ray::Task(Plus).Remote(20, 22), 20000), 42);
  auto counter = ray::Actor(Counter::Create).SetMaxRestarts(-1).Remote(1);
  EXPECT_EQ(*ray::Get(counter.Task(&Counter::Add).Remote(2), 20000), 3);
  std::vector<char> big(size_t{2} << 20, 1);
  EXPECT_EQ(*ray::Get(ray::Task(SumBytes).Remote(ray::Put(big)), 20000), int64_t{2} << 20);
  ray::Shutdown();
  // The driver is gone: its workers and its (restartable) actor go with it.
  size_t left = 1;
  for (int i = 0; i < 100 && left > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    left = ThreadChildren(pid).size();
  }
  EXPECT_EQ(left, 0u);
  kill(pid, SIGTERM);
  int status = 0;
  for (int i = 0; i < 200 && waitpid(pid, &status, WNOHANG) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (kill(pid, 0) == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    FAIL() << "raynode did not stop on SIGTERM";
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  fclose(f);
}
