// ray_microbenchmark: the workloads of Ray's `ray microbenchmark`, same names
// and shapes (read from Ray's ray_perf.py), on this runtime; plus cold start,
// idle memory, 1 GiB in-node Get, 1 GiB cross-node transfer between two
// raynode processes, raw TCP stream, memcpy and FastCopy bandwidth, and a bare
// CAF request/response rate between two processes (caf_floor.cc).
//
//   ray_microbenchmark [--num-cpus N] [--filter SUBSTR] [--trials K]
//                      [--trial-seconds S] [--json FILE] [--no-extras] [--only-extras]
//
// Each figure is printed as "name: median (min .. max) unit" over K trials.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <ray/api.h>
#include "storage/lineage/lineage_log.h"
#include "storage/meta/meta_store.h"
#include "storage/object_store/fast_copy.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <new>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

int CafFloorChild(int trials, double seconds);  // caf_floor.cc: CAF request/response rate

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// -- remote functions and actors (ray_perf.py's shapes) ------------------------

int SmallValue() { return 0; }

int SmallValueBatch(int n) {
  std::vector<ray::ObjectRef<int>> refs;
  refs.reserve(n);
  for (int i = 0; i < n; ++i) refs.push_back(ray::Task(SmallValue).Remote());
  ray::Get(refs);
  return 0;
}

int DoPutSmall() {
  for (int i = 0; i < 100; ++i) ray::Put(0);
  return 0;
}

// Memory as numpy's np.zeros gets it for a large array: fresh anonymous pages,
// never written (they read as zeros), advised for transparent huge pages (numpy
// does that for arrays of 4 MiB and more). A vector of it is constructed
// without writing its elements.
template <typename T>
struct ZeroPagesAllocator {
  using value_type = T;
  ZeroPagesAllocator() = default;
  template <typename U>
  ZeroPagesAllocator(const ZeroPagesAllocator<U>&) {}
  T* allocate(size_t n) {
    void* p = mmap(nullptr, n * sizeof(T), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    madvise(p, n * sizeof(T), MADV_HUGEPAGE);
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) { munmap(p, n * sizeof(T)); }
  template <typename U>
  void construct(U*) {}  // already zero
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
  bool operator==(const ZeroPagesAllocator&) const { return true; }
  bool operator!=(const ZeroPagesAllocator&) const { return false; }
};
using NumpyZeros = std::vector<uint8_t, ZeroPagesAllocator<uint8_t>>;

int DoPut() {
  // ray_perf: 10 x ray.put(np.zeros(10 * 1024 * 1024, dtype=np.int64)), a fresh array each time
  for (int i = 0; i < 10; ++i) ray::Put(NumpyZeros(size_t{10} << 20 << 3));
  return 0;
}

std::vector<ray::ObjectRef<int>> CreateObjectContainingRefs() {
  std::vector<ray::ObjectRef<int>> refs;
  refs.reserve(10000);
  for (int i = 0; i < 10000; ++i) refs.push_back(ray::Put(i));
  return refs;
}

class PerfActor {
 public:
  static PerfActor* Create() { return new PerfActor(); }
  int Small() { return 0; }
  int SmallArg(int x) { return x; }
  int SmallBatch(int n) { return SmallValueBatch(n); }
};

class PerfClient {
 public:
  explicit PerfClient(std::vector<ray::ActorHandle<PerfActor>> actors) : actors_(std::move(actors)) {}
  static PerfClient* Create(std::vector<ray::ActorHandle<PerfActor>> actors) {
    return new PerfClient(std::move(actors));
  }
  int Batch(int n) {
    std::vector<ray::ObjectRef<int>> refs;
    for (int i = 0; i < n; ++i) {
      for (auto& a : actors_) refs.push_back(a.Task(&PerfActor::Small).Remote());
    }
    ray::Get(refs);
    return 0;
  }
  int BatchArg(int n) {
    auto x = ray::Put(0);
    std::vector<ray::ObjectRef<int>> refs;
    for (int i = 0; i < n; ++i) {
      for (auto& a : actors_) refs.push_back(a.Task(&PerfActor::SmallArg).Remote(x));
    }
    ray::Get(refs);
    return 0;
  }

