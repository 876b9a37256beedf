#include "actors/worker/worker.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "actors/common/process_report.h"
#include "actors/common/profile_events.h"
#include "actors/net/atoms.h"
#include "actors/interfaces/raylet.h"
#include "actors/interfaces/worker.h"
#include "actors/net/front_door.h"
#include "actors/net/safe_behavior.h"

namespace ray::worker {
namespace {

/// A task handed over by the actor; `reply_to` is set for a direct call.
struct Item {
  proto::ExecRequest request;
  caf::actor reply_to;
};

/// Tasks handed over by the actor, run in order by one thread.
class TaskQueue {
 public:
  void Push(Item item) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(item));
    }
    cv_.notify_one();
  }
  /// Blocks for the next task; false once stopped.
  bool Pop(Item* out) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return stopped_ || !queue_.empty(); });
    if (stopped_) return false;
    *out = std::move(queue_.front());
    queue_.pop_front();
    return true;
  }
  /// Removes every queued task the raylet sent that has not started (direct
  /// calls stay: their callers track them).
  std::vector<std::string> Steal() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> ids;
    std::deque<Item> kept;
    for (auto& item : queue_) {
      if (item.reply_to) {
        kept.push_back(std::move(item));
      } else {
        ids.push_back(item.request.spec.task_id);
      }
    }
    queue_.swap(kept);
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
  std::deque<Item> queue_;  // GUARDED_BY(mu_)
  bool stopped_ = false;    // GUARDED_BY(mu_)
};

/// The body of an executor thread: runs queued tasks in order until the queue
/// stops. The first thread (`first`) runs an actor's creation; when the actor
/// has max_concurrency n > 1, it then starts n - 1 more, which take calls from
/// the same queue, so up to n run at once.
void RunTasks(std::shared_ptr<TaskQueue> queue, std::shared_ptr<TaskExecutor> executor,
              raylet::RayletActor raylet, bool first) {
  Item item;
  while (queue->Pop(&item)) {
    proto::ExecReply reply = executor->Execute(item.request);
    const proto::TaskSpec& spec = item.request.spec;
    if (first && spec.Kind() == proto::TaskKind::kActorCreation && !reply.user_error) {
      for (int i = 1; i < spec.max_concurrency; ++i) {
        std::thread(RunTasks, queue, executor, raylet, false).detach();
      }
    }
    bool last = reply.exiting || reply.exit_actor;
    // max_calls reached: what is still queued goes back to the raylet.
    if (reply.exiting) reply.returned = queue->Steal();
    if (item.reply_to) {
      // A direct call: the caller owns its results and keeps the small ones
      // (it gives them to the object manager if it ever shares a ref). The
      // raylet hears of it only when it has something to do: seal results
      // in shared memory, or end an actor that called ray::ExitActor. Its
      // copy leaves first, so the caller never holds a result its node
      // lacks; except for the last reply (below), whose shared-memory
      // results the caller's Get then waits for until the raylet seals them.
      reply.direct = true;
      reply.stored = last || std::any_of(reply.results.begin(), reply.results.end(),
                                         [](const proto::ObjectEntry& e) {
                                           return e.kind == static_cast<uint8_t>(
                                                                proto::ObjectKind::kShm);
                                         });
      std::string bytes = proto::Encode(reply);
      // The last reply goes to the caller first: the raylet's answer to
      // `done` ends this process (exit_now), and a message still queued
      // behind `done` would be lost with it. Both travel on the worker's one
      // connection, to its node (which forwards the caller's copy to a driver
      // attached to it), so the caller's copy is then ahead of `done`.
      if (reply.stored && !last) caf::anon_send(raylet, atoms::done::value, bytes);
      caf::anon_send(item.reply_to, atoms::dir_done::value, bytes);
      if (reply.stored && last) caf::anon_send(raylet, atoms::done::value, std::move(bytes));
    } else {
      caf::anon_send(raylet, atoms::done::value, proto::Encode(reply));
    }
    if (last) {
      // Run nothing more; the raylet answers with exit_now once it has the reply,
      // so the reply cannot be lost with the process.
      queue->Stop();
      return;
    }
  }
}

struct State {
  std::shared_ptr<TaskQueue> queue;
  raylet::RayletActor raylet;
  static inline const char* name = "worker";
};

caf::behavior Behavior(caf::stateful_actor<State>* self, std::shared_ptr<TaskQueue> queue,
                       std::shared_ptr<TaskExecutor> executor, caf::actor raylet) {
  self->state.queue = queue;
  self->state.raylet = caf::actor_cast<raylet::RayletActor>(raylet);
  self->monitor(raylet);
  // Detached at once: the thread may be inside user code when the actor ends
  // (a joinable std::thread in the state would then abort the process with
  // "terminate called without an active exception"); it ends with the process.
  std::thread(RunTasks, queue, executor, self->state.raylet, true).detach();
  self->attach_functor([queue] { queue->Stop(); });
  self->set_down_handler([=](const caf::down_msg&) { self->quit(); });
  return safe::Implement<WorkerBehind>(
      self, "worker",
      // exec and direct are queued by the front door (Spawn).
      [=](atoms::steal) -> std::string { return proto::Encode(self->state.queue->Steal()); },
      [=](atoms::exit_now) { self->quit(); },
      [=](atoms::ev_flush) {
        // Sent before the answer, on the same connection: the raylet has the
        // events when it hears the answer. Anonymous: its `true` answers nobody.
        events::Batch batch = events::Recorder::Instance().Take();
        if (!batch.events.empty() || batch.dropped > 0) {
          caf::anon_send(self->state.raylet, atoms::ev_add::value,
                     static_cast<uint32_t>(batch.events.size()), proto::Encode(batch));
        }
        return true;
      },
      [=](atoms::observe, const std::string&, const std::string&) {
        return observe::References();
      });
}

}  // namespace

Handles Spawn(caf::actor_system& system, std::shared_ptr<TaskExecutor> executor,
              caf::actor raylet) {
  auto queue = std::make_shared<TaskQueue>();
  Handles out;
  out.actor = system.spawn(Behavior, queue, std::move(executor), std::move(raylet));
  // The front door queues tasks on the thread that delivers them (the
  // middleman's), without waking a scheduler thread to run the actor first:
  // one thread hand-off less per task. Everything else goes to the actor.
  out.front = front_door::Spawn(system);
  front_door::Of(out.front)->on_enqueue([queue, inner = out.actor](caf::mailbox_element_ptr ptr) {
    const auto& msg = ptr->content();
    // This runs on the delivering thread (the middleman's): nothing may throw out of it.
    try {
      if (front_door::Is<std::string>(msg, atoms::exec::value)) {
        queue->Push({proto::Decode<proto::ExecRequest>(msg.get_as<std::string>(1)), nullptr});
        return;
      }
      if (front_door::Is<std::string, caf::actor>(msg, atoms::direct::value)) {
        queue->Push({proto::Decode<proto::ExecRequest>(msg.get_as<std::string>(1)),
                     msg.get_as<caf::actor>(2)});
        return;
      }
    } catch (const std::exception& e) {
      safe::ReportDrop("worker front door", ptr->sender, e.what());
      return;
    }
    inner->enqueue(std::move(ptr), nullptr);
  });
  return out;
}

}  // namespace ray::worker
