// Actors shared by lifetime_test.cc (the test binary, a driver) and
// lifetime_driver.cc (another driver, whose workers run them): registered by the
// same RAY_REMOTE in both, so either can call what the other created.
#ifndef RAY_TESTS_CLUSTER_LIFETIME_ACTORS_H_
#define RAY_TESTS_CLUSTER_LIFETIME_ACTORS_H_

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>

#include <ray/api.h>

namespace lifetime {

class Keeper {
 public:
  static Keeper* Create(int start) { return new Keeper(start); }
  int Add(int x) { return total_ += x; }
  std::string Namespace() { return ray::GetNamespace(); }
  int Pid() { return static_cast<int>(getpid()); }

 private:
  explicit Keeper(int start) : total_(start) {}
  int total_;
};

/// Creates actors of its own, which it owns.
class Parent {
 public:
  static Parent* Create() { return new Parent(); }
  ray::ActorHandle<Keeper> MakeChild(bool detached) {
    auto child = ray::Actor(Keeper::Create)
                     .SetLifetime(detached ? ray::ActorLifetime::DETACHED
                                           : ray::ActorLifetime::NON_DETACHED)
                     .Remote(10);
    ray::Get(child.Task(&Keeper::Add).Remote(0));  // alive before the handle leaves
    return child;
  }
};

/// Meet(n, ms) returns true once n calls are inside Meet at the same time,
/// false when `ms` pass first: n calls can only all return true together.
class Rendezvous {
 public:
  static Rendezvous* Create() { return new Rendezvous(); }
  bool Meet(int n, int timeout_ms) {
    std::unique_lock<std::mutex> lock(mu_);
    ++arrived_;
    cv_.notify_all();
    return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return arrived_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int arrived_ = 0;
};

inline std::string NamespaceOfTask() { return ray::GetNamespace(); }

}  // namespace lifetime

RAY_REMOTE(lifetime::Keeper::Create, &lifetime::Keeper::Add, &lifetime::Keeper::Namespace,
           &lifetime::Keeper::Pid, lifetime::Parent::Create, &lifetime::Parent::MakeChild,
           lifetime::Rendezvous::Create, &lifetime::Rendezvous::Meet, lifetime::NamespaceOfTask);

#endif  // RAY_TESTS_CLUSTER_LIFETIME_ACTORS_H_
