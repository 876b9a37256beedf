// A driver's raylet pushes the results of the driver's tasks to it (to its
// anchor, see session.h) instead of waiting to be asked. This is the
// bookkeeping of the returns still on their way, and how a Get waits for
// them before it falls back to asking the object manager. Plain C++ (no CAF).
#ifndef RAY_RUNTIME_SRC_PUSHED_RESULTS_H_
#define RAY_RUNTIME_SRC_PUSHED_RESULTS_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

namespace ray::runtime {

/// How a Get waiting for pushed results passes time: the runtime's waits on
/// the condition variable for real, tests decide when time is up.
class PushWaiter {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~PushWaiter() = default;
  virtual TimePoint Now() = 0;
  /// Blocks on `cv` (releasing `lock` meanwhile) until it is notified (or
  /// wakes spuriously) or `deadline` passes; false when the deadline passed.
  virtual bool WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                         TimePoint deadline) = 0;
};

/// The returns a driver awaits from its raylet, and the wait for them.
///
/// Thread safety: no lock of its own. Its owner (ReferenceCounter) holds its
/// own mutex around every call and hands that lock to Wait, because an
/// arrival changes the owner's tables (the value kept) and this set (no
/// longer awaited) in one step: a waiting Get must never see an id that is
/// no longer awaited whose value is not kept yet.
class PushedResults {
 public:
  /// A push that does not come within this bound (it should not happen:
  /// every way a task ends is delivered) leaves the rest of the wait to the
  /// object manager.
  static constexpr int64_t kPushWaitMs = 2000;
  static constexpr int64_t kSpinFromEnvironment = -1;

  struct Options {
    /// How long a Get spins (real time, lock released) for the first arrival
    /// before it sleeps: a small result usually comes back within a few
    /// hundred microseconds, and a thread that never slept needs no wakeup.
    /// 0 turns it off; kSpinFromEnvironment: RAY_GET_SPIN_US, read at the
    /// first wait of the process (400 when unset).
    int64_t spin_us = kSpinFromEnvironment;
    /// nullptr: the real clock and condition variable.
    PushWaiter* waiter = nullptr;
  };

  explicit PushedResults(Options options);
  PushedResults(const PushedResults&) = delete;
  PushedResults& operator=(const PushedResults&) = delete;

  // Every method but the constructor needs the owner's lock held.

  /// `id` is the return of a task just submitted: its result will be pushed.
  void Await(const std::string& id) { awaiting_.insert(id); }
  /// Its result arrived, or its last ref was dropped: no longer awaited.
  void Settle(const std::string& id) { awaiting_.erase(id); }
  bool Awaits(const std::string& id) const { return awaiting_.count(id) > 0; }
  /// Wakes the waiting Gets: results arrived (the owner's tables changed).
  void Notify();

  /// Waits until no id of `ids` is awaited, up to `*timeout_ms` (< 0: no
  /// limit) but never longer than kPushWaitMs; `lock` (the owner's, held) is
  /// released while waiting. True when all arrived. False when the object
  /// manager must be asked: `*timeout_ms` is then what is left of it. Throws
  /// RayTimeoutException when the caller's own timeout (<= kPushWaitMs) ran out.
  bool Wait(std::unique_lock<std::mutex>& lock, const std::vector<std::string>& ids,
            int64_t* timeout_ms);

 private:
  bool AnyAwaited(const std::vector<std::string>& ids) const;
  /// Returns, lock released meanwhile, when a result arrived or `spin_us` passed.
  void Spin(std::unique_lock<std::mutex>& lock, int64_t spin_us);

  std::unordered_set<std::string> awaiting_;  // GUARDED_BY(owner's mutex)
  std::atomic<uint64_t> arrivals_{0};          // counts Notify calls; Spin reads it unlocked
  std::condition_variable cv_;                 // notified under the owner's mutex
  const int64_t spin_us_;
  PushWaiter* const waiter_;
};

}  // namespace ray::runtime

#endif  // RAY_RUNTIME_SRC_PUSHED_RESULTS_H_
