// The GCS actor: cluster tables persisted in LevelDB (jobs, actors and their
// names, the task lineage log). One per cluster, on the head node.
//
// Messages:
//   (job)                          -> string job id (4 bytes, persisted counter)
//   (lineage, vector<TaskSpec>)    -> ()       appended in one LevelDB batch
//   (reserve, name, actor_id)      -> bool     false when the name is taken by a live actor
//   (lookup, name)                 -> string   actor id, empty when none
//   (actor_upd, ActorInfo)         -> ()       a DEAD actor frees its name
//   (stats)                        -> string   "lineage_tasks=N lineage_bytes=B actors=A"
#ifndef RAY_ACTORS_GCS_GCS_H_
#define RAY_ACTORS_GCS_GCS_H_

#include <caf/all.hpp>

#include <memory>
#include <string>

#include "storage/meta/meta_store.h"

namespace ray::gcs {

caf::actor Spawn(caf::actor_system& system, std::shared_ptr<storage::MetaStore> store);

/// Converts a task spec to its lineage record (exposed for tests).
std::string TaskSpecToLineage(const std::string& encoded_spec);

}  // namespace ray::gcs

#endif  // RAY_ACTORS_GCS_GCS_H_