 private:
  std::vector<ray::ActorHandle<PerfActor>> actors_;
};

int Work(std::vector<ray::ActorHandle<PerfActor>> actors, int n) {
  std::vector<ray::ObjectRef<int>> refs;
  refs.reserve(n);
  for (int i = 0; i < n; ++i) {
    refs.push_back(actors[i % actors.size()].Task(&PerfActor::Small).Remote());
  }
  ray::Get(refs);
  return 0;
}

// -- cross-node transfer ------------------------------------------------------------

std::vector<char> MakeBlob(int64_t n, int seed) {
  std::vector<char> v(static_cast<size_t>(n));
  for (size_t i = 0; i < v.size(); i += 4096) v[i] = static_cast<char>(i / 4096 + seed);
  return v;
}

uint64_t Checksum(const char* data, size_t n) {
  uint64_t sum = 0;
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, data + i, 8);
    sum = sum * 1099511628211ull + w;
  }
  return sum;
}

/// Checksums the object where the task runs, read in place (the ref is
/// passed inside a vector so it is not fetched as an argument).
uint64_t ChecksumInPlace(std::vector<ray::ObjectRef<std::vector<char>>> refs) {
  ray::BufferView v = ray::GetView(refs.at(0));
  return Checksum(v.data(), v.size());
}

RAY_REMOTE(MakeBlob, ChecksumInPlace);

RAY_REMOTE(SmallValue, SmallValueBatch, DoPutSmall, DoPut, CreateObjectContainingRefs, Work,
           PerfActor::Create, &PerfActor::Small, &PerfActor::SmallArg, &PerfActor::SmallBatch,
           PerfClient::Create, &PerfClient::Batch, &PerfClient::BatchArg);

// -- harness ---------------------------------------------------------------------

struct Options {
  int num_cpus = static_cast<int>(std::thread::hardware_concurrency());
  std::string filter;
  int trials = 5;
  double trial_seconds = 1.0;
  std::string json;
  bool extras = true;
  bool workloads = true;
};

struct Figure {
  std::string name;
  std::string unit;
  std::vector<double> values;
  double median() const {
    auto v = values;
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
  }
  double min() const { return values.empty() ? 0 : *std::min_element(values.begin(), values.end()); }
  double max() const { return values.empty() ? 0 : *std::max_element(values.begin(), values.end()); }
};

std::vector<Figure> g_figures;

void Report(const Figure& f) {
  std::printf("%-48s %14.2f  (min %.2f, max %.2f) %s\n", f.name.c_str(), f.median(), f.min(),
              f.max(), f.unit.c_str());
  std::fflush(stdout);
  g_figures.push_back(f);
}

bool Selected(const Options& o, const std::string& name) {
  return o.filter.empty() || name.find(o.filter) != std::string::npos;
}

/// Runs `fn` repeatedly for trial_seconds per trial after a warm-up; each call
/// counts as `multiplier` operations.
void TimeIt(const Options& o, const std::string& name, const std::function<void()>& fn,
            double multiplier = 1, const std::string& unit = "per second") {
  if (!o.workloads || !Selected(o, name)) return;
  auto warm_end = Clock::now() + std::chrono::milliseconds(300);
  do fn();
  while (Clock::now() < warm_end);
  Figure f{name, unit, {}};
  for (int t = 0; t < o.trials; ++t) {
    int64_t count = 0;
    auto start = Clock::now();
    auto now = start;
    do {
      fn();
      ++count;
      now = Clock::now();
    } while (Seconds(start, now) < o.trial_seconds);
    f.values.push_back(count * multiplier / Seconds(start, now));
  }
  Report(f);
}

// -- Ray's workloads ---------------------------------------------------------------

