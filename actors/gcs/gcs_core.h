// The GCS's decisions, without CAF: every table and rule of the GCS actor
// (gcs.h lists its messages). The CAF shell (gcs.cc) decodes each message,
// calls the Core, and delivers what the Core hands its Outbox; it also keeps
// the timers and calls CheckHeartbeats and ExpireCodeWaits when they fire.
// Single threaded, as the actor is.
#ifndef RAY_ACTORS_GCS_GCS_CORE_H_
#define RAY_ACTORS_GCS_GCS_CORE_H_

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actors/common/protocol.h"
#include "actors/common/status.h"
#include "actors/gcs/gcs_directory.h"
#include "actors/gcs/gcs_lineage.h"
#include "actors/gcs/gcs_placement.h"
#include "actors/gcs/gcs_options.h"
#include "storage/events/event_log.h"
#include "storage/meta/meta_store.h"

namespace ray::gcs {

/// A code_get waiting for its job's code: an id the shell gives the request.
using CodeToken = uint64_t;

/// What the GCS sends. Nodes are named by node id; the shell knows their
/// raylets and object managers. Placement groups' bundle requests are
/// PlacementOutbox's.
class Outbox : public PlacementOutbox {
 public:
  virtual ~Outbox() = default;
  /// To node `to`'s raylet: `added` joined (node_add, with the raylet and
  /// object manager `added` registered with).
  virtual void NodeAdded(const std::string& to, const proto::NodeRecord& added) = 0;
  /// To node `to`'s raylet: node `removed` left the cluster (node_del).
  virtual void NodeRemoved(const std::string& to, const std::string& removed,
                           const std::string& reason) = 0;
  /// To node `to`'s raylet: the job ended (job_end).
  virtual void JobEnded(const std::string& to, const std::string& job_id) = 0;
  /// To a subscriber: where these objects are, or why they are lost (located).
  virtual void Located(SubscriberId to, const std::vector<proto::Location>& found) = 0;
  /// The answer to the waiting code_get `token`: the package, or empty when
  /// none came in time. Each token is answered once.
  virtual void CodeAnswer(CodeToken token, const std::string& package) = 0;
};

/// Where the Core reads the time (a fake one in tests).
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point Now() const = 0;
};

class SteadyClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override {
    return std::chrono::steady_clock::now();
  }
};

/// The figures of (stats).
struct Stats {
  uint64_t lineage_tasks = 0;      // records logged by this GCS
  uint64_t lineage_bytes = 0;      // approximate bytes of the log on disk
  uint64_t lineage_evicted = 0;    // records dropped under max_memory
  uint64_t lineage_collected = 0;  // records no live object needed any more
  uint64_t lineage_live = 0;       // tasks tracked for collection
  uint64_t lineage_memory = 0;     // bytes counted against max_memory
  uint64_t actors = 0;
  uint64_t nodes = 0;
  uint64_t objects_located = 0;
  /// "lineage_tasks=N lineage_bytes=B ... objects_located=O" (the reply to stats).
  std::string ToString() const;
};

class Core {
 public:
  /// How long a code_get waits for the driver's code_put.
  static constexpr std::chrono::seconds kCodeWait{30};

  /// `store`, `outbox` and `clock` must outlive the Core. State kept in the
  /// store (job counter, names, actors, job infos, code, lineage) survives a
  /// new Core on the same store; membership and the object directory do not.
  Core(storage::MetaStore* store, Outbox* outbox, const Clock* clock, GcsOptions options);
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  // -- jobs and their code --
  /// A job id never handed out before on this store (4 bytes, a persisted counter).
  StatusOr<std::string> NewJobId();
  Status RegisterJob(const proto::JobInfo& info);
  /// The encoded JobInfo; empty when unknown.
  std::string GetJobInfo(const std::string& job_id) const;
  /// Tells every raylet.
  void EndJob(const std::string& job_id);
  /// Stores the package and answers the code_gets waiting for it.
  Status PutCode(const std::string& job_id, const std::string& package);
  /// The package to answer now (empty: the job ships none), or nullopt when
  /// `token` waits for the code_put; it is then answered through the Outbox,
  /// at the latest by the first ExpireCodeWaits kCodeWait after this call.
  std::optional<std::string> GetCode(const std::string& job_id, CodeToken token);
  /// Answers, empty, the code_gets that waited kCodeWait.
  void ExpireCodeWaits();

  // -- actors --
  /// False when a live actor other than `actor_id` holds the name. `name` is
  /// proto::ActorNameKey(namespace, name): names are unique per namespace.
  StatusOr<bool> ReserveName(const std::string& name, const std::string& actor_id);
  /// The actor holding the name (an ActorNameKey); empty when none.
  std::string LookupName(const std::string& name) const;
  /// Stores the actor's info; a DEAD actor frees its name.
  Status UpdateActor(const proto::ActorInfo& info);
  /// The encoded ActorInfo; empty when unknown.
  std::string GetActor(const std::string& actor_id) const;

