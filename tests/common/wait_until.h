// Polling with a deadline, for tests that wait on something another process
// or thread does: never a fixed sleep, never one look.
#ifndef RAY_TESTS_COMMON_WAIT_UNTIL_H_
#define RAY_TESTS_COMMON_WAIT_UNTIL_H_

#include <chrono>
#include <thread>

namespace ray::test {

/// Polls `done` every 10 ms until it holds or `timeout` has passed; its last answer.
template <typename Predicate>
bool WaitUntil(Predicate done, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace ray::test

#endif  // RAY_TESTS_COMMON_WAIT_UNTIL_H_
