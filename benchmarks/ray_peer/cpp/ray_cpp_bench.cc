// Ray C++ API microbenchmark: a subset of ray_perf.py's workloads, same shapes.
// Build and run with run_ray_cpp.sh (see ../NOTES.md, section 7).
//
//   ray_cpp_bench OUT_JSON --ray_address=127.0.0.1:6379
//
// Timing per workload: warm up 0.3 s, then 5 trials of >= 1 s each (3 if one call
// takes over 5 s); a trial's rate is multiplier * fn_calls / elapsed; the median
// is reported. RAY_CPP_BENCH_ONLY=substr,substr runs a subset.
#include <ray/api.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

// --- remote code (also loaded by the C++ workers from the .so copy) ---------
int SmallValue() { return 0; }
RAY_REMOTE(SmallValue);

// ray_perf.py's Actor: small_value(), and small_value_batch(n), which submits n
// SmallValue *tasks* from inside the actor and gets them (nested calls).
class BenchActor {
 public:
  static BenchActor *Create() { return new BenchActor(); }
  int SmallValue() { return 0; }
  int SmallValueBatch(int n) {
    std::vector<ray::ObjectRef<int>> refs;
    refs.reserve(n);
    for (int i = 0; i < n; ++i) refs.push_back(ray::Task(::SmallValue).Remote());
    auto vals = ray::Get(refs);
    return vals.empty() ? 0 : *vals.back();
  }
};
RAY_REMOTE(BenchActor::Create, &BenchActor::SmallValue, &BenchActor::SmallValueBatch);

// Actor handles passed as task/actor arguments do not work in ray-cpp 2.60: the
// handle is only its id, and the first call through it in the worker dies with
// "Check failed: it != actor_handles_.end() Cannot find an actor handle of id".
// So the servers are named actors, their names are passed, and the worker looks
// them up with ray::GetActor (which registers the handle in its core worker).
std::vector<ray::ActorHandle<BenchActor>> LookUp(const std::vector<std::string> &names) {
  std::vector<ray::ActorHandle<BenchActor>> out;
  for (auto &n : names) {
    auto h = ray::GetActor<BenchActor>(n);
    if (!h) throw std::runtime_error("no actor named " + n);
    out.push_back(*h);
  }
  return out;
}

// ray_perf.py's Client(servers): small_value_batch(n) calls small_value n times
// on each server, then one get on all of them.
class BenchClient {
 public:
  explicit BenchClient(std::vector<std::string> servers) : servers_(LookUp(servers)) {}
  static BenchClient *Create(std::vector<std::string> servers) {
    return new BenchClient(std::move(servers));
  }
  int SmallValueBatch(int n) {
    std::vector<ray::ObjectRef<int>> refs;
    refs.reserve(static_cast<size_t>(n) * servers_.size());
    for (auto &s : servers_)
      for (int i = 0; i < n; ++i) refs.push_back(s.Task(&BenchActor::SmallValue).Remote());
    auto vals = ray::Get(refs);
    return vals.empty() ? 0 : *vals.back();
  }

 private:
  std::vector<ray::ActorHandle<BenchActor>> servers_;
};
RAY_REMOTE(BenchClient::Create, &BenchClient::SmallValueBatch);

// ray_perf.py's do_put_small: ray.put(0) x100 inside a task.
int DoPutSmall() {
  for (int i = 0; i < 100; ++i) ray::Put(0);
  return 0;
}
RAY_REMOTE(DoPutSmall);

// ray_perf.py's work(actors) for n:n: 5000 calls spread over the actors, one get.
int NnWork(std::vector<std::string> names) {
  auto actors = LookUp(names);
  std::vector<ray::ObjectRef<int>> refs;
  refs.reserve(5000);
  for (int i = 0; i < 5000; ++i)
    refs.push_back(actors[i % actors.size()].Task(&BenchActor::SmallValue).Remote());
  auto vals = ray::Get(refs);
  return vals.empty() ? 0 : *vals.back();
}
RAY_REMOTE(NnWork);

