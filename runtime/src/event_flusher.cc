#include "runtime/src/event_flusher.h"

#include <utility>

namespace ray::runtime {

void EventFlusher::FlushNow(const Send& send) {
  events::Batch batch = events::Recorder::Instance().Take();
  if (batch.events.empty() && batch.dropped == 0) return;
  send(std::move(batch));
}

void EventFlusher::Start(Send send, std::chrono::milliseconds period,
                         std::function<void()> tick) {
  Stop();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this, send = std::move(send), period, tick = std::move(tick)] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, period, [this] { return stopping_; })) {
      lock.unlock();
      FlushNow(send);
      if (tick) tick();
      lock.lock();
    }
  });
}

void EventFlusher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace ray::runtime