void RunWorkloads(const Options& o) {
  const int n_cpu = std::max(1, o.num_cpus / 2);  // ray_perf: cpu_count() // 2
  {
    auto value = ray::Put(0);
    TimeIt(o, "single client get calls", [&] { ray::Get(value); });
  }
  TimeIt(o, "single client put calls", [&] { ray::Put(0); });
  TimeIt(o, "multi client put calls", [&] {
    std::vector<ray::ObjectRef<int>> refs;
    for (int i = 0; i < 10; ++i) refs.push_back(ray::Task(DoPutSmall).Remote());
    ray::Get(refs);
  }, 1000);
  if (o.workloads && Selected(o, "single client put gigabytes")) {
    std::vector<uint8_t> arr(size_t{100} << 20 << 3, 0);  // 800 MiB, as 100M int64 zeros
    TimeIt(o, "single client put gigabytes", [&] { ray::Put(arr); }, 8 * 0.1 * 1.048576,
           "GB per second");
  }
  TimeIt(o, "multi client put gigabytes", [&] {
    std::vector<ray::ObjectRef<int>> refs;
    for (int i = 0; i < 10; ++i) refs.push_back(ray::Task(DoPut).Remote());
    ray::Get(refs);
  }, 10 * 10 * 80 * 1.048576 / 1000, "GB per second");  // 10 tasks x 10 puts x 80 MiB
  {
    auto containing = ray::Task(CreateObjectContainingRefs).Remote();
    ray::Get(containing);
    TimeIt(o, "single client get object containing 10k refs", [&] { ray::Get(containing); });
  }
  TimeIt(o, "single client wait 1k refs", [&] {
    std::vector<ray::ObjectRef<int>> not_ready;
    for (int i = 0; i < 1000; ++i) not_ready.push_back(ray::Task(SmallValue).Remote());
    for (int i = 0; i < 1000; ++i) not_ready = ray::Wait(not_ready, 1).unready;
  });
  TimeIt(o, "single client tasks and get batch", [&] {
    std::vector<ray::ObjectRef<int>> refs;
    for (int i = 0; i < 1000; ++i) refs.push_back(ray::Task(SmallValue).Remote());
    ray::Get(refs);
  });
  TimeIt(o, "single client tasks sync", [&] { ray::Get(ray::Task(SmallValue).Remote()); });
  TimeIt(o, "single client tasks async", [&] {
    std::vector<ray::ObjectRef<int>> refs;
    for (int i = 0; i < 1000; ++i) refs.push_back(ray::Task(SmallValue).Remote());
    ray::Get(refs);
  }, 1000);
  if (Selected(o, "multi client tasks async")) {
    const int n = 10000, m = 4;
    std::vector<ray::ActorHandle<PerfActor>> actors;
    for (int i = 0; i < m; ++i) actors.push_back(ray::Actor(PerfActor::Create).Remote());
    TimeIt(o, "multi client tasks async", [&] {
      std::vector<ray::ObjectRef<int>> refs;
      for (auto& a : actors) refs.push_back(a.Task(&PerfActor::SmallBatch).Remote(n));
      ray::Get(refs);
    }, n * m);
    for (auto& a : actors) a.Kill();
  }
  {
    auto a = ray::Actor(PerfActor::Create).Remote();
    ray::Get(a.Task(&PerfActor::Small).Remote());
    TimeIt(o, "1:1 actor calls sync", [&] { ray::Get(a.Task(&PerfActor::Small).Remote()); });
    TimeIt(o, "1:1 actor calls async", [&] {
      std::vector<ray::ObjectRef<int>> refs;
      for (int i = 0; i < 1000; ++i) refs.push_back(a.Task(&PerfActor::Small).Remote());
      ray::Get(refs);
    }, 1000);
    // Actors here run one call at a time (no max_concurrency yet): the same
    // workload as Ray's, executed serially.
    TimeIt(o, "1:1 actor calls concurrent", [&] {
      std::vector<ray::ObjectRef<int>> refs;
      for (int i = 0; i < 1000; ++i) refs.push_back(a.Task(&PerfActor::Small).Remote());
      ray::Get(refs);
    }, 1000);
    a.Kill();
  }
  if (Selected(o, "1:n actor calls async")) {
    const int n = 5000;
    std::vector<ray::ActorHandle<PerfActor>> actors;
    for (int i = 0; i < n_cpu; ++i) actors.push_back(ray::Actor(PerfActor::Create).Remote());
    auto client = ray::Actor(PerfClient::Create).Remote(actors);
    TimeIt(o, "1:n actor calls async", [&] { ray::Get(client.Task(&PerfClient::Batch).Remote(n)); },
           n * actors.size());
    client.Kill();
    for (auto& a : actors) a.Kill();
  }
  if (Selected(o, "n:n actor calls async")) {
    const int n = 5000, m = 4;
    std::vector<ray::ActorHandle<PerfActor>> actors;
    for (int i = 0; i < n_cpu; ++i) actors.push_back(ray::Actor(PerfActor::Create).Remote());
    TimeIt(o, "n:n actor calls async", [&] {
      std::vector<ray::ObjectRef<int>> refs;
      for (int i = 0; i < m; ++i) refs.push_back(ray::Task(Work).Remote(actors, n));
      ray::Get(refs);
    }, m * n);
    for (auto& a : actors) a.Kill();
  }
  if (Selected(o, "n:n actor calls with arg async")) {
    const int n = 1000;
    std::vector<ray::ActorHandle<PerfClient>> clients;
    std::vector<ray::ActorHandle<PerfActor>> actors;
    for (int i = 0; i < n_cpu; ++i) {
      actors.push_back(ray::Actor(PerfActor::Create).Remote());
      clients.push_back(ray::Actor(PerfClient::Create).Remote(
          std::vector<ray::ActorHandle<PerfActor>>{actors.back()}));
    }
    TimeIt(o, "n:n actor calls with arg async", [&] {
      std::vector<ray::ObjectRef<int>> refs;
      for (auto& c : clients) refs.push_back(c.Task(&PerfClient::BatchArg).Remote(n));
      ray::Get(refs);
    }, n * clients.size());
    for (auto& c : clients) c.Kill();
    for (auto& a : actors) a.Kill();
  }
}

