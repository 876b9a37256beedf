#include "runtime/src/direct_calls.h"

#include <algorithm>
#include <utility>

#include "actors/common/ids.h"

namespace ray::runtime {
namespace {

/// Not alive yet: asked again soon. Elsewhere or dead: rarely (an actor does not move).
constexpr std::chrono::milliseconds kProbeAgainSoon{50};
constexpr std::chrono::milliseconds kProbeAgainRarely{2000};

/// Appends to `*out` an actor error (RayActorException: "actor <id> <why>")
/// for each return of `spec`.
void AddActorErrors(const proto::TaskSpec& spec, const std::string& why,
                    std::vector<proto::ObjectEntry>* out) {
  proto::ErrorInfo info{static_cast<uint8_t>(proto::ErrorKind::kActor), "RayActorException",
                        "actor " + ids::Hex(spec.actor_id) + " " + why,
                        spec.name.empty() ? spec.function : spec.name};
  std::string encoded = proto::Encode(info);
  for (const auto& id : spec.return_ids) {
    out->push_back({id, static_cast<uint8_t>(proto::ObjectKind::kError), encoded, -1, 0});
  }
}

}  // namespace

DirectCalls::DirectCalls(ActorCallTransport* transport, ReferenceCounter* refs)
    : transport_(transport), refs_(refs) {}

// -- actors that ended here ---------------------------------------------------------

void DirectCalls::MarkKilled(const std::string& actor_id) {
  std::lock_guard<std::mutex> lock(mu_);
  ended_actors_.emplace(actor_id, "it was killed (ActorHandle::Kill)");
}

bool DirectCalls::IsEnded(const std::string& actor_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  return ended_actors_.count(actor_id) > 0;
}

bool DirectCalls::FailIfEnded(const proto::TaskSpec& spec,
                              std::vector<proto::ObjectEntry>* failed) const {
  std::string ended;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto e = ended_actors_.find(spec.actor_id); e != ended_actors_.end()) ended = e->second;
  }
  if (ended.empty()) return false;
  AddActorErrors(spec, "is dead: " + ended, failed);
  return true;
}

// -- routing -----------------------------------------------------------------------

void DirectCalls::Route(proto::TaskSpec spec) {
  const bool by_value =
      std::none_of(spec.args.begin(), spec.args.end(), [](const proto::Arg& a) { return a.is_ref; });
  const std::string actor_id = spec.actor_id;
  std::unique_lock<std::mutex> lock(mu_);
  ActorRoute* route = &routes_[actor_id];
  if (!route->held.empty()) {  // behind calls waiting for the direct ones
    route->held.push_back(std::move(spec));
    return;
  }
  if (by_value && !route->worker && route->via_raylet == 0 && route->direct.empty() &&
      transport_->Now() >= route->next_probe) {
    route = Probe(actor_id, lock);
  }
  if (by_value && route->worker && !route->worker_exited && route->via_raylet == 0 &&
      route->held.empty()) {
    SendToWorker(actor_id, *route, std::move(spec));
    return;
  }
  if (!route->direct.empty()) {  // through the raylet only once the direct calls are answered
    route->held.push_back(std::move(spec));
    return;
  }
  SendViaRaylet(*route, std::move(spec));
}

DirectCalls::ActorRoute* DirectCalls::Probe(const std::string& actor_id,
                                            std::unique_lock<std::mutex>& lock) {
  lock.unlock();
  std::shared_ptr<const DirectWorker> worker;
  std::string worker_id;
  proto::ActorRoute how = transport_->Probe(actor_id, &worker, &worker_id);
  lock.lock();
  ActorRoute* route = &routes_[actor_id];
  route->last_probe = how;
  if (how != proto::ActorRoute::kDirect) {
    route->next_probe = transport_->Now() +
                        (how == proto::ActorRoute::kLater ? kProbeAgainSoon : kProbeAgainRarely);
    return route;
  }
  if (route->worker) return route;  // another call's probe got there first
  route->worker = worker;
  route->worker_id = worker_id;
  route->worker_exited = false;
  route->dead_worker_id.clear();
  if (!worker) return route;
  // Its death reaches OnWorkerDown, on this thread if it is dead already:
  // hence without the lock, after the route names it.
  lock.unlock();
  transport_->Monitor(*worker);
  lock.lock();
  return &routes_[actor_id];
}

