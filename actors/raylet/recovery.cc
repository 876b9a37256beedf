// The raylet core when things are lost: a node dies (what it ran is retried
// or fails, actors placed there restart elsewhere) or an object is in no
// store any more (its task runs again from the lineage log).
#include <algorithm>

#include "actors/common/ids.h"
#include "actors/common/profile_events.h"
#include "actors/common/logging.h"
#include "actors/raylet/raylet_core.h"

namespace ray::raylet {

void Core::OnNodeRemoved(const std::string& node_id, const std::string& reason) {
  st_.peers.erase(node_id);
  out_.PeerRemoved(node_id);
  std::string why = "node " + ids::Hex(node_id) + " died: " + reason;
  RestartActorsOf(node_id, why);
  RetryForwardedTo(node_id, why);
  Schedule();
}

void Core::RestartActorsOf(const std::string& node_id, const std::string& why) {
  std::vector<std::string> homeless;
  for (auto it = st_.actor_home.begin(); it != st_.actor_home.end();) {
    if (it->second == node_id) {
      homeless.push_back(it->first);
      it = st_.actor_home.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& actor_id : homeless) {
    auto c = st_.remote_creations.find(actor_id);
    if (c == st_.remote_creations.end()) continue;  // placed by another raylet: ask the GCS later
    proto::TaskSpec creation = c->second;
    if (creation.max_restarts == 0) {
      st_.remote_actor_dead[actor_id] = why;
      st_.remote_creations.erase(c);
      out_.UpdateActor({actor_id, creation.actor_name, creation.job_id,
                        ActorStateName(ActorState::kDead), creation.function, 0, why, node_id});
      continue;
    }
    // Restart it on a node that can hold it; the new node has one restart less to spend.
    if (creation.max_restarts > 0) --creation.max_restarts;
    ++creation.restarts;
    c->second = creation;
    creation.hops = 0;
    RAY_LOG(Info) << "restarting actor " << ids::Hex(actor_id) << " elsewhere: " << why;
    std::string node = PlaceActor(creation.resources);
    if (node == st_.options.node_id) {
      st_.remote_creations.erase(actor_id);
      SubmitLocal(std::move(creation));
    } else {
      st_.actor_home[actor_id] = node;
      Forward(std::move(creation), node);
    }
  }
}

void Core::RetryForwardedTo(const std::string& node_id, const std::string& why) {
  std::vector<Forwarded> lost;
  for (auto it = st_.forwarded.begin(); it != st_.forwarded.end();) {
    if (it->second.node == node_id) {
      lost.push_back(std::move(it->second));
      it = st_.forwarded.erase(it);
    } else {
      ++it;
    }
  }
  std::sort(lost.begin(), lost.end(),
            [](const Forwarded& a, const Forwarded& b) { return a.seq < b.seq; });
  for (auto& f : lost) {
    const std::string retries =
        f.spec.max_retries > 0 ? " (after " + std::to_string(f.attempts) + " retries)" : "";
    if (f.spec.Kind() == proto::TaskKind::kActorMethod) {
      const std::string& actor_id = f.spec.actor_id;
      bool restarting = st_.actor_home.count(actor_id) || st_.actors.count(actor_id);
      if (restarting && f.attempts < f.spec.max_retries) {
        f.spec.hops = 0;
        if (auto home = st_.actor_home.find(actor_id); home != st_.actor_home.end()) {
          Forward(std::move(f.spec), home->second, f.attempts + 1);
        } else {
          SubmitLocal(std::move(f.spec));
        }
        continue;
      }
      FailReturns(f.spec, proto::ErrorKind::kActor, "RayActorException",
                  "actor " + ids::Hex(actor_id) + " died: " + why);
    } else if (f.attempts < f.spec.max_retries) {
      RAY_LOG(Info) << "retrying task " << DisplayName(f.spec) << ": " << why;
      f.spec.hops = 0;
      std::string task_id = f.spec.task_id;
      Task& task = st_.tasks[task_id];
      task.spec = std::move(f.spec);
      task.attempts = f.attempts + 1;
      ResolveDependencies(task_id);
    } else {
      FailReturns(f.spec, proto::ErrorKind::kWorker, "RayWorkerException",
                  "task " + DisplayName(f.spec) + " was running on " + why + retries);
    }
  }
}

void Core::FailLostObject(const std::string& object_id, const std::string& why,
                          const std::string& because) {
  out_.PutObject(ErrorEntry(object_id, proto::ErrorKind::kLost, "ObjectLostException",
                            "object " + ids::Hex(object_id) + " is lost: " + why + "; " + because,
                            ""));
}

void Core::Rebuild(const std::string& object_id, const std::string& why) {
  std::string task_id = ids::TaskOf(object_id);
  if (ids::IsPut(object_id)) {
    FailLostObject(object_id, why,
                   "it was made by ray::Put, which cannot be replayed (only task results can be "
                   "rebuilt)");
    return;
  }
  if (st_.rebuilding.count(task_id) || st_.tasks.count(task_id) ||
      st_.forwarded.count(task_id)) {
    // Already being made again: only learn where it appears.
    out_.SubscribeRebuilt({object_id});
    return;
  }
  st_.rebuilding.insert(task_id);
  out_.FetchLineage(object_id, [this, object_id, why](StatusOr<proto::TaskSpec> spec) {
    OnLineageRecord(object_id, why, std::move(spec));
  });
}

void Core::OnLineageRecord(const std::string& object_id, const std::string& why,
                           StatusOr<proto::TaskSpec> spec) {
  std::string task_id = ids::TaskOf(object_id);
  if (!spec.ok()) {
    st_.rebuilding.erase(task_id);
    FailLostObject(object_id, why,
                   spec.status().code() == Errc::kNotFound
                       ? "the task that made it is not in the lineage log"
                       : "the lineage log could not be read: " + spec.status().message());
    return;
  }
  if (spec->Kind() != proto::TaskKind::kNormal) {
    st_.rebuilding.erase(task_id);
    FailLostObject(object_id, why, "it was made by an actor method call, which cannot be replayed");
    return;
  }
  spec->origin_node = st_.options.node_id;
  spec->hops = 0;
  ++st_.rebuilds;
  RAY_LOG(Info) << "rebuilding object " << ids::Hex(object_id) << " by running "
                << DisplayName(*spec) << " again (" << why << ")";
  if (events::Recorder::Instance().enabled()) {
    // An instant on the node's row of the timeline: the task's run shows where it ran.
    events::Event event;
    event.type = "rebuild";
    event.source = static_cast<uint8_t>(events::Source::kNode);
    event.start_us = event.end_us = events::NowMicros();
    event.task_id = spec->task_id;
    event.job_id = spec->job_id;
    event.function = spec->function;
    event.extra = {{"object_id", ids::Hex(object_id)}, {"why", why}};
    events::Recorder::Instance().Record(event);
  }
  out_.SubscribeRebuilt(spec->return_ids);
  Submit(std::move(spec).value());
}

}  // namespace ray::raylet