// -- extras -------------------------------------------------------------------------

std::string SelfExe() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, n) : "";
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

/// Child mode: from process start (parent's clock) to the first task result.
int ColdStartChild() {
  ray::RayConfig config;
  ray::Init(config);
  ray::Get(ray::Task(SmallValue).Remote());
  int64_t done = NowNs();
  std::printf("%lld\n", static_cast<long long>(done));
  std::fflush(stdout);
  ray::Shutdown();
  return 0;
}

std::string RunChild(const char* mode, const std::string& value);

/// Milliseconds from just before fork() to the child's first task result.
double RunColdStartOnce() {
  int64_t start = NowNs();
  return (std::stoll(RunChild("RAY_BENCH_COLD_START", "1")) - start) / 1e6;
}

int64_t RssKiB(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return 0;
}

/// Children of every thread of `parent` (workers are spawned from CAF's threads).
std::vector<pid_t> Children(pid_t parent) {
  std::vector<pid_t> out;
  std::string dir = "/proc/" + std::to_string(parent) + "/task";
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream f(dir + "/" + e->d_name + "/children");
      pid_t p;
      while (f >> p) out.push_back(p);
    }
    closedir(d);
  }
  return out;
}

double ClusterRssMiB() {
  int64_t kib = RssKiB(getpid());
  for (pid_t c : Children(getpid())) kib += RssKiB(c);
  return kib / 1024.0;
}

double TcpStreamGBps(size_t bytes) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  listen(listener, 1);
  std::thread sender([&] {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    std::vector<char> chunk(size_t{4} << 20, 'x');
    size_t sent = 0;
    while (sent < bytes) {
      ssize_t n = send(s, chunk.data(), std::min(chunk.size(), bytes - sent), 0);
      if (n <= 0) break;
      sent += n;
    }
    close(s);
  });
  int c = accept(listener, nullptr, nullptr);
  std::vector<char> buf(size_t{4} << 20);
  auto start = Clock::now();
  size_t got = 0;
  ssize_t n;
  while ((n = recv(c, buf.data(), buf.size(), 0)) > 0) got += n;
  double s = Seconds(start, Clock::now());
  sender.join();
  close(c);
  close(listener);
  return got / s / 1e9;
}

