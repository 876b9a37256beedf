// A typed actor: state kept between calls, calls in submission order, a named
// actor looked up from a task, and a restart after the actor's process dies.
#include <ray/api.h>

#include <cstdlib>
#include <iostream>

class Counter {
 public:
  explicit Counter(int start) : value_(start) {}
  static Counter* Create(int start) { return new Counter(start); }
  int Add(int x) { return value_ += x; }
  int Value() const { return value_; }
  int Crash() { std::abort(); }

 private:
  int value_;
};

// A task that finds the actor by name and calls it.
int AddFromTask(int x) {
  auto counter = ray::GetActor<Counter>("shared-counter");
  if (!counter) throw std::runtime_error("no actor named shared-counter");
  return *ray::Get(counter->Task(&Counter::Add).Remote(x));
}

RAY_REMOTE(Counter::Create, &Counter::Add, &Counter::Value, &Counter::Crash, AddFromTask);

int main(int argc, char** argv) {
  ray::RayConfig config;
  ray::Init(config, argc, argv);
  auto counter = ray::Actor(Counter::Create).SetName("shared-counter").SetMaxRestarts(1).Remote(0);
  for (int i = 1; i <= 3; ++i) {
    std::cout << "Add(" << i << ") -> " << *ray::Get(counter.Task(&Counter::Add).Remote(i))
              << std::endl;
  }
  std::cout << "AddFromTask(10) -> " << *ray::Get(ray::Task(AddFromTask).Remote(10)) << std::endl;
  try {
    ray::Get(counter.Task(&Counter::Crash).Remote());
  } catch (const ray::RayActorException& e) {
    std::cout << "call failed as expected: " << e.what() << std::endl;
  }
  // SetMaxRestarts(1): the constructor ran again, so the state starts over.
  std::cout << "after restart, Value() -> " << *ray::Get(counter.Task(&Counter::Value).Remote())
            << std::endl;
  ray::Shutdown();
  return 0;
}
