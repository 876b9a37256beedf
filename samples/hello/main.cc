// Hello tasks: remote functions, ObjectRef arguments, Put/Get/Wait, an actor.
// Runs on an embedded one-node cluster: no other command needed.
#include <ray/api.h>

#include <iostream>
#include <string>
#include <vector>

int Square(int x) { return x * x; }
int Add(int a, int b) { return a + b; }
std::string Greet(const std::string& name) { return "hello, " + name; }

class Counter {
 public:
  explicit Counter(int start) : value_(start) {}
  static Counter* Create(int start) { return new Counter(start); }
  int Increment(int by) { return value_ += by; }

 private:
  int value_;
};

RAY_REMOTE(Square, Add, Greet, Counter::Create, &Counter::Increment);

int main(int argc, char** argv) {
  ray::RayConfig config;
  ray::Init(config, argc, argv);

  // Tasks run in worker processes; results come back as ObjectRefs.
  std::vector<ray::ObjectRef<int>> squares;
  for (int i = 0; i < 8; ++i) squares.push_back(ray::Task(Square).Remote(i));
  int sum = 0;
  for (const auto& value : ray::Get(squares)) sum += *value;
  std::cout << "sum of squares 0..7 = " << sum << std::endl;

  // An ObjectRef passed to a task is resolved to its value before the task runs.
  auto three = ray::Task(Add).Remote(1, 2);
  auto seven = ray::Task(Add).Remote(three, 4);
  std::cout << "1 + 2 + 4 = " << *ray::Get(seven) << std::endl;

  auto name = ray::Put(std::string("ray on caf"));
  std::cout << *ray::Get(ray::Task(Greet).Remote(name)) << std::endl;

  // An actor keeps state between calls, which run in submission order.
  auto counter = ray::Actor(Counter::Create).Remote(0);
  ray::ObjectRef<int> last;
  for (int i = 1; i <= 4; ++i) last = counter.Task(&Counter::Increment).Remote(i);
  std::cout << "counter after 1+2+3+4 = " << *ray::Get(last) << std::endl;

  auto waited = ray::Wait(squares, 8, 1000);
  std::cout << "ready: " << waited.ready.size() << " of " << squares.size() << std::endl;

  ray::Shutdown();
  return 0;
}
