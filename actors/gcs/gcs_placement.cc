#include "actors/gcs/gcs_placement.h"

#include <algorithm>

#include "actors/common/ids.h"
#include "actors/common/logging.h"
#include "actors/common/protocol.h"

namespace ray::gcs {
namespace {

using proto::Bundle;
using proto::PlacementGroupInfo;
using proto::PlacementGroupState;
using proto::PlacementStrategy;

bool Fits(const Bundle& have, const Bundle& want) {
  for (const auto& [name, amount] : want) {
    auto it = have.find(name);
    if (amount > 0 && (it == have.end() || it->second + 1e-9 < amount)) return false;
  }
  return true;
}

void Take(Bundle* from, const Bundle& what) {
  for (const auto& [name, amount] : what) (*from)[name] -= amount;
}

Bundle Sum(const std::vector<Bundle>& bundles, const std::vector<int>& which) {
  Bundle out;
  for (int i : which) {
    for (const auto& [name, amount] : bundles[i]) out[name] += amount;
  }
  return out;
}

/// The nodes, the one with the most free CPU first (then by id: deterministic).
std::vector<std::string> ByRoom(const std::map<std::string, Bundle>& available) {
  std::vector<std::string> nodes;
  for (const auto& [id, free] : available) nodes.push_back(id);
  auto cpu = [&](const std::string& n) {
    auto it = available.at(n).find("CPU");
    return it == available.at(n).end() ? 0.0 : it->second;
  };
  std::stable_sort(nodes.begin(), nodes.end(),
                   [&](const std::string& a, const std::string& b) { return cpu(a) > cpu(b); });
  return nodes;
}

bool Live(const PlacementGroupInfo& g) { return g.State() != PlacementGroupState::kRemoved; }

}  // namespace

PlacementGroups::PlacementGroups(storage::MetaStore* store, PlacementOutbox* outbox)
    : store_(store), outbox_(outbox) {}

void PlacementGroups::Load() {
  store_->Scan(kTable, [&](const std::string& id, const std::string& bytes) {
    try {
      groups_[id] = proto::Decode<PlacementGroupInfo>(bytes);
    } catch (const std::exception&) {
      RAY_LOG(Warning) << "placement group " << ids::Hex(id) << ": unreadable record skipped";
    }
    return true;
  });
}

void PlacementGroups::Store(const PlacementGroupInfo& group) {
  std::string error;
  if (!store_->Put(kTable, group.id, proto::Encode(group), &error)) {
    RAY_LOG(Error) << "cannot store placement group " << ids::Hex(group.id) << ": " << error;
  }
}

StatusOr<std::string> PlacementGroups::Create(PlacementGroupInfo spec) {
  if (spec.bundles.empty()) {
    return Status(Errc::kInvalidArgument, "a placement group needs at least one bundle");
  }
  for (size_t i = 0; i < spec.bundles.size(); ++i) {
    if (spec.bundles[i].empty()) {
      return Status(Errc::kInvalidArgument, "bundle " + std::to_string(i) + " is empty");
    }
    for (const auto& [name, amount] : spec.bundles[i]) {
      if (name.empty() || !(amount > 0)) {
        return Status(Errc::kInvalidArgument, "bundle " + std::to_string(i) + ": resource '" +
                                                  name + "' must be a positive amount");
      }
    }
  }
  if (!spec.name.empty() && GetByName(spec.ray_namespace, spec.name)) {
    return Status(Errc::kAlreadyExists, "a placement group named '" + spec.name +
                                            "' already exists in namespace '" +
                                            spec.ray_namespace + "'");
  }
  if (spec.id.empty()) spec.id = ids::Random(16);
  spec.state = static_cast<uint8_t>(PlacementGroupState::kPending);
  spec.bundle_nodes.assign(spec.bundles.size(), "");
  const std::string id = spec.id;
  groups_[id] = std::move(spec);
  Store(groups_[id]);
  TrySchedule();
  return id;
}

Status PlacementGroups::Remove(const std::string& id) {
  auto it = groups_.find(id);
  if (it == groups_.end()) return Status(Errc::kNotFound, "no placement group " + ids::Hex(id));
  PlacementGroupInfo& g = it->second;
  if (!Live(g)) return Status::Ok();
  // Every live node hears of it (index -1): its committed bundles there go
  // back, and its tasks and actors there end, wherever they wait. Bundles
  // being prepared are returned when their answers come (Finish).
  for (const auto& [node, free] : available_) outbox_->Return(node, id, -1);
  for (auto& node : g.bundle_nodes) node.clear();
  g.state = static_cast<uint8_t>(PlacementGroupState::kRemoved);
  Store(g);
  Notify(id, false);
  TrySchedule();  // what it held is free for the others
  return Status::Ok();
}

std::optional<PlacementGroupInfo> PlacementGroups::Get(const std::string& id) const {
  auto it = groups_.find(id);
  if (it == groups_.end()) return std::nullopt;
  return it->second;
}

std::optional<PlacementGroupInfo> PlacementGroups::GetByName(const std::string& ray_namespace,
                                                             const std::string& name) const {
  for (const auto& [id, g] : groups_) {
    if (Live(g) && g.name == name && g.ray_namespace == ray_namespace) return g;
  }
  return std::nullopt;
}

proto::Bundle PlacementGroups::GroupResources(const std::string& node) const {
  Bundle out;
  for (const auto& [id, g] : groups_) {
    if (!Live(g)) continue;
    for (size_t i = 0; i < g.bundle_nodes.size(); ++i) {
      if (g.bundle_nodes[i] != node) continue;
      for (const auto& [name, amount] :
           proto::BundleResources(ids::Hex(id), static_cast<int>(i), g.bundles[i])) {
        out[name] += amount;
      }
    }
  }
  return out;
}

std::vector<PlacementGroupInfo> PlacementGroups::All() const {
  std::vector<PlacementGroupInfo> out;
  for (const auto& [id, g] : groups_) out.push_back(g);
  return out;
}

void PlacementGroups::Wait(const std::string& id, std::function<void(bool)> done) {
  auto it = groups_.find(id);
  if (it == groups_.end() || !Live(it->second)) return done(false);
  if (it->second.State() == PlacementGroupState::kCreated) return done(true);
  waiters_[id].push_back(std::move(done));
}

void PlacementGroups::Notify(const std::string& id, bool created) {
  auto it = waiters_.find(id);
  if (it == waiters_.end()) return;
  auto waiting = std::move(it->second);
  waiters_.erase(it);
  for (auto& done : waiting) done(created);
}

void PlacementGroups::OnNodes(const std::map<std::string, Bundle>& available,
                              const std::map<std::string, Bundle>& total) {
  available_ = available;
  total_ = total;
  TrySchedule();
}

void PlacementGroups::OnNodeRemoved(const std::string& node) {
  available_.erase(node);
  total_.erase(node);
  for (auto& [id, g] : groups_) {
    if (!Live(g)) continue;
    bool lost = false;
    for (auto& n : g.bundle_nodes) {
      if (n == node) {
        n.clear();
        lost = true;
      }
    }
    if (!lost) continue;
    g.state = static_cast<uint8_t>(PlacementGroupState::kRescheduling);
    Store(g);
  }
  TrySchedule();
}

namespace {

using Nodes = std::optional<std::vector<std::string>>;

/// STRICT_PACK: one node for all, the one already holding some, or any that fits all.
Nodes PlaceStrictPack(const std::vector<Bundle>& bundles, const std::vector<int>& todo,
                      std::vector<std::string> nodes, const std::set<std::string>& used,
                      std::map<std::string, Bundle>& available,
                      const std::map<std::string, Bundle>& total, std::string* why,
                      bool* infeasible) {
  Bundle need = Sum(bundles, todo);
  std::vector<std::string> candidates =
      used.empty() ? ByRoom(available) : std::vector<std::string>(used.begin(), used.end());
  for (const auto& n : candidates) {
    if (available.count(n) && Fits(available[n], need)) {
      for (int i : todo) nodes[i] = n;
      return nodes;
    }
  }
  bool any = false;
  for (const auto& [n, t] : total) any = any || Fits(t, need);
  *infeasible = !any;
  *why = *infeasible ? "STRICT_PACK: no node has the resources of all its bundles together"
                     : "STRICT_PACK: no node has room for all its bundles now";
  return std::nullopt;
}

/// STRICT_SPREAD: each bundle on a node no other bundle of it uses.
Nodes PlaceStrictSpread(const std::vector<Bundle>& bundles, const std::vector<int>& todo,
                        std::vector<std::string> nodes, std::set<std::string> used,
                        std::map<std::string, Bundle>& available,
                        const std::map<std::string, Bundle>& total, std::string* why,
                        bool* infeasible) {
  if (total.size() < bundles.size()) {
    *infeasible = true;
    *why = "STRICT_SPREAD: " + std::to_string(bundles.size()) +
           " bundles need as many nodes, the cluster has " + std::to_string(total.size());
    return std::nullopt;
  }
  for (int i : todo) {
    std::string pick;
    for (const auto& n : ByRoom(available)) {
      if (!used.count(n) && Fits(available[n], bundles[i])) {
        pick = n;
        break;
      }
    }
    if (pick.empty()) {
      *why = "STRICT_SPREAD: no node without a bundle of it has room for bundle " +
             std::to_string(i);
      return std::nullopt;
    }
    nodes[i] = pick;
    used.insert(pick);
    Take(&available[pick], bundles[i]);
  }
  return nodes;
}

/// PACK (a node it already uses first) and SPREAD (a node it does not use first).
Nodes PlaceGreedy(bool spread, const std::vector<Bundle>& bundles, const std::vector<int>& todo,
                  std::vector<std::string> nodes, std::set<std::string> used,
                  std::map<std::string, Bundle>& available,
                  const std::map<std::string, Bundle>& total, std::string* why,
                  bool* infeasible) {
  for (int i : todo) {
    std::string pick;
    for (int pass = 0; pass < 2 && pick.empty(); ++pass) {
      for (const auto& n : ByRoom(available)) {
        const bool preferred = (used.count(n) > 0) != spread;
        if ((pass == 0) == preferred && Fits(available[n], bundles[i])) {
          pick = n;
          break;
        }
      }
    }
    if (pick.empty()) {
      bool any = false;
      for (const auto& [n, t] : total) any = any || Fits(t, bundles[i]);
      *infeasible = !any;
      *why = std::string(spread ? "SPREAD" : "PACK") + ": " +
             (any ? "no node has room for bundle " : "no node has the resources of bundle ") +
             std::to_string(i) + (any ? " now" : "");
      return std::nullopt;
    }
    nodes[i] = pick;
    used.insert(pick);
    Take(&available[pick], bundles[i]);
  }
  return nodes;
}

}  // namespace

std::optional<std::vector<std::string>> PlacementGroups::Place(
    PlacementStrategy strategy, const std::vector<Bundle>& bundles,
    const std::vector<std::string>& fixed, std::map<std::string, Bundle> available,
    const std::map<std::string, Bundle>& total, std::string* why, bool* infeasible) {
  *infeasible = false;
  std::vector<std::string> nodes = fixed;
  nodes.resize(bundles.size());
  std::vector<int> todo;
  for (size_t i = 0; i < bundles.size(); ++i) {
    if (nodes[i].empty()) todo.push_back(static_cast<int>(i));
  }
  if (todo.empty()) return nodes;
  std::set<std::string> used(fixed.begin(), fixed.end());
  used.erase("");
  switch (strategy) {
    case PlacementStrategy::kStrictPack:
      return PlaceStrictPack(bundles, todo, nodes, used, available, total, why, infeasible);
    case PlacementStrategy::kStrictSpread:
      return PlaceStrictSpread(bundles, todo, nodes, used, available, total, why, infeasible);
    case PlacementStrategy::kPack:
    case PlacementStrategy::kSpread:
      return PlaceGreedy(strategy == PlacementStrategy::kSpread, bundles, todo, nodes, used,
                         available, total, why, infeasible);
  }
  *why = "unknown strategy";
  *infeasible = true;
  return std::nullopt;
}

void PlacementGroups::TrySchedule() {
  // Free resources as the nodes last reported them, less what attempts in
  // flight are preparing (not in those reports yet).
  std::map<std::string, Bundle> free = available_;
  for (const auto& [id, attempt] : attempts_) {
    const auto& g = groups_.at(id);
    for (size_t k = 0; k < attempt.indices.size(); ++k) {
      if (free.count(attempt.nodes[k])) Take(&free[attempt.nodes[k]], g.bundles[attempt.indices[k]]);
    }
  }
  for (auto& [id, g] : groups_) {
    const auto state = g.State();
    if ((state != PlacementGroupState::kPending && state != PlacementGroupState::kRescheduling) ||
        attempts_.count(id)) {
      continue;
    }
    std::string why;
    bool infeasible = false;
    auto nodes = Place(g.Strategy(), g.bundles, g.bundle_nodes, free, total_, &why, &infeasible);
    if (!nodes) {
      if (g.pending_reason != why) {
        g.pending_reason = why;
        Store(g);
      }
      continue;
    }
    for (size_t i = 0; i < nodes->size(); ++i) {
      if (g.bundle_nodes[i].empty()) Take(&free[(*nodes)[i]], g.bundles[i]);
    }
    StartAttempt(g, *nodes);
  }
}

void PlacementGroups::StartAttempt(PlacementGroupInfo& g, const std::vector<std::string>& nodes) {
  Attempt attempt;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!g.bundle_nodes[i].empty()) continue;
    attempt.indices.push_back(static_cast<int>(i));
    attempt.nodes.push_back(nodes[i]);
  }
  const std::string id = g.id;
  attempts_[id] = attempt;
  for (size_t k = 0; k < attempt.indices.size(); ++k) {
    const int index = attempt.indices[k];
    outbox_->Prepare(attempt.nodes[k], id, index, g.bundles[index],
                     [this, id, index](bool ok) { OnPrepared(id, index, ok); });
  }
}

