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

RAY_REMOTE(Where);

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
