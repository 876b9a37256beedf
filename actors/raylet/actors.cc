// The raylet core: the actors hosted on this node (creation, ordered calls,
// restarts within max_restarts, death) and how drivers reach them.
#include <signal.h>

#include <algorithm>

#include "actors/common/ids.h"
#include "actors/common/logging.h"
#include "actors/raylet/raylet_core.h"

namespace ray::raylet {

// -- lifecycle -------------------------------------------------------------------

void Core::FailActorCall(const std::string& task_id, const std::string& cause) {
  auto t = st_.tasks.find(task_id);
  if (t == st_.tasks.end()) return;
  FailReturns(t->second.spec, proto::ErrorKind::kActor, "RayActorException", cause);
  UnpinArgs(t->second);
  st_.tasks.erase(t);
}

void Core::MarkActorDead(const std::string& actor_id, const std::string& cause) {
  auto& a = st_.actors[actor_id];
  a.state = ActorState::kDead;
  a.death_cause = cause;
  std::string msg = "actor " + ids::Hex(actor_id) + " is dead: " + cause;
  for (const auto& id : a.queue) FailActorCall(id, msg);
  for (const auto& id : a.inflight) FailActorCall(id, msg);
  a.queue.clear();
  a.inflight.clear();
  st_.pool.Release(a.allocation);
  a.allocation.clear();
  PublishActor(actor_id);
}

void Core::PumpActor(const std::string& actor_id) {
  auto& a = st_.actors[actor_id];
  if (a.state != ActorState::kAlive) return;
  auto w = st_.workers.find(a.worker_id);
  if (w == st_.workers.end()) return;
  while (!a.queue.empty()) {
    auto t = st_.tasks.find(a.queue.front());
    if (t == st_.tasks.end()) {
      a.queue.pop_front();
      continue;
    }
    if (!t->second.deps_ready) break;
    a.inflight.insert(t->first);
    a.queue.pop_front();
    Dispatch(t->second, w->second, {});
  }
}

void Core::StartActorCreation(const std::string& actor_id) {
  st_.actors[actor_id].needs_worker = true;
  Schedule();
}

void Core::OnActorWorkerLost(const std::string& actor_id, const std::string& cause) {
  auto& a = st_.actors[actor_id];
  std::string msg = "actor " + ids::Hex(actor_id) + " died: " + cause;
  auto job = st_.jobs.find(a.creation.job_id);
  const bool job_finished =
      job != st_.jobs.end() && job->second.finished && !OutlivesItsJob(a.creation);
  const int max = a.creation.max_restarts;
  const bool will_restart = a.state != ActorState::kDead && !st_.shutting_down &&
                            !job_finished && (max < 0 || a.restarts < max);
  // Calls in flight fail, except those allowed retries: they run again, in
  // their order, on the restarted instance.
  std::vector<std::pair<uint64_t, std::string>> again;
  for (const auto& id : a.inflight) {
    auto t = st_.tasks.find(id);
    if (t == st_.tasks.end() || !will_restart) {
      FailActorCall(id, msg);
      continue;
    }
    // A direct call its caller sent on after this same death: counted already.
    const bool counted = !a.worker_id.empty() && t->second.spec.failed_worker == a.worker_id;
    if (counted || t->second.attempts < t->second.spec.max_retries) {
      if (!counted) ++t->second.attempts;
      again.emplace_back(t->second.seq, id);
    } else {
      FailActorCall(id, msg);
    }
  }
  std::sort(again.begin(), again.end());
  for (auto it = again.rbegin(); it != again.rend(); ++it) a.queue.push_front(it->second);
  a.inflight.clear();
  st_.pool.Release(a.allocation);
  a.allocation.clear();
  a.worker_id.clear();
  if (a.state == ActorState::kDead || st_.shutting_down) return;
  if (job_finished) {
    MarkActorDead(actor_id, "its driver exited");
  } else if (will_restart) {
    ++a.restarts;
    a.creation.restarts = a.restarts;  // ray::WasCurrentActorRestarted() in the new instance
    a.state = ActorState::kRestarting;
    PublishActor(actor_id);
    StartActorCreation(actor_id);
  } else {
    std::string why = cause;
    if (max > 0) why += " (restarted " + std::to_string(a.restarts) + " times, max_restarts=" +
                       std::to_string(max) + ")";
    MarkActorDead(actor_id, why);
  }
}

void Core::FinishActorTask(Worker& w, const proto::ExecReply& reply) {
  auto& a = st_.actors[w.actor_id];
  auto t = st_.tasks.find(reply.task_id);
  if (t == st_.tasks.end()) return;
  const bool creation = t->second.spec.Kind() == proto::TaskKind::kActorCreation;
  UnpinArgs(t->second);
  if (creation) {
    st_.tasks.erase(t);
    if (reply.user_error) {
      auto info = proto::Decode<proto::ErrorInfo>(reply.results.at(0).data);
      w.exiting = true;
      out_.ExitWorker(w.id);
      MarkActorDead(w.actor_id,
                    "its constructor threw " + info.exception_type + ": " + info.message);
      return;
    }
    a.state = ActorState::kAlive;
    PublishActor(w.actor_id);
    PumpActor(w.actor_id);
    return;
  }
  a.inflight.erase(reply.task_id);
  Deliver(t->second.spec, reply.results);
  st_.tasks.erase(t);
  ++st_.tasks_done;
  if (reply.exit_actor) {
    w.exiting = true;
    out_.ExitWorker(w.id);
    MarkActorDead(w.actor_id, "it called ray::ExitActor");
  }
}

// -- lifetimes --------------------------------------------------------------------

bool Core::OutlivesItsJob(const proto::TaskSpec& creation, int depth) const {
  if (creation.detached) return true;
  // A non-detached actor lives as long as its owner: one created by a detached
  // actor (or by its descendants) outlives the job with it.
  auto owner = st_.workers.find(creation.caller_id);
  if (owner == st_.workers.end() || owner->second.dead || owner->second.actor_id.empty() ||
      depth > 64) {
    return false;
  }
  auto parent = st_.actors.find(owner->second.actor_id);
  return parent != st_.actors.end() && parent->second.state != ActorState::kDead &&
         OutlivesItsJob(parent->second.creation, depth + 1);
}

bool Core::JobKeepsActors(const std::string& job_id) const {
  for (const auto& [aid, a] : st_.actors) {
    if (a.creation.job_id == job_id && a.state != ActorState::kDead && OutlivesItsJob(a.creation)) {
      return true;
    }
  }
  return false;
}

void Core::KillActorsOwnedBy(const std::string& owner_id, const std::string& why) {
  std::vector<std::string> local, remote;
  for (const auto& [aid, a] : st_.actors) {
    if (a.creation.caller_id == owner_id && !a.creation.detached && a.state != ActorState::kDead) {
      local.push_back(aid);
    }
  }
  for (const auto& [aid, creation] : st_.remote_creations) {
    if (creation.caller_id == owner_id && !creation.detached) remote.push_back(aid);
  }
  for (const auto& aid : local) {
    auto& a = st_.actors[aid];
    if (auto w = st_.workers.find(a.worker_id); w != st_.workers.end() && !w->second.dead) {
      w->second.exiting = true;  // its death is handled here
      host_.Signal(w->second.pid, SIGKILL);
    }
    MarkActorDead(aid, "its owner " + why + " (the actor is not detached, so it shares its "
                       "owner's fate)");
  }
  for (const auto& aid : remote) Kill(aid, /*no_restart=*/true);
}

}  // namespace ray::raylet