// --- harness -----------------------------------------------------------------
namespace {
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

struct Result {
  std::string name;
  double median;
  std::vector<double> trials;
};

Result TimeIt(const std::string &name, const std::function<void()> &fn,
              double multiplier = 1.0) {
  constexpr double kWarmup = 0.3, kTrial = 1.0;
  int kTrials = 5;
  auto start = Clock::now();
  long warm_calls = 0;
  while (Seconds(start, Clock::now()) < kWarmup) {
    fn();
    ++warm_calls;
  }
  // A workload whose single call takes over 5 s ("multi client tasks async",
  // 40 000 tasks per call) gets 3 trials, to bound the run time.
  if (warm_calls == 1 && Seconds(start, Clock::now()) > 5.0) kTrials = 3;
  std::vector<double> rates;
  for (int t = 0; t < kTrials; ++t) {
    long calls = 0;
    auto t0 = Clock::now();
    double el = 0;
    do {
      fn();
      ++calls;
      el = Seconds(t0, Clock::now());
    } while (el < kTrial);
    rates.push_back(multiplier * calls / el);
  }
  std::vector<double> sorted = rates;
  std::sort(sorted.begin(), sorted.end());
  Result r{name, sorted[kTrials / 2], rates};
  std::fprintf(stderr, "%s per second %.2f (trials:", name.c_str(), r.median);
  for (double x : rates) std::fprintf(stderr, " %.1f", x);
  std::fprintf(stderr, ") warmup_calls=%ld\n", warm_calls);
  return r;
}

// RAY_CPP_BENCH_ONLY: comma-separated substrings; run only workloads whose name
// contains one of them (for testing). Unset or empty: run everything.
bool Selected(const std::string &name) {
  const char *env = std::getenv("RAY_CPP_BENCH_ONLY");
  if (env == nullptr || *env == 0) return true;
  std::string all(env);
  size_t pos = 0;
  while (pos <= all.size()) {
    size_t comma = all.find(',', pos);
    if (comma == std::string::npos) comma = all.size();
    std::string part = all.substr(pos, comma - pos);
    if (!part.empty() && name.find(part) != std::string::npos) return true;
    pos = comma + 1;
  }
  return false;
}

void Check(int v) {
  if (v != 0) {
    std::fprintf(stderr, "unexpected value %d\n", v);
    std::exit(3);
  }
}
}  // namespace

