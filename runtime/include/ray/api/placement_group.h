// Placement groups (Ray's api/task_options.h and api.h): bundles of resources
// reserved together across nodes, all or nothing, by a strategy; tasks and
// actors run in a bundle with SetPlacementGroup(group, bundle_index).
#ifndef RAY_API_PLACEMENT_GROUP_H_
#define RAY_API_PLACEMENT_GROUP_H_

#include <functional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ray {

enum class PlacementStrategy {
  PACK = 0,           // as few nodes as possible (the default)
  SPREAD = 1,         // as many nodes as possible
  STRICT_PACK = 2,    // all bundles on one node, or not placed
  STRICT_SPREAD = 3,  // each bundle on a node of its own, or not placed
  UNRECOGNIZED = -1
};

enum PlacementGroupState {
  PENDING = 0,
  PREPARED = 1,
  CREATED = 2,
  REMOVED = 3,
  RESCHEDULING = 4,
  UNRECOGNIZED = -1,
};

struct PlacementGroupCreationOptions {
  /// Unique among the live groups of the job's namespace; "" for none.
  std::string name;
  std::vector<std::unordered_map<std::string, double>> bundles;
  PlacementStrategy strategy = PlacementStrategy::PACK;
};

class PlacementGroup {
 public:
  PlacementGroup() = default;
  PlacementGroup(std::string id, PlacementGroupCreationOptions options,
                 PlacementGroupState state = PlacementGroupState::UNRECOGNIZED)
      : id_(std::move(id)), options_(std::move(options)), state_(state) {}
  /// Its id, in hex.
  std::string GetID() const { return id_; }
  std::string GetName() { return options_.name; }
  std::vector<std::unordered_map<std::string, double>> GetBundles() { return options_.bundles; }
  /// The state when this handle was made (GetPlacementGroupById asks again).
  PlacementGroupState GetState() { return state_; }
  PlacementStrategy GetStrategy() { return options_.strategy; }
  /// True once every bundle is reserved (CREATED), false when `timeout_seconds`
  /// pass first or the group is removed.
  bool Wait(int timeout_seconds) { return callback_ ? callback_(id_, timeout_seconds) : false; }
  void SetWaitCallbak(std::function<bool(const std::string&, int)> callback) {
    callback_ = std::move(callback);
  }
  bool Empty() const { return id_.empty(); }

 private:
  std::string id_;
  PlacementGroupCreationOptions options_;
  PlacementGroupState state_ = PlacementGroupState::UNRECOGNIZED;
  std::function<bool(const std::string&, int)> callback_;
};

}  // namespace ray

#endif  // RAY_API_PLACEMENT_GROUP_H_
