// The object manager actor of a node: the object table (small objects inline,
// large ones in the node's shared-memory segment), Get/Wait with timeouts,
// pinning, and LRU eviction of objects that are neither pinned nor referenced by their
// owner when the segment is full. Its logic is plain C++ in om_core.h; the actor
// (object_manager.cc) decodes these messages for it and sends what it decides.
//
// Messages (payloads are msgpack structs from actors/common/protocol.h):
//   (put, ObjectEntry)                -> ()         store a sealed object
//   (create, id, size)                -> CreateReply allocate shm for a large object; waits
//                                                   up to 1 s for space (releases, unpins)
//   (get, GetRequest)                 -> GetReply   when all ready, or timed out
//   (wait, WaitRequest)               -> string of '0'/'1' per id
//   (release, id)                     -> ()         the owner dropped its last ObjectRef
//                                                   (relayed to the other nodes as
//                                                   (release, id, true))
//   (unpin, client_id, vector<id>)    -> ()         release pins taken by get
//   (gone, client_id)                 -> ()         release every pin of a dead client
//   (stats)                           -> string     "objects=N shm_bytes=B pinned=P evicted=E ..."
//
// Between nodes (once the raylet reports another node with node_add):
//   every sealed object is reported to the GCS (loc_add, batched); a Get or
//   Wait for an object missing here asks the GCS where it is (locate) and, on
//   (located), pulls it from that node's object manager:
//   (pull, id, requester node)        -> ObjectEntry (inline bytes, or the size of a shm
//                                                    object, which stays pinned); empty id: not here
//   (chunk, id, offset, len)          -> string     bytes of a shm object; the requester
//                                                   keeps a window of chunks in flight
//   (pull_end, id, requester node)    -> ()         unpins it at the source
//   (node_add, node id, om) / (node_del, node id)   from the raylet
#ifndef RAY_ACTORS_OBJECT_MANAGER_OBJECT_MANAGER_H_
#define RAY_ACTORS_OBJECT_MANAGER_OBJECT_MANAGER_H_

#include <caf/all.hpp>

#include <memory>
#include <string>

#include "storage/object_store/shm_store.h"

namespace ray::object_manager {

/// Spawns the object manager owning `store` (created by the node) of node
/// `node_id`, reporting object locations to `gcs`.
caf::actor Spawn(caf::actor_system& system, std::shared_ptr<storage::ShmStore> store,
                 std::string node_id, caf::actor gcs);

}  // namespace ray::object_manager

#endif  // RAY_ACTORS_OBJECT_MANAGER_OBJECT_MANAGER_H_
