// Sends this process's profile events (events::Recorder) about once a
// second, from a thread of its own, through `send` (the Session's: to the
// node's raylet). Plain C++: no CAF.
#ifndef RAY_RUNTIME_SRC_EVENT_FLUSHER_H_
#define RAY_RUNTIME_SRC_EVENT_FLUSHER_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "actors/common/profile_events.h"

namespace ray::runtime {

class EventFlusher {
 public:
  using Send = std::function<void(events::Batch batch)>;
  static constexpr std::chrono::milliseconds kPeriod{1000};

  EventFlusher() = default;
  ~EventFlusher() { Stop(); }
  EventFlusher(const EventFlusher&) = delete;
  EventFlusher& operator=(const EventFlusher&) = delete;

  /// Starts the thread; `send` gets each non-empty batch, and `tick` (when
  /// given) runs after it every period.
  void Start(Send send, std::chrono::milliseconds period = kPeriod,
             std::function<void()> tick = nullptr);
  /// Stops the thread (without a last flush: see FlushNow).
  void Stop();
  /// The events recorded so far, through `send` now (on the caller's thread).
  static void FlushNow(const Send& send);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace ray::runtime

#endif  // RAY_RUNTIME_SRC_EVENT_FLUSHER_H_
