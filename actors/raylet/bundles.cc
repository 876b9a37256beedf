// The raylet core: placement group bundles on this node. A prepared bundle
// sets its resources aside; a committed one adds them back under the group's
// names (proto::BundleResources), which only the group's tasks and actors ask
// for; a returned one gives them back. A removed group's tasks and actors here end.
#include <signal.h>

#include "actors/common/logging.h"
#include "actors/common/placement.h"
#include "actors/raylet/raylet_core.h"

namespace ray::raylet {

bool Core::PrepareBundle(const std::string& group, int index, const proto::Bundle& bundle) {
  if (st_.removed_groups.count(group) || index < 0) return false;
  const auto key = std::make_pair(group, index);
  if (st_.bundles.count(key)) return true;  // asked again: still set aside
  auto reserved = st_.pool.Acquire(bundle);
  if (!reserved) return false;
  st_.bundles[key] = BundleRecord{bundle, std::move(*reserved), false};
  return true;
}

void Core::CommitBundle(const std::string& group, int index) {
  auto it = st_.bundles.find({group, index});
  if (it == st_.bundles.end() || it->second.committed) return;
  it->second.committed = true;
  for (const auto& [name, amount] : proto::BundleResources(group, index, it->second.bundle)) {
    // A bundle's GPUs keep their ids: CUDA_VISIBLE_DEVICES names the real ones.
    std::vector<int64_t> ids;
    auto reserved = it->second.reserved.find(proto::BaseResource(name));
    if (reserved != it->second.reserved.end() && proto::BaseResource(name) != "bundle") {
      for (const auto& [id, fraction] : reserved->second) {
        if (fraction >= 1.0 - 1e-9) ids.push_back(id);
      }
    }
    st_.pool.Add(name, amount, ids);
  }
  Schedule();
}

void Core::ReturnBundle(const std::string& group, int index) {
  if (index < 0) {
    RemoveGroup(group);
    return;
  }
  auto it = st_.bundles.find({group, index});
  if (it == st_.bundles.end()) return;
  if (it->second.committed) {
    for (const auto& [name, amount] : proto::BundleResources(group, index, it->second.bundle)) {
      st_.pool.Remove(name, amount);
    }
  }
  st_.pool.Release(it->second.reserved);
  st_.bundles.erase(it);
  Schedule();
}

void Core::RemoveGroup(const std::string& group) {
  st_.removed_groups.insert(group);
  const std::string why = "its placement group " + group + " was removed";
  std::vector<std::string> actors;
  for (const auto& [aid, a] : st_.actors) {
    if (a.creation.placement_group == group && a.state != ActorState::kDead) actors.push_back(aid);
  }
  for (const auto& aid : actors) {
    auto& a = st_.actors[aid];
    if (auto w = st_.workers.find(a.worker_id); w != st_.workers.end() && !w->second.dead) {
      w->second.exiting = true;
      host_.Signal(w->second.pid, SIGKILL);
    }
    a.needs_worker = false;
    MarkActorDead(aid, why);
  }
  FailGroupTasks(group, why);
  for (auto& [wid, w] : st_.workers) {
    if (w.dead || !w.actor_id.empty() || w.assigned.empty()) continue;
    auto t = st_.tasks.find(w.assigned.front());
    if (t != st_.tasks.end() && t->second.spec.placement_group == group) {
      host_.Signal(w.pid, SIGKILL);  // its retry fails: the group is gone
    }
  }
  std::vector<int> here;
  for (const auto& [key, record] : st_.bundles) {
    if (key.first == group) here.push_back(key.second);
  }
  for (int index : here) ReturnBundle(group, index);
}

void Core::FailGroupTasks(const std::string& group, const std::string& why) {
  FailReadyTasks([&](const proto::TaskSpec& spec) { return spec.placement_group == group; },
                 "cannot run: " + why);
}

void Core::FailReadyTasks(const std::function<bool(const proto::TaskSpec&)>& match,
                          const std::string& why) {
  std::deque<std::string> kept;
  for (const auto& task_id : st_.ready) {
    auto t = st_.tasks.find(task_id);
    if (t == st_.tasks.end()) continue;
    if (!match(t->second.spec)) {
      kept.push_back(task_id);
      continue;
    }
    FailReturns(t->second.spec, proto::ErrorKind::kWorker, "RayWorkerException",
                "task " + DisplayName(t->second.spec) + " " + why);
    UnpinArgs(t->second);
    st_.tasks.erase(t);
  }
  st_.ready.swap(kept);
}

proto::Allocation ForWorker(const ResourceAllocation& allocation) {
  proto::Allocation out = allocation;
  for (const auto& [name, parts] : allocation) {
    const std::string base = proto::BaseResource(name);
    if (base == name || base == "bundle") continue;
    auto& merged = out[base];  // a bundle's GPUs are GPUs to the task
    for (const auto& part : parts) {
      bool seen = false;
      for (const auto& have : merged) seen = seen || have.first == part.first;
      if (!seen) merged.push_back(part);
    }
  }
  return out;
}

}  // namespace ray::raylet
