// The GCS actor: cluster tables persisted in LevelDB (jobs, actors and their
// names, the task lineage log, nodes, shipped code) and, in memory, the node
// membership and the object directory. One per cluster, on the head node.
//
// Messages (payloads from actors/common/protocol.h):
//   (job)                               -> string   new job id (4 bytes, persisted counter)
//   (lineage, vector<TaskSpec>)         -> ()       appended in one LevelDB batch
//   (reserve, name, actor_id)           -> bool     false when the name is taken by a live actor
//   (lookup, name)                      -> string   actor id, empty when none
//   (actor_upd, ActorInfo)              -> ()       a DEAD actor frees its name
//   (actor_get, actor_id)               -> string   ActorInfo, empty when unknown
//   (node_reg, NodeRecord, raylet, om)  -> string   "" or why the node is refused; then
//                                                   (node_add) goes to every raylet
//   (heartbeat, node_id, available)     -> string   vector<NodeRecord> of live nodes, or
//                                                   "!removed" to a node declared dead
//   (nodes)                             -> string   vector<NodeRecord>
//   (loc_add, node_id, vector<Location>)-> ()       objects sealed on a node
//   (loc_del, node_id, ids, why)        -> ()       objects gone from a node
//   (locate, ids, om)                   -> ()       (located, vector<Location>) to `om` now
//                                                   for known ids, later for the others
//   (locs_now, ids)                     -> string   vector<Location> of the known ids
//   (job_reg, JobInfo) / (job_info, id) -> () / string
//   (job_end, job_id)                   -> ()       relayed to every raylet
//   (code_put, job_id, CodePackage)     -> ()
//   (code_get, job_id)                  -> string   CodePackage (waits for a shipped one)
//   (stats)                             -> string   "lineage_tasks=N lineage_bytes=B actors=A nodes=K"
//
// A node is declared dead when its raylet's connection drops or when no
// heartbeat came for heartbeat_timeout_ms; every raylet then gets
// (node_del, node_id, reason), and objects whose only copy was there are
// answered as lost.
#ifndef RAY_ACTORS_GCS_GCS_H_
#define RAY_ACTORS_GCS_GCS_H_

#include <caf/all.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "storage/meta/meta_store.h"

namespace ray::gcs {

struct GcsOptions {
  /// A node silent this long is declared dead.
  int64_t heartbeat_timeout_ms = 5000;
  /// Most nodes the cluster accepts (ray start --redis-max-clients); 0: no limit.
  int max_clients = 0;
  /// Cap on the lineage log (bytes of records this GCS wrote); beyond it the
  /// oldest records are evicted first (ray start --redis-max-memory). 0: no cap.
  int64_t max_memory = 0;
};

caf::actor Spawn(caf::actor_system& system, std::shared_ptr<storage::MetaStore> store,
                 GcsOptions options = {});

/// Converts a task spec to its lineage record (exposed for tests).
std::string TaskSpecToLineage(const std::string& encoded_spec);

}  // namespace ray::gcs

#endif  // RAY_ACTORS_GCS_GCS_H_
