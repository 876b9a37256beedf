// The raylet core's part of `ray status` and `ray stack`: this node's
// resources, the demand waiting for them, and its workers (schema: docs/cli.md).
#include <nlohmann/json.hpp>
#include <set>

#include "actors/common/ids.h"
#include "actors/common/resource_shape.h"
#include "actors/raylet/raylet_core.h"

namespace ray::raylet {

using nlohmann::json;

bool Core::FitsAnywhere(const ResourceRequest& shape) const {
  if (st_.pool.Feasible(shape)) return true;
  for (const auto& [id, peer] : st_.peers) {
    if (Fits(peer.record.total, shape)) return true;
  }
  return false;
}

std::vector<WorkerView> Core::Workers() const {
  std::vector<WorkerView> out;
  for (const auto& [id, w] : st_.workers) {
    if (w.dead) continue;
    WorkerView view;
    view.worker_id = id;
    view.pid = w.pid;
    view.job_id = w.job_id;
    view.actor_id = w.actor_id;
    view.state = !w.connected ? "STARTING" : w.blocked ? "BLOCKED" : w.idle ? "IDLE" : "BUSY";
    if (!w.assigned.empty()) {
      auto task = st_.tasks.find(w.assigned.front());
      view.task_id = w.assigned.front();
      if (task != st_.tasks.end()) view.function = DisplayName(task->second.spec);
    }
    if (!w.actor_id.empty()) {
      auto actor = st_.actors.find(w.actor_id);
      if (actor != st_.actors.end()) {
        view.actor_class = actor->second.creation.function;
        if (!actor->second.inflight.empty()) {
          auto call = st_.tasks.find(*actor->second.inflight.begin());
          view.task_id = *actor->second.inflight.begin();
          if (call != st_.tasks.end()) view.function = DisplayName(call->second.spec);
        }
      }
    }
    out.push_back(std::move(view));
  }
  return out;
}

std::string Core::StatusJson() const {
  // Demand: queued tasks and actors by resource shape, split into those some
  // node of the cluster could run (waiting for resources) and those none can.
  // The same, structured, for the autoscaler: one entry per shape.
  std::map<std::string, int> queued, infeasible;
  std::map<std::pair<std::string, bool>, std::pair<ResourceRequest, int>> shapes;
  auto count = [&](const ResourceRequest& shape, bool actor) {
    std::string name = ShapeText(shape);
    ++(FitsAnywhere(shape) ? queued : infeasible)[actor ? name + " (actor)" : name];
    auto& entry = shapes[{name, actor}];
    entry.first = shape;
    ++entry.second;
  };
  std::set<std::string> pipelined;  // queued behind a busy worker: still waiting
  for (const auto& [id, w] : st_.workers) {
    if (!w.dead && w.assigned.size() > 1) pipelined.insert(w.assigned.begin() + 1, w.assigned.end());
  }
  for (const auto& [id, task] : st_.tasks) {
    if (!task.worker_id.empty() && !pipelined.count(id)) continue;  // running
    if (task.spec.Kind() == proto::TaskKind::kActorMethod) continue;  // waits for its actor
    count(ResourceRequest(task.spec.resources.begin(), task.spec.resources.end()), false);
  }
  std::map<std::string, int> actor_states;
  for (const auto& [id, actor] : st_.actors) {
    ++actor_states[ActorStateName(actor.state)];
    if (actor.state != ActorState::kPending || !actor.needs_worker) continue;
    count(ResourceRequest(actor.creation.resources.begin(), actor.creation.resources.end()), true);
  }
  json demand = json::array();
  for (const auto& [key, entry] : shapes) {
    demand.push_back({{"shape", entry.first}, {"count", entry.second}, {"actor", key.second},
                      {"feasible", FitsAnywhere(entry.first)}});
  }
  json workers = json::array();
  for (const auto& w : Workers()) {
    workers.push_back({{"worker_id", ids::Hex(w.worker_id)}, {"pid", w.pid},
                       {"job_id", ids::Hex(w.job_id)}, {"state", w.state},
                       {"actor_id", ids::Hex(w.actor_id)}, {"actor_class", w.actor_class},
                       {"task_id", ids::Hex(w.task_id)}, {"function", w.function}});
  }
  json out = {{"node_id", ids::Hex(st_.options.node_id)},
              {"address", st_.address},
              {"resources_total", st_.pool.totals()},
              {"resources_available", AvailableResources()},
              {"pending_demand", queued},
              {"infeasible_demand", infeasible},
              {"resource_demand", demand},
              {"actors_by_state", actor_states},
              {"workers", workers},
              {"tasks_done", st_.tasks_done},
              {"queued_tasks", st_.ready.size()}};
  return out.dump();
}

}  // namespace ray::raylet