  // -- lineage --
  Status AppendLineage(const std::vector<proto::TaskSpec>& specs);
  /// The owners dropped these objects (see LineageTable::Release).
  Status ReleaseObjects(const std::vector<std::string>& object_ids);
  /// The logged task that produced `object_id`, to run it again.
  std::optional<proto::TaskSpec> LineageOf(const std::string& object_id) const;

  // -- membership --
  /// Admits the node, or says why not (the message is the reply to node_reg).
  /// `reachable`: it came with its raylet and object manager. Every raylet
  /// hears of the new node and the new one of every other.
  Status RegisterNode(proto::NodeRecord record, bool reachable);
  /// The live nodes; kRemovedFromCluster for a node not (or no longer) in the cluster.
  StatusOr<std::vector<proto::NodeRecord>> Heartbeat(const std::string& node_id,
                                                     std::map<std::string, double> available);
  std::vector<proto::NodeRecord> Nodes() const;
  /// The node's raylet connection dropped: removes it. False when it was not a member.
  bool NodeDisconnected(const std::string& node_id);
  /// Removes the nodes (never the head) silent for heartbeat_timeout_ms; returns their ids.
  std::vector<std::string> CheckHeartbeats();
  /// How often the shell should call CheckHeartbeats.
  std::chrono::milliseconds heartbeat_check_interval() const;

  // -- object directory (see ObjectDirectory) --
  /// Ignored from a node not in the cluster (a removed node's late report).
  void AddLocations(const std::string& node_id, std::vector<proto::Location> found);
  void RemoveLocations(const std::string& node_id, const std::vector<std::string>& ids,
                       const std::string& why);
  /// Answers `sub` now for the known ids, later for the others.
  void Locate(const std::vector<std::string>& ids, SubscriberId sub);
  void Resubscribe(const std::vector<std::string>& ids, SubscriberId sub);
  std::vector<proto::Location> LocationsNow(const std::vector<std::string>& ids) const;

  Stats GetStats() const;

  // -- observability (gcs_observe.cc) --
  /// Stores a batch of profile events (an encoded events::Batch of `count`
  /// events) that came through node `node_id`'s raylet.
  Status AddEvents(const std::string& node_id, uint32_t count, const std::string& batch);
  /// The encoded events::EventsReply: every stored batch (only the events of
  /// `job_id` when it is not empty), the node addresses and the dropped count.
  std::string QueryEvents(const std::string& job_id) const;
  /// A node's answer to an observe query: its JSON report, or why there is none.
  struct NodeReport {
    std::string node_id;
    std::string json;   // empty when it did not answer
    std::string error;
  };
  /// The cluster's report for `ray status` ("status"), `ray memory`
  /// ("memory"), `ray stack` ("stack") or `ray logs` ("logs"): the nodes'
  /// reports with what the GCS knows (members, dead nodes, actors, lineage).
  /// JSON text; its schema is in docs/cli.md.
  std::string Report(const std::string& kind, const std::vector<NodeReport>& nodes) const;
  /// The live members an observe query with JSON `args` goes to: all, or the
  /// one whose id starts with (hex) or whose address is args["node"].
  std::vector<std::string> ObserveTargets(const std::string& args) const;
  /// Keeps the autoscaler's latest report (JSON object text), which "status"
  /// reports as "autoscaler". Not persisted: the autoscaler sends it every tick.
  void SetAutoscalerReport(std::string json) { autoscaler_report_ = std::move(json); }

 private:
  struct Member {
    proto::NodeRecord record;
    std::chrono::steady_clock::time_point last_heartbeat;
  };
  struct CodeWaiter {
    std::string job_id;
    std::chrono::steady_clock::time_point deadline;
  };

  void RemoveNode(const std::string& node_id, const std::string& reason);
  /// `ray memory`: each stored object gets who refers to it (from the nodes'
  /// process reports) and what made it (from the lineage log).
  void AnnotateObjects(nlohmann::json* report) const;
  /// The jobs this store knows: id, RUNNING or FINISHED, start and end, driver.
  nlohmann::json JobsJson() const;
  nlohmann::json PlacementGroupsJson() const;
  void Deliver(const Answers& answers);
  /// Logs a failed status and passes it on.
  static Status Logged(Status status);

  storage::MetaStore* store_;
  Outbox* outbox_;
  const Clock* clock_;
  const GcsOptions options_;
  LineageTable lineage_;
  ObjectDirectory directory_;
  std::map<std::string, Member> nodes_;
  struct DeadNode {
    proto::NodeRecord record;
    std::string reason;
  };
  std::map<std::string, DeadNode> dead_nodes_;  // since this GCS started
  storage::EventLog events_;
  std::map<CodeToken, CodeWaiter> code_waiters_;
  std::string autoscaler_report_;
  PlacementGroups placement_;

 public:
  /// The placement groups, placed over this GCS's members (heartbeats tell
  /// it their free resources; a removed node's bundles are placed again).
  PlacementGroups& placement() { return placement_; }
};

}  // namespace ray::gcs

#endif  // RAY_ACTORS_GCS_GCS_CORE_H_
