// Ray C++ API microbenchmark: a subset of ray_perf.py's workloads, same shapes.
// Build and run with run_ray_cpp.sh (see ../NOTES.md, section 7).
//
//   ray_cpp_bench OUT_JSON --ray_address=127.0.0.1:6379
//
// Timing per workload: warm up 0.3 s, then 5 trials of >= 1 s each; a trial's
// rate is multiplier * fn_calls / elapsed; the median of the 5 is reported.
#include <ray/api.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

// --- remote code (also loaded by the C++ workers from the .so copy) ---------
int SmallValue() { return 0; }
RAY_REMOTE(SmallValue);

class BenchActor {
 public:
  static BenchActor *Create() { return new BenchActor(); }
  int SmallValue() { return 0; }
};
RAY_REMOTE(BenchActor::Create, &BenchActor::SmallValue);

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
  constexpr int kTrials = 5;
  auto start = Clock::now();
  long warm_calls = 0;
  while (Seconds(start, Clock::now()) < kWarmup) {
    fn();
    ++warm_calls;
  }
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

  // #1 single client get calls (Plasma Store): ray.get of one put object.
  {
    auto value = ray::Put(0);
    results.push_back(TimeIt("single client get calls (Plasma Store)",
                             [&] { Check(*ray::Get(value)); }));
  }
  // #2 single client put calls (Plasma Store): ray.put(0).
  results.push_back(
      TimeIt("single client put calls (Plasma Store)", [] { ray::Put(0); }));

  // #9 single client tasks sync.
  results.push_back(TimeIt("single client tasks sync", [] {
    Check(*ray::Get(ray::Task(SmallValue).Remote()));
  }));

  // #10 single client tasks async: 1000 tasks, then one Get; ops = tasks.
  results.push_back(TimeIt(
      "single client tasks async",
      [&] {
        std::vector<ray::ObjectRef<int>> refs;
        refs.reserve(kBatch);
        for (int i = 0; i < kBatch; ++i) refs.push_back(ray::Task(SmallValue).Remote());
        auto vals = ray::Get(refs);
        Check(*vals.back());
      },
      kBatch));

  // #12 1:1 actor calls sync, on a fresh actor. ray_perf.py uses num_cpus=0, but
  // the C++ API rejects SetResource("CPU", 0) ("Resource values should be
  // positive"), so the actor keeps the C++ API's default resources.
  {
    auto a = ray::Actor(BenchActor::Create).Remote();
    Check(*ray::Get(a.Task(&BenchActor::SmallValue).Remote(), 60000));  // fail, not hang
    results.push_back(TimeIt("1:1 actor calls sync", [&] {
      Check(*ray::Get(a.Task(&BenchActor::SmallValue).Remote()));
    }));
    // Free its resources: on a 2-CPU head the next actor otherwise was never
    // scheduled (the run hung at actor #2's first call).
    a.Kill();
  }
  // #13 1:1 actor calls async, on a fresh actor: 1000 calls, then Get; ops = calls.
  {
    auto a = ray::Actor(BenchActor::Create).Remote();
    Check(*ray::Get(a.Task(&BenchActor::SmallValue).Remote(), 60000));  // fail, not hang
    results.push_back(TimeIt(
        "1:1 actor calls async",
        [&] {
          std::vector<ray::ObjectRef<int>> refs;
          refs.reserve(kBatch);
          for (int i = 0; i < kBatch; ++i)
            refs.push_back(a.Task(&BenchActor::SmallValue).Remote());
          auto vals = ray::Get(refs);
          Check(*vals.back());
        },
        kBatch));
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
    out << "}, \"meta\": {\"warmup_s\": 0.3, \"trials\": 5, \"trial_s\": 1.0, "
           "\"stat\": \"median\", \"ray_cpp\": \"2.60.0\"}}\n";
    if (!out) {
      std::fprintf(stderr, "failed to write %s\n", out_path.c_str());
      ray::Shutdown();
      return 1;
    }
  }
  ray::Shutdown();
  return 0;
}