void DirectCalls::SendToWorker(const std::string& actor_id, ActorRoute& route,
                               proto::TaskSpec spec) {
  proto::ExecRequest request;  // no resolved args; the actor keeps its creation's resources
  request.spec = std::move(spec);
  std::string bytes = proto::Encode(request);
  direct_tasks_[request.spec.task_id] = actor_id;
  refs_->MarkDirectPending(request.spec.return_ids);
  route.direct.push_back(std::move(request.spec));
  transport_->SendDirect(*route.worker, std::move(bytes));
  sent_.fetch_add(1, std::memory_order_relaxed);
}

void DirectCalls::SendViaRaylet(ActorRoute& route, proto::TaskSpec spec) {
  if (spec.failed_worker.empty()) spec.failed_worker = route.dead_worker_id;
  for (const auto& id : spec.return_ids) raylet_returns_[id] = spec.actor_id;
  route.via_raylet += spec.return_ids.size();
  transport_->Submit(spec);
}

void DirectCalls::FlushHeld(ActorRoute& route) {
  while (!route.held.empty()) {
    SendViaRaylet(route, std::move(route.held.front()));
    route.held.pop_front();
  }
}

void DirectCalls::OnRayletResults(const std::vector<proto::ObjectEntry>& entries) {
  std::lock_guard<std::mutex> lock(mu_);
  if (raylet_returns_.empty()) return;
  for (const auto& e : entries) {
    auto it = raylet_returns_.find(e.id);
    if (it == raylet_returns_.end()) continue;
    auto route = routes_.find(it->second);
    if (route != routes_.end()) {
      if (route->second.via_raylet > 0) --route->second.via_raylet;
      // It answered, so it is alive: ask for its worker at the next call.
      if (route->second.last_probe == proto::ActorRoute::kLater) route->second.next_probe = {};
    }
    raylet_returns_.erase(it);
  }
}

bool DirectCalls::OnDone(const proto::ExecReply& reply) {
  std::lock_guard<std::mutex> lock(mu_);
  auto t = direct_tasks_.find(reply.task_id);
  if (t == direct_tasks_.end()) return false;
  const std::string actor_id = t->second;
  ActorRoute& route = routes_[actor_id];
  direct_tasks_.erase(t);
  for (auto it = route.direct.begin(); it != route.direct.end(); ++it) {
    if (it->task_id == reply.task_id) {
      route.direct.erase(it);
      break;
    }
  }
  if (reply.exit_actor) {
    ended_actors_.emplace(actor_id, "it called ray::ExitActor");
    // Dead now: later calls go through the raylet, which fails them.
    route.worker_exited = true;
    route.next_probe = transport_->Now() + kProbeAgainRarely;
  }
  if (route.direct.empty()) FlushHeld(route);
  return true;
}

DirectCalls::WorkerDown DirectCalls::OnWorkerDown(
    const std::function<bool(const DirectWorker&)>& is_dead) {
  return MarkDown([&](const ActorRoute& route) { return is_dead(*route.worker); });
}

DirectCalls::WorkerDown DirectCalls::OnWorkerGone(const std::string& worker_id) {
  return MarkDown([&](const ActorRoute& route) { return route.worker_id == worker_id; });
}

DirectCalls::WorkerDown DirectCalls::MarkDown(
    const std::function<bool(const ActorRoute&)>& is_dead) {
  WorkerDown out;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [actor_id, route] : routes_) {
    if (!route.worker || !is_dead(route)) continue;
    route.worker = nullptr;
    route.dead_worker_id = route.worker_id;
    route.worker_exited = false;
    route.last_probe = proto::ActorRoute::kLater;  // it may restart
    route.next_probe = transport_->Now() + kProbeAgainSoon;
    RetryOrFail(route, &out);
    FlushHeld(route);
  }
  return out;
}

void DirectCalls::RetryOrFail(ActorRoute& route, WorkerDown* out) {
  std::deque<proto::TaskSpec> unanswered;
  unanswered.swap(route.direct);
  for (auto& spec : unanswered) {
    direct_tasks_.erase(spec.task_id);
    if (spec.attempts < spec.max_retries) {  // as the raylet counts them
      // The raylet may not know of the death yet and send it to the dead
      // worker: failed_worker lets it count this death once.
      ++spec.attempts;
      spec.failed_worker = route.worker_id;
      refs_->TakeBackDirectReturns(spec.return_ids, &out->unreferenced);
      SendViaRaylet(route, std::move(spec));
      continue;
    }
    AddActorErrors(spec, "died: its worker process exited before answering this call",
                   &out->failed);
  }
}

}  // namespace ray::runtime
