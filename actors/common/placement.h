// Placement groups as the GCS keeps them (Ray's PlacementGroupCreationOptions
// and the group table): bundles of resources reserved together, on the nodes
// a strategy allows. Plain data (msgpack): the table's rows and the messages'
// payloads. The logic is actors/gcs/gcs_placement.h.
#ifndef RAY_ACTORS_COMMON_PLACEMENT_H_
#define RAY_ACTORS_COMMON_PLACEMENT_H_

#include <msgpack.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ray::proto {

/// Ray's PlacementStrategy, same values.
enum class PlacementStrategy : uint8_t {
  kPack = 0,          // as few nodes as possible, spilling over when they lack room
  kSpread = 1,        // as many nodes as possible, sharing when there are fewer
  kStrictPack = 2,    // all on one node, or not at all
  kStrictSpread = 3,  // each on a node of its own, or not at all
};

/// Ray's PlacementGroupState, same values.
enum class PlacementGroupState : uint8_t {
  kPending = 0,       // not placed yet (no room, or infeasible now)
  kPrepared = 1,      // every bundle reserved, not yet committed
  kCreated = 2,       // committed: tasks and actors may use it
  kRemoved = 3,
  kRescheduling = 4,  // a node of it died: its bundles there are placed again
};

using Bundle = std::map<std::string, double>;

struct PlacementGroupInfo {
  std::string id;        // 16 bytes
  std::string name;      // "" for none; unique per namespace among live groups
  std::string ray_namespace;
  std::string job_id;    // the creator's
  uint8_t strategy = 0;  // PlacementStrategy
  std::vector<Bundle> bundles;
  uint8_t state = 0;     // PlacementGroupState
  std::vector<std::string> bundle_nodes;  // node id of each bundle; "" while unplaced
  std::string pending_reason;             // why it is not placed yet, for ray status
  PlacementStrategy Strategy() const { return static_cast<PlacementStrategy>(strategy); }
  PlacementGroupState State() const { return static_cast<PlacementGroupState>(state); }
  MSGPACK_DEFINE(id, name, ray_namespace, job_id, strategy, bundles, state, bundle_nodes,
                 pending_reason);
};

/// What a placed bundle adds to its node's resources, by Ray's names: for
/// each resource R of bundle `index` of group `hex_id`, "R_group_<index>_<id>"
/// (that bundle) and "R_group_<id>" (any bundle of the group, summed over
/// the node's), and 1000 units of "bundle_group_<index>_<id>" and
/// "bundle_group_<id>", of which every task or actor in the group takes a
/// thousandth, so that one asking for no resources still goes to the bundle's node.
inline Bundle BundleResources(const std::string& hex_id, int index, const Bundle& bundle) {
  Bundle out;
  const std::string indexed = "_group_" + std::to_string(index) + "_" + hex_id;
  const std::string wildcard = "_group_" + hex_id;
  for (const auto& [name, amount] : bundle) {
    out[name + indexed] += amount;
    out[name + wildcard] += amount;
  }
  out["bundle" + indexed] += 1000;
  out["bundle" + wildcard] += 1000;
  return out;
}

/// A request of a task or actor placed in bundle `index` (-1: any) of group
/// `hex_id`: each resource R asked for becomes the group's (see BundleResources).
inline Bundle RequestInGroup(const std::string& hex_id, int index, const Bundle& request) {
  Bundle out;
  const std::string wildcard = "_group_" + hex_id;
  const std::string indexed = "_group_" + std::to_string(index) + "_" + hex_id;
  for (const auto& [name, amount] : request) {
    if (amount <= 0) continue;
    out[name + wildcard] += amount;
    if (index >= 0) out[name + indexed] += amount;
  }
  out["bundle" + (index >= 0 ? indexed : wildcard)] += 0.001;
  return out;
}

/// "CPU" of "CPU_group_0_<id>" or "CPU_group_<id>"; `name` itself when it is
/// not a group resource.
inline std::string BaseResource(const std::string& name) {
  size_t at = name.find("_group_");
  return at == std::string::npos ? name : name.substr(0, at);
}

inline const char* StrategyName(PlacementStrategy s) {
  switch (s) {
    case PlacementStrategy::kPack: return "PACK";
    case PlacementStrategy::kSpread: return "SPREAD";
    case PlacementStrategy::kStrictPack: return "STRICT_PACK";
    case PlacementStrategy::kStrictSpread: return "STRICT_SPREAD";
  }
  return "UNRECOGNIZED";
}

inline const char* StateName(PlacementGroupState s) {
  switch (s) {
    case PlacementGroupState::kPending: return "PENDING";
    case PlacementGroupState::kPrepared: return "PREPARED";
    case PlacementGroupState::kCreated: return "CREATED";
    case PlacementGroupState::kRemoved: return "REMOVED";
    case PlacementGroupState::kRescheduling: return "RESCHEDULING";
  }
  return "UNRECOGNIZED";
}

}  // namespace ray::proto

#endif  // RAY_ACTORS_COMMON_PLACEMENT_H_
