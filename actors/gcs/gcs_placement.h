// The GCS's placement groups, as plain C++ (no CAF): the group table in the
// MetaStore, where each group's bundles go (its strategy over the nodes' free
// resources), and the two-phase reservation that makes a group all or
// nothing: every bundle is prepared on its node (the raylet sets its
// resources aside), then all are committed; if any prepare fails, the
// prepared ones are returned and the group stays PENDING, holding nothing,
// until the nodes' free resources change. When a node dies its bundles are
// placed again (RESCHEDULING) the same way.
//
// Single threaded (the GCS actor's). Requests to raylets go through
// PlacementOutbox; their answers come back as callbacks on the same thread.
#ifndef RAY_ACTORS_GCS_GCS_PLACEMENT_H_
#define RAY_ACTORS_GCS_GCS_PLACEMENT_H_

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "actors/common/placement.h"
#include "actors/common/status.h"
#include "storage/meta/meta_store.h"

namespace ray::gcs {

class PlacementOutbox {
 public:
  virtual ~PlacementOutbox() = default;
  /// Asks `node` to set `bundle` aside for bundle `index` of group `group`;
  /// `done(true)` once it did, `done(false)` when it cannot (no room, gone).
  virtual void Prepare(const std::string& node, const std::string& group, int index,
                       const proto::Bundle& bundle, std::function<void(bool)> done) = 0;
  /// The prepared bundle becomes usable by the group's tasks and actors.
  virtual void Commit(const std::string& node, const std::string& group, int index) = 0;
  /// Gives a prepared bundle back; index -1: the group was removed, and the
  /// node gives back all its bundles and ends its tasks and actors.
  virtual void Return(const std::string& node, const std::string& group, int index) = 0;
};

class PlacementGroups {
 public:
  /// Table of the groups in the MetaStore (survives a GCS restart).
  static constexpr char kTable[] = "placement_groups";

  PlacementGroups(storage::MetaStore* store, PlacementOutbox* outbox);
  /// Reads the groups a previous GCS stored (before the nodes register again).
  void Load();

  /// Registers a group and starts placing it; its id. kAlreadyExists when a
  /// live group of its namespace has its name; kInvalidArgument for no
  /// bundles, an empty bundle, or an amount that is not positive.
  StatusOr<std::string> Create(proto::PlacementGroupInfo spec);
  /// Returns its bundles and marks it REMOVED; kNotFound for an unknown id.
  Status Remove(const std::string& id);
  std::optional<proto::PlacementGroupInfo> Get(const std::string& id) const;
  std::optional<proto::PlacementGroupInfo> GetByName(const std::string& ray_namespace,
                                                     const std::string& name) const;
  std::vector<proto::PlacementGroupInfo> All() const;
  /// The resources the committed bundles on `node` add there (BundleResources).
  proto::Bundle GroupResources(const std::string& node) const;

  /// Calls `done(true)` once the group is CREATED, `done(false)` if it is
  /// removed or unknown; at once when it already is. The caller times out.
  void Wait(const std::string& id, std::function<void(bool)> done);

  /// The live nodes and their free resources now (from their heartbeats):
  /// pending groups are tried again.
  void OnNodes(const std::map<std::string, proto::Bundle>& available,
               const std::map<std::string, proto::Bundle>& total);
  /// A node died: its bundles are placed again (the group RESCHEDULING).
  void OnNodeRemoved(const std::string& node);

  /// Where the strategy puts `bundles` on nodes with `available` (node ->
  /// free resources): a node per bundle, or nullopt with `*why` when they do
  /// not fit now. `fixed` holds the nodes of bundles already placed ("" for
  /// those to place); `total` decides whether it could ever fit (`*infeasible`).
  static std::optional<std::vector<std::string>> Place(
      proto::PlacementStrategy strategy, const std::vector<proto::Bundle>& bundles,
      const std::vector<std::string>& fixed, std::map<std::string, proto::Bundle> available,
      const std::map<std::string, proto::Bundle>& total, std::string* why, bool* infeasible);

 private:
  struct Attempt {
    std::vector<int> indices;        // bundles being prepared
    std::vector<std::string> nodes;  // their nodes
    size_t answered = 0;
    bool failed = false;
    std::vector<int> prepared;       // those whose prepare succeeded
  };
  void TrySchedule();
  void StartAttempt(proto::PlacementGroupInfo& group, const std::vector<std::string>& nodes);
  void OnPrepared(const std::string& id, int index, bool ok);
  void Finish(const std::string& id);
  void Store(const proto::PlacementGroupInfo& group);
  void Notify(const std::string& id, bool created);

  storage::MetaStore* const store_;
  PlacementOutbox* const outbox_;
  std::map<std::string, proto::PlacementGroupInfo> groups_;  // by id; REMOVED ones stay
  std::map<std::string, Attempt> attempts_;                  // by group id
  std::map<std::string, std::vector<std::function<void(bool)>>> waiters_;
  std::map<std::string, proto::Bundle> available_, total_;   // the nodes' last report
};

}  // namespace ray::gcs

#endif  // RAY_ACTORS_GCS_GCS_PLACEMENT_H_
