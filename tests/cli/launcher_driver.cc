// The driver the launcher's tests run on a cluster through `ray exec`
// (tests/cli/launcher_test.cc, autoscaling_test.cc). Tasks report where they
// ran: RAY_NODE_IP and RAY_STATE_DIR, which `ray up` gives each node's
// commands and so its raynode and workers.
//   where               one task on the head (resource slot_head) and two at
//                       once on the workers (slot_worker): prints
//                       "nodes: IP,IP,IP", sorted
//   burst N SECONDS     N tasks of {CPU: 1}, each SECONDS long: prints
//                       "burst: N tasks on K nodes"
//   infeasible SECONDS  submits a {GPU: 8} task, waits SECONDS, exits
//   spans N SECONDS WAIT
//                       N tasks of {CPU: 1}, each SECONDS long, waited for
//                       WAIT seconds: prints "spans: K of N finished, at most
//                       M at once" (M from the tasks' start and end times)
#include <ray/api.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

std::string Where(int hold_ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(hold_ms));
  const char* ip = getenv("RAY_NODE_IP");
  const char* dir = getenv("RAY_STATE_DIR");
  return std::string(ip ? ip : "?") + "|" + (dir ? dir : "");
}

/// "start end" in milliseconds of the wall clock (workers share this host's).
std::string Span(int hold_ms) {
  auto now = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  long long start = now();
  std::this_thread::sleep_for(std::chrono::milliseconds(hold_ms));
  return std::to_string(start) + " " + std::to_string(now());
}

RAY_REMOTE(Where, Span);

/// The most spans ("start end") that overlap at one instant.
int MostAtOnce(const std::vector<std::string>& spans) {
  std::vector<std::pair<long long, int>> edges;  // (time, +1 start / -1 end); ends sort first
  for (const auto& span : spans) {
    long long start = std::atoll(span.c_str());
    long long end = std::atoll(span.c_str() + span.find(' '));
    edges.push_back({start, 1});
    edges.push_back({end, -1});
  }
  std::sort(edges.begin(), edges.end());
  int now = 0, most = 0;
  for (const auto& edge : edges) most = std::max(most, now += edge.second);
  return most;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  std::string mode = argv[1];
  ray::Init();  // RAY_ADDRESS, RAY_AUTH_TOKEN: what `ray exec` sets
  if (mode == "where") {
    auto head = ray::Task(Where).SetResource("slot_head", 1).Remote(0);
    auto a = ray::Task(Where).SetResource("slot_worker", 1).Remote(1500);
    auto b = ray::Task(Where).SetResource("slot_worker", 1).Remote(1500);
    std::vector<std::string> ips;
    for (auto* ref : {&head, &a, &b}) {
      std::string where = *ray::Get(*ref);
      ips.push_back(where.substr(0, where.find('|')));
    }
    std::sort(ips.begin(), ips.end());
    std::cout << "nodes: " << ips[0] << "," << ips[1] << "," << ips[2] << std::endl;
  } else if (mode == "burst" && argc == 4) {
    int n = std::atoi(argv[2]);
    int ms = static_cast<int>(std::atof(argv[3]) * 1000);
    std::vector<ray::ObjectRef<std::string>> refs;
    for (int i = 0; i < n; ++i) refs.push_back(ray::Task(Where).SetResource("CPU", 1).Remote(ms));
    std::set<std::string> nodes;
    for (auto& ref : refs) nodes.insert(*ray::Get(ref));
    std::cout << "burst: " << n << " tasks on " << nodes.size() << " nodes" << std::endl;
  } else if (mode == "spans" && argc == 5) {
    int n = std::atoi(argv[2]);
    int ms = static_cast<int>(std::atof(argv[3]) * 1000);
    std::vector<ray::ObjectRef<std::string>> refs;
    for (int i = 0; i < n; ++i) refs.push_back(ray::Task(Span).SetResource("CPU", 1).Remote(ms));
    auto waited = ray::Wait(refs, n, static_cast<int>(std::atof(argv[4]) * 1000));
    std::vector<std::string> spans;
    for (auto& ref : waited.ready) spans.push_back(*ray::Get(ref));
    std::cout << "spans: " << spans.size() << " of " << n << " finished, at most "
              << MostAtOnce(spans) << " at once" << std::endl;
  } else if (mode == "infeasible" && argc == 3) {
    auto ref = ray::Task(Where).SetResource("GPU", 8).Remote(0);
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(std::atof(argv[2]) * 1000)));
    std::cout << "infeasible: submitted" << std::endl;
  } else {
    return 2;
  }
  ray::Shutdown();
  return 0;
}