int main(int argc, char **argv) {
  std::string out_path;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--", 2) != 0) {
      out_path = argv[i];
      break;
    }
  }
  if (out_path.empty()) {
    std::fprintf(stderr, "usage: %s OUT_JSON [--ray_address=HOST:PORT ...]\n", argv[0]);
    return 2;
  }

  ray::RayConfig config;
  ray::Init(config, argc, argv);

  std::vector<Result> results;
  constexpr int kBatch = 1000;
  // ray_perf.py's n_cpu (cpu_count() // 2); run_ray_cpp.sh sets it as ray_peer.py
  // does (max(2, NUM_CPUS) // 2).
  const char *ncpu_env = std::getenv("RAY_CPP_BENCH_N_CPU");
  const int n_cpu = std::max(1, ncpu_env ? std::atoi(ncpu_env) : 1);
  // ray_perf.py's actors have num_cpus=0; the C++ API rejects 0 ("Resource values
  // should be positive"). The actors of the nested workloads get this small
  // fraction instead, so that they do not take the CPUs their tasks need.
  constexpr double kActorCpu = 0.01;
  auto submit_batch = [&] {
    std::vector<ray::ObjectRef<int>> refs;
    refs.reserve(kBatch);
    for (int i = 0; i < kBatch; ++i) refs.push_back(ray::Task(SmallValue).Remote());
    return refs;
  };
  auto first_call = [](ray::ActorHandle<BenchActor> &a) {
    Check(*ray::Get(a.Task(&BenchActor::SmallValue).Remote(), 60000));  // fail, not hang
  };

  // #1 single client get calls (Plasma Store): ray.get of one put object.
  if (Selected("single client get calls (Plasma Store)")) {
    auto value = ray::Put(0);
    results.push_back(TimeIt("single client get calls (Plasma Store)",
                             [&] { Check(*ray::Get(value)); }));
  }
  // #2 single client put calls (Plasma Store): ray.put(0).
  if (Selected("single client put calls (Plasma Store)"))
    results.push_back(
        TimeIt("single client put calls (Plasma Store)", [] { ray::Put(0); }));

  // #3 multi client put calls (Plasma Store): 10 tasks, each ray.put(0) x100; x1000.
  if (Selected("multi client put calls (Plasma Store)"))
    results.push_back(TimeIt(
        "multi client put calls (Plasma Store)",
        [] {
          std::vector<ray::ObjectRef<int>> refs;
          for (int i = 0; i < 10; ++i) refs.push_back(ray::Task(DoPutSmall).Remote());
          auto vals = ray::Get(refs);
          Check(*vals.back());
        },
        1000));

  // #4 single client put gigabytes: put 800 MiB (ray_perf: np.zeros(100M, int64));
  // here a std::string of 800 MiB, which msgpack packs as raw bytes. x0.8 "GB".
  if (Selected("single client put gigabytes")) {
    std::string big(size_t{100} * 1024 * 1024 * 8, '\0');
    results.push_back(TimeIt(
        "single client put gigabytes", [&] { ray::Put(big); }, 0.8));
  }

  // #5 single client tasks and get batch: 1000 tasks, one Get; unit = batches.
  if (Selected("single client tasks and get batch"))
    results.push_back(TimeIt("single client tasks and get batch", [&] {
      auto vals = ray::Get(submit_batch());
      Check(*vals.back());
    }));

  // #8 single client wait 1k refs: 1000 tasks, then Wait(num=1) until none is
  // left, one ready ref off the list per call; unit = rounds.
  if (Selected("single client wait 1k refs"))
    results.push_back(TimeIt("single client wait 1k refs", [&] {
      auto not_ready = submit_batch();
      while (!not_ready.empty()) {
        auto r = ray::Wait(not_ready, 1, 60000);
        if (r.ready.empty()) {
          std::fprintf(stderr, "wait 1k refs: Wait timed out\n");
          std::exit(3);
        }
        not_ready.assign(r.unready.begin(), r.unready.end());
      }
    }));

  // #9 single client tasks sync.
  if (Selected("single client tasks sync"))
    results.push_back(TimeIt("single client tasks sync", [] {
      Check(*ray::Get(ray::Task(SmallValue).Remote()));
    }));

  // #10 single client tasks async: 1000 tasks, then one Get; ops = tasks.
  if (Selected("single client tasks async"))
    results.push_back(TimeIt(
        "single client tasks async",
        [&] {
          auto vals = ray::Get(submit_batch());
          Check(*vals.back());
        },
        kBatch));

  // #11 multi client tasks async: 4 actors each submit kMultiTasks SmallValue
  // tasks from inside the actor and get them; ops = tasks.
  // Off by default: it ran alone (953 tasks/s), but hung in the full run after
  // the other workloads (no error logged, 127 C++ workers had been started).
  // RAY_CPP_BENCH_MULTI_CLIENT_TASKS=1 turns it on.
  const char *mct_env = std::getenv("RAY_CPP_BENCH_MULTI_CLIENT_TASKS");
  if (mct_env && std::string(mct_env) == "1" && Selected("multi client tasks async")) {
    const char *mt_env = std::getenv("RAY_CPP_BENCH_MULTI_TASKS");
    const int kMultiTasks = mt_env ? std::atoi(mt_env) : 10000;
    std::vector<ray::ActorHandle<BenchActor>> actors;
    for (int i = 0; i < 4; ++i)
      actors.push_back(ray::Actor(BenchActor::Create).SetResource("CPU", kActorCpu).Remote());
    for (auto &a : actors) first_call(a);
    results.push_back(TimeIt(
        "multi client tasks async",
        [&] {
          std::vector<ray::ObjectRef<int>> refs;
          for (auto &a : actors)
            refs.push_back(a.Task(&BenchActor::SmallValueBatch).Remote(kMultiTasks));
          auto vals = ray::Get(refs);
          Check(*vals.back());
        },
        4.0 * kMultiTasks));
    for (auto &a : actors) a.Kill();
  }

  // #12 1:1 actor calls sync, on a fresh actor. ray_perf.py uses num_cpus=0, but
  // the C++ API rejects SetResource("CPU", 0) ("Resource values should be
  // positive"), so the actor keeps the C++ API's default resources.
  if (Selected("1:1 actor calls sync")) {
    auto a = ray::Actor(BenchActor::Create).Remote();
    first_call(a);
    results.push_back(TimeIt("1:1 actor calls sync", [&] {
      Check(*ray::Get(a.Task(&BenchActor::SmallValue).Remote()));
    }));
    // Free its resources: on a 2-CPU head the next actor otherwise was never
    // scheduled (the run hung at actor #2's first call).
    a.Kill();
  }
  // #13 1:1 actor calls async, on a fresh actor: 1000 calls, then Get; ops = calls.
  // #14 1:1 actor calls concurrent: the same on a max_concurrency=16 actor.
  for (int concurrent = 0; concurrent < 2; ++concurrent) {
    const std::string name =
        concurrent ? "1:1 actor calls concurrent" : "1:1 actor calls async";
    if (!Selected(name)) continue;
    auto creator = ray::Actor(BenchActor::Create);
    if (concurrent) creator.SetMaxConcurrency(16);
    auto a = creator.Remote();
    first_call(a);
    results.push_back(TimeIt(
        name,
        [&] {
          std::vector<ray::ObjectRef<int>> refs;
          refs.reserve(kBatch);
          for (int i = 0; i < kBatch; ++i)
            refs.push_back(a.Task(&BenchActor::SmallValue).Remote());
          auto vals = ray::Get(refs);
          Check(*vals.back());
        },
        kBatch));
    a.Kill();
  }

  // #15 1:n actor calls async: n_cpu servers, one Client actor that calls each
  // server 5000 times (nested calls from the client); ops = calls.
  // Both hang on ray-cpp 2.60 (see NOTES.md): a worker that has more than about
  // 100-300 actor calls in flight never gets their results (batch(100) took
  // 25 ms, batch(300) timed out after 30 s). Off unless RAY_CPP_BENCH_NESTED_ACTORS=1.
  const char *nested_env = std::getenv("RAY_CPP_BENCH_NESTED_ACTORS");
  const bool nested_actors = nested_env && std::string(nested_env) == "1";
  // n_cpu named actors (names: prefix + index), each answered its first call.
  auto make_named = [&](const std::string &prefix, std::vector<std::string> &names) {
    std::vector<ray::ActorHandle<BenchActor>> actors;
    for (int i = 0; i < n_cpu; ++i) {
      names.push_back(prefix + std::to_string(i));
      actors.push_back(ray::Actor(BenchActor::Create)
                           .SetName(names.back())
                           .SetResource("CPU", kActorCpu)
                           .Remote());
    }
    for (auto &a : actors) first_call(a);
    return actors;
  };
  if (nested_actors && Selected("1:n actor calls async")) {
    std::vector<std::string> names;
    auto servers = make_named("bench_1n_server_", names);
    auto client =
        ray::Actor(BenchClient::Create).SetResource("CPU", kActorCpu).Remote(names);
    Check(*ray::Get(client.Task(&BenchClient::SmallValueBatch).Remote(1), 60000));
    results.push_back(TimeIt(
        "1:n actor calls async",
        [&] { Check(*ray::Get(client.Task(&BenchClient::SmallValueBatch).Remote(5000))); },
        5000.0 * n_cpu));
    client.Kill();
    for (auto &s : servers) s.Kill();
  }

  // #16 n:n actor calls async: n_cpu actors; 4 NnWork tasks (1 CPU each), each
  // makes 5000 calls spread over the actors; ops = calls.
  if (nested_actors && Selected("n:n actor calls async")) {
    std::vector<std::string> names;
    auto actors = make_named("bench_nn_actor_", names);
    results.push_back(TimeIt(
        "n:n actor calls async",
        [&] {
          std::vector<ray::ObjectRef<int>> refs;
          for (int i = 0; i < 4; ++i) refs.push_back(ray::Task(NnWork).Remote(names));
          auto vals = ray::Get(refs);
          Check(*vals.back());
        },
        20000));
    for (auto &a : actors) a.Kill();
  }

  {
    std::ofstream out(out_path);
    out << "{\"cpp_microbenchmark\": {";
    for (size_t i = 0; i < results.size(); ++i) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.2f", results[i].median);
      out << (i ? ", " : "") << "\"" << results[i].name << "\": " << buf;
    }
    out << "}, \"cpp_microbenchmark_trials\": {";
    for (size_t i = 0; i < results.size(); ++i) {
      out << (i ? ", " : "") << "\"" << results[i].name << "\": [";
      for (size_t j = 0; j < results[i].trials.size(); ++j) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.2f", results[i].trials[j]);
        out << (j ? ", " : "") << buf;
      }
      out << "]";
    }
    out << "}, \"meta\": {\"warmup_s\": 0.3, \"trials\": \"5 (3 if one call takes > 5 s)\", "
           "\"trial_s\": 1.0, \"stat\": \"median\", \"ray_cpp\": \"2.60.0\", \"n_cpu\": "
        << n_cpu << ", \"nested_actor_workloads\": " << (nested_actors ? "true" : "false")
        << "}}\n";
    if (!out) {
      std::fprintf(stderr, "failed to write %s\n", out_path.c_str());
      ray::Shutdown();
      return 1;
    }
  }
  ray::Shutdown();
  return 0;
}
