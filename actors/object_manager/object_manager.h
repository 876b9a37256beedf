// The object manager actor of a node: the object table (small objects inline,
// large ones in the node's shared-memory segment), Get/Wait with timeouts,
// pinning, and LRU eviction of objects that are neither pinned nor referenced by their
// owner when the segment is full.
//
// Messages (payloads are msgpack structs from actors/common/protocol.h):
//   (put, ObjectEntry)                -> ()         store a sealed object
//   (create, id, size)                -> CreateReply allocate shm for a large object; waits
//                                                   up to 1 s for space (releases, unpins)
//   (get, GetRequest)                 -> GetReply   when all ready, or timed out
//   (wait, WaitRequest)               -> string of '0'/'1' per id
//   (release, id)                     -> ()         the owner dropped its last ObjectRef
//   (unpin, client_id, vector<id>)    -> ()         release pins taken by get
//   (gone, client_id)                 -> ()         release every pin of a dead client
//   (stats)                           -> string     "objects=N shm_bytes=B pinned=P evicted=E"
#ifndef RAY_ACTORS_OBJECT_MANAGER_OBJECT_MANAGER_H_
#define RAY_ACTORS_OBJECT_MANAGER_OBJECT_MANAGER_H_

#include <caf/all.hpp>

#include <memory>

#include "storage/object_store/shm_store.h"

namespace ray::object_manager {

/// Spawns the object manager owning `store` (created by the node).
caf::actor Spawn(caf::actor_system& system, std::shared_ptr<storage::ShmStore> store);

}  // namespace ray::object_manager

#endif  // RAY_ACTORS_OBJECT_MANAGER_OBJECT_MANAGER_H_