void RunExtras(const Options& o) {
  if (Selected(o, "memcpy bandwidth")) {
    size_t n = size_t{1} << 30;
    std::vector<char> a(n, 1), b(n, 2);
    Figure f{"memcpy bandwidth (1 GiB, warm pages)", "GB per second", {}};
    for (int t = 0; t < o.trials; ++t) {
      auto start = Clock::now();
      std::memcpy(b.data(), a.data(), n);
      f.values.push_back(n / Seconds(start, Clock::now()) / 1e9);
    }
    Report(f);
    // What Put copies with (storage/object_store/fast_copy.h): streaming
    // stores, split across threads.
    Figure fast{"FastCopy bandwidth (1 GiB, warm pages, " +
                    std::to_string(ray::storage::CopyThreadsFor(n)) + " threads)",
                "GB per second", {}};
    for (int t = 0; t < o.trials; ++t) {
      auto start = Clock::now();
      ray::storage::FastCopy(b.data(), a.data(), n);
      fast.values.push_back(n / Seconds(start, Clock::now()) / 1e9);
    }
    Report(fast);
  }
  if (Selected(o, "CAF request/response")) {
    std::istringstream in(RunChild("RAY_BENCH_CAF_FLOOR", std::to_string(o.trials)));
    Figure f{"CAF request/response between 2 processes", "per second", {}};
    double v;
    while (in >> v) f.values.push_back(v);
    if (!f.values.empty()) Report(f);
  }
  if (Selected(o, "raw TCP stream")) {
    Figure f{"raw TCP stream 1 GiB over loopback", "GB per second", {}};
    for (int t = 0; t < o.trials; ++t) f.values.push_back(TcpStreamGBps(size_t{1} << 30));
    Report(f);
  }
  if (Selected(o, "Get of 1 GiB")) {
    std::vector<uint8_t> data(size_t{1} << 30, 7);
    auto ref = ray::Put(data);
    Figure view{"in-node Get of 1 GiB with BufferView", "ms", {}};
    Figure copy{"in-node Get of 1 GiB without view (copy)", "ms", {}};
    for (int t = 0; t < o.trials; ++t) {
      auto start = Clock::now();
      ray::BufferView v = ray::GetView(ref);
      view.values.push_back(Seconds(start, Clock::now()) * 1e3);
      if (v.size() != data.size()) std::abort();
    }
    for (int t = 0; t < std::min(o.trials, 3); ++t) {
      auto start = Clock::now();
      auto value = ray::Get(ref);
      copy.values.push_back(Seconds(start, Clock::now()) * 1e3);
    }
    Report(view);
    Report(copy);
  }
}

/// Starts a raynode next to this binary; returns its pid and sets `*address`.
pid_t StartRaynode(const std::vector<std::string>& args, const std::string& dir,
                   std::string* address) {
  std::string exe = SelfExe();
  std::string raynode = exe.substr(0, exe.rfind('/')) + "/raynode";
  std::string address_file = dir + "/address-" + std::to_string(NowNs());
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<std::string> argv = {raynode, "--address-file", address_file, "--temp-dir", dir,
                                     "--no-log-to-driver", "--logging-level", "warning"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> c;
    for (auto& a : argv) c.push_back(a.data());
    c.push_back(nullptr);
    std::string log = dir + "/raynode-" + std::to_string(getpid()) + ".log";
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execv(raynode.c_str(), c.data());
    _exit(127);
  }
  for (int i = 0; i < 1500; ++i) {
    std::ifstream in(address_file);
    if (in && std::getline(in, *address) && !address->empty()) return pid;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  return -1;
}

/// Child mode: a head and a second raynode; each trial makes a 1 GiB object
/// on the second node and times the driver's (on the head) zero-copy Get of
/// it, which pulls it across; prints GB/s per trial, checksums verified.
int CrossNodeChild(int trials) {
  char dir[] = "/tmp/ray-bench-xnode-XXXXXX";
  if (!mkdtemp(dir)) return 1;
  std::string head_address, b_address;
  std::string store = std::to_string(int64_t{3} << 30);
  pid_t head = StartRaynode({"--num-cpus", "1", "--object-store-memory", store}, dir, &head_address);
  pid_t b = StartRaynode({"--num-cpus", "1", "--object-store-memory", store, "--resources",
                          "{\"b\": 1}", "--address", head_address},
                         dir, &b_address);
  if (head < 0 || b < 0) return 1;
  ray::RayConfig config;
  config.address = head_address;
  config.log_to_driver = false;
  ray::Init(config);
  const int64_t kSize = int64_t{1} << 30;
  for (int t = 0; t < trials; ++t) {
    auto blob = ray::Task(MakeBlob).SetResource("b", 1).Remote(kSize, t);
    uint64_t there = *ray::Get(ray::Task(ChecksumInPlace).SetResource("b", 1).Remote(
        std::vector<ray::ObjectRef<std::vector<char>>>{blob}));
    auto start = Clock::now();
    ray::BufferView view = ray::GetView(blob);
    double seconds = Seconds(start, Clock::now());
    if (view.size() < static_cast<size_t>(kSize)) {
      std::fprintf(stderr, "cross-node: wrong size %zu\n", view.size());
      return 1;
    }
    if (Checksum(view.data(), view.size()) != there) {
      std::fprintf(stderr, "cross-node: the copy differs from the original\n");
      return 1;
    }
    std::printf("%f\n", kSize / seconds / 1e9);
    std::fflush(stdout);
  }
  ray::Shutdown();
  kill(b, SIGTERM);
  kill(head, SIGTERM);
  waitpid(b, nullptr, 0);
  waitpid(head, nullptr, 0);
  std::string rm = std::string("rm -rf ") + dir;
  if (std::system(rm.c_str()) != 0) return 1;
  return 0;
}

/// Child mode: an embedded cluster whose pool holds num_cpus idle workers (Ray
/// prestarts as many), idle for 2 s; prints the RSS of the driver+node process
/// and all its workers, in MiB.
int IdleMemoryChild(int num_cpus) {
  ray::RayConfig config;
  config.num_cpus = num_cpus;
  config.log_to_driver = false;
  ray::Init(config);
  std::vector<ray::ObjectRef<int>> refs;
  for (int i = 0; i < 4 * num_cpus; ++i) refs.push_back(ray::Task(SmallValue).Remote());
  ray::Get(refs);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  std::printf("%.2f %zu\n", ClusterRssMiB(), Children(getpid()).size());
  std::fflush(stdout);
  ray::Shutdown();
  return 0;
}

std::string RunChild(const char* mode, const std::string& value) {
  int out[2];
  if (pipe(out) != 0) return "";
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    setenv(mode, value.c_str(), 1);
    std::string exe = SelfExe();
    execl(exe.c_str(), exe.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  std::string text;
  char buf[256];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof(buf))) > 0) text.append(buf, n);
  close(out[0]);
  int status;
  waitpid(pid, &status, 0);
  return text;
}

