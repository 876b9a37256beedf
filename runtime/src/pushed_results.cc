#include "runtime/src/pushed_results.h"

#include <algorithm>
#include <cstdlib>

#include "ray/api/ray_exception.h"

namespace ray::runtime {
namespace {

class RealWaiter : public PushWaiter {
 public:
  TimePoint Now() override { return std::chrono::steady_clock::now(); }
  bool WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 TimePoint deadline) override {
    return cv.wait_until(lock, deadline) == std::cv_status::no_timeout;
  }
};

PushWaiter* RealWaiterInstance() {
  static RealWaiter waiter;
  return &waiter;
}

int64_t SpinFromEnvironment() {
  static const int64_t spin_us = [] {
    const char* v = std::getenv("RAY_GET_SPIN_US");
    return v ? std::max<int64_t>(0, std::atoll(v)) : int64_t{400};
  }();
  return spin_us;
}

}  // namespace

PushedResults::PushedResults(Options options)
    : spin_us_(options.spin_us),
      waiter_(options.waiter ? options.waiter : RealWaiterInstance()) {}

void PushedResults::Notify() {
  arrivals_.fetch_add(1, std::memory_order_release);
  cv_.notify_all();
}

bool PushedResults::AnyAwaited(const std::vector<std::string>& ids) const {
  return std::any_of(ids.begin(), ids.end(),
                     [&](const std::string& id) { return awaiting_.count(id) > 0; });
}

void PushedResults::Spin(std::unique_lock<std::mutex>& lock, int64_t spin_us) {
  const uint64_t seen = arrivals_.load(std::memory_order_acquire);
  lock.unlock();
  const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us);
  while (arrivals_.load(std::memory_order_acquire) == seen &&
         std::chrono::steady_clock::now() < until) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  lock.lock();
}

bool PushedResults::Wait(std::unique_lock<std::mutex>& lock, const std::vector<std::string>& ids,
                         int64_t* timeout_ms) {
  const int64_t timeout = *timeout_ms;
  const int64_t wait_ms = timeout < 0 ? kPushWaitMs : std::min(timeout, kPushWaitMs);
  const int64_t spin_us = spin_us_ == kSpinFromEnvironment ? SpinFromEnvironment() : spin_us_;
  if (spin_us > 0 && AnyAwaited(ids)) Spin(lock, spin_us);
  const auto deadline = waiter_->Now() + std::chrono::milliseconds(wait_ms);
  bool all_arrived = !AnyAwaited(ids);
  while (!all_arrived) {
    if (!waiter_->WaitUntil(cv_, lock, deadline)) {
      all_arrived = !AnyAwaited(ids);
      break;
    }
    all_arrived = !AnyAwaited(ids);
  }
  if (all_arrived) return true;
  if (timeout >= 0 && timeout <= kPushWaitMs) {
    throw RayTimeoutException("Get timed out after " + std::to_string(timeout) +
                              " ms waiting for " + std::to_string(ids.size()) + " object(s)");
  }
  if (timeout > 0) *timeout_ms = timeout - wait_ms;  // what is left for the object manager
  return false;
}

}  // namespace ray::runtime
