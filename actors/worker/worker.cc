#include "actors/worker/worker.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "actors/common/atoms.h"

namespace ray::worker {
namespace {

/// Tasks handed over by the actor, run in order by one thread.
class TaskQueue {
 public:
  void Push(proto::ExecRequest request) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(request));
    }
    cv_.notify_one();
  }
  /// Blocks for the next task; false once stopped.
  bool Pop(proto::ExecRequest* out) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return stopped_ || !queue_.empty(); });
    if (stopped_) return false;
    *out = std::move(queue_.front());
    queue_.pop_front();
    return true;
  }
  /// Removes every queued task that has not started.
  std::vector<std::string> Steal() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> ids;
    for (const auto& r : queue_) ids.push_back(r.spec.task_id);
    queue_.clear();
    return ids;
  }
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopped_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<proto::ExecRequest> queue_;  // GUARDED_BY(mu_)
  bool stopped_ = false;                  // GUARDED_BY(mu_)
};

struct State {
  std::shared_ptr<TaskQueue> queue;
  std::thread executor;
  caf::actor raylet;
  static inline const char* name = "worker";
};

caf::behavior Behavior(caf::stateful_actor<State>* self, std::shared_ptr<TaskExecutor> executor,
                       caf::actor raylet) {
  auto queue = std::make_shared<TaskQueue>();
  self->state.queue = queue;
  self->state.raylet = raylet;
  self->monitor(raylet);
  self->state.executor = std::thread([queue, executor, raylet] {
    proto::ExecRequest request;
    while (queue->Pop(&request)) {
      proto::ExecReply reply = executor->Execute(request);
      bool last = reply.exiting || reply.exit_actor;
      // max_calls reached: what is still queued goes back to the raylet.
      if (reply.exiting) reply.returned = queue->Steal();
      caf::anon_send(raylet, atoms::done::value, proto::Encode(reply));
      if (last) {
        // Run nothing more; the raylet answers with exit_now once it has the reply,
        // so the reply cannot be lost with the process.
        queue->Stop();
        return;
      }
    }
  });
  self->attach_functor([queue, self] {
    queue->Stop();
    // The thread may be inside user code; it ends with the process.
    if (self->state.executor.joinable()) self->state.executor.detach();
  });
  self->set_down_handler([=](const caf::down_msg&) { self->quit(); });
  return {
      [=](atoms::exec, const std::string& bytes) {
        self->state.queue->Push(proto::Decode<proto::ExecRequest>(bytes));
      },
      [=](atoms::steal) -> std::string { return proto::Encode(self->state.queue->Steal()); },
      [=](atoms::exit_now) { self->quit(); },
  };
}

}  // namespace

caf::actor Spawn(caf::actor_system& system, std::shared_ptr<TaskExecutor> executor,
                 caf::actor raylet) {
  return system.spawn(Behavior, std::move(executor), std::move(raylet));
}

}  // namespace ray::worker
