// The driver of tests/cli/observe_test.cc, on a three-node `ray start`
// cluster whose nodes have the custom resources node_a (head), node_b and
// node_c: nested tasks across nodes, an actor that prints, a ray::Profile
// span, an object kept in shared memory and a task blocked in a function
// with a distinctive name, and one that no node can run. It writes what the test checks against to
// argv[1] (one JSON line), then waits until the file argv[2] exists.
#include <ray/api.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

/// Returns its worker's pid.
int Inner() {
  auto span = ray::Profile("inner_work", {{"name", "inner span"}});
  return static_cast<int>(getpid());
}

/// Runs Inner on node_c and returns both workers' pids: "outer,inner".
std::string Outer() {
  int inner_pid = *ray::Get(ray::Task(Inner).SetResource("node_c", 1).Remote());
  return std::to_string(getpid()) + "," + std::to_string(inner_pid);
}

/// Blocks until its worker is killed (job end): `ray stack` must show this
/// name. Prints a tick a second, for `ray logs --follow`.
__attribute__((noinline)) int ObserveTestBlockedInHere(int seconds) {
  for (int i = 0; i < seconds * 10; ++i) {
    if (i % 10 == 0) std::cout << "blocked tick " << i / 10 << std::endl;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return seconds;
}

/// Fails, for the dashboard's list of failed tasks.
int FailVisibly() { throw std::runtime_error("dashboard-visible failure"); }

class Talker {
 public:
  static Talker* Create() { return new Talker(); }
  int Say(std::string marker) {
    std::cout << "talker says " << marker << std::endl;
    return static_cast<int>(getpid());
  }
};

RAY_REMOTE(Inner, Outer, FailVisibly, ObserveTestBlockedInHere, Talker::Create, &Talker::Say);

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  ray::Init();  // RAY_ADDRESS
  std::string pids = *ray::Get(ray::Task(Outer).SetResource("node_b", 1).Remote());
  auto talker = ray::Actor(Talker::Create).SetResource("node_c", 1).SetName("talker").Remote();
  try {
    ray::Get(ray::Task(FailVisibly).Remote());
  } catch (const ray::RayTaskException&) {
    // Expected: the failure is what the dashboard shows.
  }
  int actor_pid = *ray::Get(talker.Task(&Talker::Say).Remote(std::string("observe-marker-7")));
  std::vector<char> blob(3 << 20, 'x');
  auto kept = ray::Put(blob);
  auto blocked = ray::Task(ObserveTestBlockedInHere).SetResource("node_a", 1).Remote(600);
  auto infeasible = ray::Task(ObserveTestBlockedInHere).SetNumGpus(8).Remote(1);  // no node has GPUs
  {
    auto span = ray::Profile("load", {{"name", "shard 3"}, {"cname", "good"}});
    span.SetAttribute("rows", "1200");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  try {
    auto span = ray::Profile("failing");
    throw std::runtime_error("the span saw this");
  } catch (const std::exception&) {
  }
  {
    std::ofstream out(argv[1]);
    out << "{\"outer_pid\":" << pids.substr(0, pids.find(','))
        << ",\"inner_pid\":" << pids.substr(pids.find(',') + 1) << ",\"actor_pid\":" << actor_pid << ",\"actor_id\":\"" << ray::internal::ToHex(talker.ID())
        << "\",\"object_id\":\"" << kept.Hex() << "\",\"webui_url\":\"" << ray::GetWebuiUrl()
        << "\"}" << std::endl;
  }
  struct stat st;
  while (stat(argv[2], &st) != 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ray::Shutdown();
  return 0;
}
