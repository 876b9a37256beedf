// A driver for a cluster started with `ray start` (see run.sh): it connects
// through RAY_ADDRESS, runs a task on each node by custom resource, hands a
// 64 MiB object made on one node to a task on another, and keeps an actor on
// a third.
#include <ray/api.h>
#include <unistd.h>

#include <cstdio>
#include <numeric>
#include <string>
#include <vector>

/// Host-unique name of the node running this worker: its raynode's pid.
std::string WhereAmI() { return "raynode pid " + std::to_string(getppid()); }

std::vector<char> MakeData(int64_t n) {
  std::vector<char> data(static_cast<size_t>(n));
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i % 251);
  return data;
}

int64_t Sum(std::vector<char> data) {
  int64_t sum = 0;
  for (char c : data) sum += static_cast<unsigned char>(c);
  return sum;
}

class Tally {
 public:
  static Tally* Create() { return new Tally(); }
  int64_t Add(int64_t x) { return total_ += x; }
  std::string Where() { return WhereAmI(); }

 private:
  int64_t total_ = 0;
};

RAY_REMOTE(WhereAmI, MakeData, Sum, Tally::Create, &Tally::Add, &Tally::Where);

int main() {
  ray::Init();  // RAY_ADDRESS says where the head is
  std::printf("driver: a task needing no special resource ran on %s\n",
              ray::Get(ray::Task(WhereAmI).Remote())->c_str());
  for (const char* node : {"node_b", "node_c"}) {
    std::printf("driver: a task needing '%s' ran on %s\n", node,
                ray::Get(ray::Task(WhereAmI).SetResource(node, 1).Remote())->c_str());
  }
  const int64_t kSize = 64 << 20;
  auto data = ray::Task(MakeData).SetResource("node_b", 1).Remote(kSize);
  auto sum = ray::Task(Sum).SetResource("node_c", 1).Remote(data);
  int64_t expected = Sum(MakeData(kSize));
  std::printf("driver: 64 MiB made on node_b, summed on node_c: %lld (%s)\n",
              static_cast<long long>(*ray::Get(sum)), *ray::Get(sum) == expected ? "correct" : "WRONG");
  auto tally = ray::Actor(Tally::Create).SetResource("node_c", 1).Remote();
  for (int i = 1; i <= 10; ++i) tally.Task(&Tally::Add).Remote(i);
  std::printf("driver: actor on %s counted %lld\n", ray::Get(tally.Task(&Tally::Where).Remote())->c_str(),
              static_cast<long long>(*ray::Get(tally.Task(&Tally::Add).Remote(0))));
  bool ok = *ray::Get(sum) == expected && *ray::Get(tally.Task(&Tally::Add).Remote(0)) == 55;
  ray::Shutdown();
  return ok ? 0 : 1;
}