void RunCrossNode(const Options& o) {
  if (!Selected(o, "cross-node")) return;
  std::istringstream in(RunChild("RAY_BENCH_XNODE", std::to_string(std::min(o.trials, 5))));
  Figure f{"cross-node transfer of 1 GiB (2 raynodes, checked)", "GB per second", {}};
  double v;
  while (in >> v) f.values.push_back(v);
  if (f.values.empty()) {
    std::fprintf(stderr, "cross-node transfer failed (see stderr above)\n");
    return;
  }
  Report(f);
}

/// What recording one user metric costs in a process (no cluster needed: a
/// record touches only the process's registry; the node gets the totals once
/// a second): `n` records of each kind, with two tags.
int MetricsCost(int64_t n) {
  ray::Counter counter("bench_requests", "requests", "requests", {"route", "code"});
  ray::Gauge gauge("bench_depth", "queue depth", "items", {"route", "code"});
  ray::Histogram histogram("bench_latency", "latency", "s", {0.001, 0.01, 0.1, 1}, {"route", "code"});
  const ray::MetricTags tags = {{"route", "/api"}, {"code", "200"}};
  auto time = [&](const char* name, const std::function<void(int64_t)>& record) {
    auto start = Clock::now();
    for (int64_t i = 0; i < n; ++i) record(i);
    double ns = Seconds(start, Clock::now()) * 1e9 / static_cast<double>(n);
    std::printf("%-48s %14.1f ns per record (%lld records, 2 tags)\n", name, ns,
                static_cast<long long>(n));
  };
  time("metrics: Counter::Inc", [&](int64_t) { counter.Inc(1, tags); });
  time("metrics: Gauge::Set", [&](int64_t i) { gauge.Set(static_cast<double>(i), tags); });
  time("metrics: Histogram::Observe",
       [&](int64_t i) { histogram.Observe(static_cast<double>(i % 1000) / 1000, tags); });
  return 0;
}