void PlacementGroups::OnPrepared(const std::string& id, int index, bool ok) {
  auto a = attempts_.find(id);
  if (a == attempts_.end()) return;
  Attempt& attempt = a->second;
  ++attempt.answered;
  if (ok) {
    attempt.prepared.push_back(index);
  } else {
    attempt.failed = true;
  }
  if (attempt.answered == attempt.indices.size()) Finish(id);
}

void PlacementGroups::Finish(const std::string& id) {
  Attempt attempt = std::move(attempts_.at(id));
  attempts_.erase(id);
  PlacementGroupInfo& g = groups_.at(id);
  auto node_of = [&](int index) {
    auto at = std::find(attempt.indices.begin(), attempt.indices.end(), index);
    return attempt.nodes[at - attempt.indices.begin()];
  };
  if (attempt.failed || !Live(g)) {
    // All or nothing: what was set aside goes back, and the group holds nothing new.
    for (int index : attempt.prepared) outbox_->Return(node_of(index), id, index);
    if (Live(g)) {
      g.pending_reason = "a node had no room when asked (its free resources had changed)";
      Store(g);
    }
    return;  // tried again when the nodes report their free resources next
  }
  for (int index : attempt.indices) {
    g.bundle_nodes[index] = node_of(index);
    outbox_->Commit(g.bundle_nodes[index], id, index);
    // Taken until the node's next report says so itself.
    if (available_.count(g.bundle_nodes[index])) Take(&available_[g.bundle_nodes[index]], g.bundles[index]);
  }
  g.state = static_cast<uint8_t>(PlacementGroupState::kCreated);
  g.pending_reason.clear();
  Store(g);
  Notify(id, true);
}

}  // namespace ray::gcs
