// Direct actor calls (drivers). Once an actor is alive in a worker of the
// driver's node, the driver sends its calls straight to that worker and gets
// the reply from it; small results stay with the driver until shared (see
// ReferenceCounter::Share), shared-memory ones are sealed by the raylet.
// Calls to one actor keep their order: a driver switches from the raylet to
// the direct path only when every call it sent through the raylet to that
// actor has returned, and back only when every direct call has. A call with
// ref arguments (the raylet resolves them) goes through the raylet.
//
// This is the routing and its decisions, in plain C++ (no CAF); what is sent
// goes through an ActorCallTransport.
#ifndef RAY_RUNTIME_SRC_DIRECT_CALLS_H_
#define RAY_RUNTIME_SRC_DIRECT_CALLS_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/common/protocol.h"
#include "runtime/src/reference_counter.h"

namespace ray::runtime {

/// An actor's worker as the transport names it (a caf::actor in the runtime).
class DirectWorker {
 public:
  virtual ~DirectWorker() = default;
};

/// What the routing sends and asks: over CAF in the runtime (Session), a fake
/// in tests.
class ActorCallTransport {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~ActorCallTransport() = default;
  /// (actor_ep) asks the raylet how to reach `actor_id`; blocks, so it is
  /// never called under DirectCalls' lock. kDirect comes with `*worker` (null
  /// if the raylet named none) and `*worker_id`; no answer is kLater.
  virtual proto::ActorRoute Probe(const std::string& actor_id,
                                  std::shared_ptr<const DirectWorker>* worker,
                                  std::string* worker_id) = 0;
  /// Watches `worker`: its death must reach DirectCalls::OnWorkerDown, on
  /// this thread if it is dead already, so never under the lock.
  virtual void Monitor(const DirectWorker& worker) = 0;
  /// (direct, request) to the worker, replies to the driver's anchor. Called
  /// under the lock, which keeps the calls in order.
  virtual void SendDirect(const DirectWorker& worker, std::string request) = 0;
  /// (submit, spec) to the raylet; called under the lock too.
  virtual void Submit(const proto::TaskSpec& spec) = 0;
  virtual TimePoint Now() = 0;
};

/// Thread safety: every method may be called from any thread (user threads
/// calling actors, the anchor's delivering thread with replies, pushed
/// results and worker deaths). One mutex, mu_, guards the tables below; it is
/// taken before the ReferenceCounter's (MarkDirectPending,
/// TakeBackDirectReturns), never after.
class DirectCalls {
 public:
  /// Both must outlive this object.
  DirectCalls(ActorCallTransport* transport, ReferenceCounter* refs);
  DirectCalls(const DirectCalls&) = delete;
  DirectCalls& operator=(const DirectCalls&) = delete;

  // -- actors that ended here -----------------------------------------------------
  /// This process killed `actor_id` for good (KillActor, no_restart).
  void MarkKilled(const std::string& actor_id);
  /// True when this process killed `actor_id` or saw it exit.
  bool IsEnded(const std::string& actor_id) const;
  /// Calls to an ended actor fail here at once, without racing the kill to
  /// the worker: true with an actor error per return of `spec` in `*failed`.
  bool FailIfEnded(const proto::TaskSpec& spec, std::vector<proto::ObjectEntry>* failed) const;

  // -- routing (drivers) ------------------------------------------------------------
  /// Sends an actor call straight to the actor's worker or through the raylet,
  /// or holds it until the direct calls before it are answered.
  void Route(proto::TaskSpec spec);
  /// Results the raylet pushed: once all calls through it returned, later
  /// calls may go direct.
  void OnRayletResults(const std::vector<proto::ObjectEntry>& entries);
  /// A direct call's reply: false when unknown (its worker was reported dead
  /// first and the call went elsewhere), and then it must be dropped.
  bool OnDone(const proto::ExecReply& reply);
  /// What a worker's death leaves to the caller, in this order: release each
  /// of `unreferenced` (retried returns nobody holds, now behind their
  /// retries' submits), then keep `failed` as owner-only results.
  struct WorkerDown {
    std::vector<proto::ObjectEntry> failed;
    std::vector<std::string> unreferenced;
  };
  /// The worker that `is_dead` names died: its unanswered calls that may be
  /// retried go to the raylet (which runs them on the restarted actor, or
  /// fails them), in order and ahead of the held ones; the others fail.
  WorkerDown OnWorkerDown(const std::function<bool(const DirectWorker&)>& is_dead);
  /// The same for the worker its raylet knows as `worker_id`, which the raylet
  /// says died: a driver attached to a raynode reaches workers through it, and
  /// CAF tells no monitor behind such a route that they are gone.
  WorkerDown OnWorkerGone(const std::string& worker_id);
  /// Calls sent straight to workers so far.
  uint64_t sent() const { return sent_.load(std::memory_order_relaxed); }

 private:
  struct ActorRoute {
    std::shared_ptr<const DirectWorker> worker;  // the actor's worker, once the raylet named it
    std::string worker_id;                       // its id at the raylet
    bool worker_exited = false;  // it called ray::ExitActor: no new direct calls
    /// The worker this process saw die, until the raylet names another: calls
    /// sent through the raylet meanwhile say so (failed_worker), since the
    /// raylet may not know of the death yet and give them to that worker.
    std::string dead_worker_id;
    size_t via_raylet = 0;       // returns of calls sent through the raylet, not yet pushed
    std::deque<proto::TaskSpec> direct;  // calls sent to `worker`, unanswered, in order
    std::deque<proto::TaskSpec> held;    // waiting for `direct` to drain, then via the raylet
    ActorCallTransport::TimePoint next_probe{};
    proto::ActorRoute last_probe = proto::ActorRoute::kLater;
  };
  /// Asks the raylet for the actor's worker (lock released meanwhile);
  /// returns the route, looked up again.
  ActorRoute* Probe(const std::string& actor_id, std::unique_lock<std::mutex>& lock);
  void SendToWorker(const std::string& actor_id, ActorRoute& route, proto::TaskSpec spec);
  void SendViaRaylet(ActorRoute& route, proto::TaskSpec spec);  // REQUIRES(mu_)
  void FlushHeld(ActorRoute& route);                            // REQUIRES(mu_)
  /// Routes whose worker `is_dead`: their calls are retried or failed.
  WorkerDown MarkDown(const std::function<bool(const ActorRoute&)>& is_dead);
  /// A dead worker's unanswered calls: retried through the raylet or failed.
  void RetryOrFail(ActorRoute& route, WorkerDown* out);          // REQUIRES(mu_)

  ActorCallTransport* const transport_;
  ReferenceCounter* const refs_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, ActorRoute> routes_;           // GUARDED_BY(mu_): by actor
  std::unordered_map<std::string, std::string> raylet_returns_;  // GUARDED_BY(mu_): id -> actor
  std::unordered_map<std::string, std::string> direct_tasks_;    // GUARDED_BY(mu_): task -> actor
  std::unordered_map<std::string, std::string> ended_actors_;    // GUARDED_BY(mu_): actor -> cause
  std::atomic<uint64_t> sent_{0};
};

}  // namespace ray::runtime

#endif  // RAY_RUNTIME_SRC_DIRECT_CALLS_H_