/// The lineage log after `n` short tasks whose results were read and dropped,
/// 1000 at a time: records left and bytes on disk (LevelDB directory).
int LineageGc(int64_t n) {
  char dir[] = "/tmp/ray-bench-lineage-XXXXXX";
  if (!mkdtemp(dir)) return 1;
  ray::RayConfig config;
  config.temp_dir = dir;
  config.log_to_driver = false;
  ray::Init(config);
  auto start = Clock::now();
  for (int64_t done = 0; done < n; done += 1000) {
    std::vector<ray::ObjectRef<int>> refs;
    for (int i = 0; i < 1000; ++i) refs.push_back(ray::Task(SmallValue).Remote());
    ray::Get(refs);
  }
  double seconds = Seconds(start, Clock::now());
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ray::Shutdown();
  std::string gcs = std::string(dir) + "/session_latest/gcs";
  std::string error;
  size_t records = 0;
  {
    auto store = ray::storage::MetaStore::Open(gcs, &error);
    if (!store) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return 1;
    }
    store->Scan(ray::storage::LineageLog::kTaskTable, [&](const std::string&, const std::string&) {
      ++records;
      return true;
    });
  }
  std::string du = "du -sb " + gcs + " | cut -f1";
  FILE* p = popen(du.c_str(), "r");
  long long bytes = 0;
  if (p) {
    if (std::fscanf(p, "%lld", &bytes) != 1) bytes = -1;
    pclose(p);
  }
  std::printf("lineage after %lld short tasks (%.0f tasks/s): %zu records left, %.2f MiB on disk\n",
              static_cast<long long>(n), n / seconds, records, bytes / 1048576.0);
  std::string rm = std::string("rm -rf ") + dir;
  return std::system(rm.c_str()) == 0 ? 0 : 1;
}

void RunIdleMemory(const Options& o) {
  if (!Selected(o, "idle cluster RSS")) return;
  std::istringstream in(RunChild("RAY_BENCH_IDLE", std::to_string(o.num_cpus)));
  double mib = 0;
  size_t workers = 0;
  in >> mib >> workers;
  Report(Figure{"idle cluster RSS (driver+node and " + std::to_string(workers) + " idle workers)",
                "MiB", {mib}});
}

void WriteJson(const std::string& path, int num_cpus) {
  std::ofstream out(path);
  out << "{\n  \"num_cpus\": " << num_cpus << ",\n  \"figures\": {\n";
  for (size_t i = 0; i < g_figures.size(); ++i) {
    const auto& f = g_figures[i];
    out << "    \"" << f.name << "\": {\"median\": " << f.median() << ", \"min\": " << f.min()
        << ", \"max\": " << f.max() << ", \"unit\": \"" << f.unit << "\"}"
        << (i + 1 < g_figures.size() ? "," : "") << "\n";
  }
  out << "  }\n}\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (std::getenv("RAY_BENCH_COLD_START")) return ColdStartChild();
  if (const char* idle = std::getenv("RAY_BENCH_IDLE")) return IdleMemoryChild(std::atoi(idle));
  if (const char* x = std::getenv("RAY_BENCH_XNODE")) return CrossNodeChild(std::atoi(x));
  if (const char* t = std::getenv("RAY_BENCH_CAF_FLOOR")) return CafFloorChild(std::atoi(t), 2.0);
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << a << " needs a value" << std::endl;
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--num-cpus") o.num_cpus = std::stoi(next());
    else if (a == "--filter") o.filter = next();
    else if (a == "--trials") o.trials = std::stoi(next());
    else if (a == "--trial-seconds") o.trial_seconds = std::stod(next());
    else if (a == "--json") o.json = next();
    else if (a == "--no-extras") o.extras = false;
    else if (a == "--only-extras") o.workloads = false;
    else if (a == "--lineage-gc") return LineageGc(std::stoll(next()));
    else if (a == "--metrics") return MetricsCost(std::stoll(next()));
    else {
      std::cerr << "usage: ray_microbenchmark [--num-cpus N] [--filter SUBSTR] [--trials K]"
                   " [--trial-seconds S] [--json FILE] [--no-extras] [--only-extras]"
                   " | --lineage-gc NUM_TASKS | --metrics NUM_RECORDS"
                << std::endl;
      return 2;
    }
  }
  std::printf("ray-caf microbenchmark: %d CPUs given to the cluster, %u cores on the machine\n",
              o.num_cpus, std::thread::hardware_concurrency());
  if (o.extras && Selected(o, "cold start")) {
    Figure f{"cold start: process start to first task result", "ms", {}};
    for (int t = 0; t < o.trials; ++t) f.values.push_back(RunColdStartOnce());
    Report(f);
  }
  if (o.extras) RunIdleMemory(o);
  if (o.extras) RunCrossNode(o);
  ray::RayConfig config;
  config.num_cpus = o.num_cpus;
  config.object_store_memory = int64_t{4} << 30;
  config.log_to_driver = false;
  ray::Init(config);
  RunWorkloads(o);
  if (o.extras) RunExtras(o);
  ray::Shutdown();
  if (!o.json.empty()) WriteJson(o.json, o.num_cpus);
  return 0;
}
