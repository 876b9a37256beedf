// The GCS actor: cluster tables persisted in LevelDB (jobs, actors and their
// names, the task lineage log, nodes, shipped code) and, in memory, the node
// membership and the object directory. One per cluster, on the head node.
//
// Messages (payloads from actors/common/protocol.h):
//   (job)                               -> string   new job id (4 bytes, persisted counter)
//   (lineage, vector<TaskSpec>)         -> ()       appended in one LevelDB batch
//   (reserve, name key, actor_id)       -> bool     false when the name is taken by a live actor;
//                                                   the key is proto::ActorNameKey(namespace, name)
//   (lookup, name key)                  -> string   actor id, empty when none
//   (actor_upd, ActorInfo)              -> ()       a DEAD actor frees its name
//   (actor_get, actor_id)               -> string   ActorInfo, empty when unknown
//   (node_reg, NodeRecord, raylet, om)  -> string   "", then (node_add) goes to every raylet;
//                                                   a refusal is an error (kAlreadyExists,
//                                                   kResourceExhausted, kInvalidArgument)
//   (heartbeat, node_id, available)     -> string   vector<NodeRecord> of live nodes; the
//                                                   error kRemovedFromCluster to a dead node
//   (nodes)                             -> string   vector<NodeRecord>
//   (loc_add, node_id, vector<Location>)-> ()       objects sealed on a node
//   (loc_del, node_id, ids, why)        -> ()       objects gone from a node
//   (locate, ids, om)                   -> ()       (located, vector<Location>) to `om` now
//                                                   for known ids, later for the others
//   (rebuild_sub, ids, om)              -> ()       the ids are being rebuilt: no longer
//                                                   lost; (located) to `om` as for locate
//   (locs_now, ids)                     -> string   vector<Location> of the known ids
//   (released, ids)                     -> ()       owners dropped them: lineage collection
//   (lineage_get, object_id)            -> string   TaskSpec of its producer, empty when none
//   (job_reg, JobInfo) / (job_info, id) -> () / string
//   (job_end, job_id)                   -> ()       relayed to every raylet
//   (code_put, key, CodePackage)        -> bool     stored; the key is a job id (its shipped
//                                                   code) or "working_dir_<sha256>"
//   (code_get, job_id)                  -> string   CodePackage (waits for a shipped one)
//   (stats)                             -> string   "lineage_tasks=N lineage_bytes=B actors=A nodes=K"
//
// A request whose answer depends on a store write that failed ((job),
// (reserve)) gets an error reply instead of a value it cannot stand by.
//
// A node is declared dead when its raylet's connection drops or when no
// heartbeat came for heartbeat_timeout_ms; every raylet then gets
// (node_del, node_id, reason), and objects whose only copy was there are
// answered as lost.
//
// The actor is a shell over gcs::Core (gcs_core.h), which holds the tables
// and makes every decision; the shell decodes, calls it, and sends.
#ifndef RAY_ACTORS_GCS_GCS_H_
#define RAY_ACTORS_GCS_GCS_H_

#include <caf/all.hpp>

#include <memory>
#include <string>

#include "actors/gcs/gcs_options.h"
#include "storage/meta/meta_store.h"

namespace ray::gcs {

caf::actor Spawn(caf::actor_system& system, std::shared_ptr<storage::MetaStore> store,
                 GcsOptions options = {});

/// Converts a task spec to its lineage record (exposed for tests).
std::string TaskSpecToLineage(const std::string& encoded_spec);

}  // namespace ray::gcs

#endif  // RAY_ACTORS_GCS_GCS_H_
