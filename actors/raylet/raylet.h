// The raylet actor of a node: the CAF shell around raylet::Core
// (raylet_core.h), which holds the logic. The shell decodes messages, calls
// the core, and delivers what the core sends (raylet.cc).
//
// Messages (payloads from actors/common/protocol.h):
//   (hello, Hello, actor client)  -> (NodeInfo, object manager, gcs)
//   (submit, TaskSpec)            -> ()   task, actor creation or actor method call
//   (done, ExecReply)             -> ()   from a worker
//   (blocked|unblocked, worker)   -> ()   a worker waits in Get: lend its CPU out
//   (release, object id)          -> ()   forwarded to the object manager, in order
//                                         after the client's earlier submits
//   (create, id, size)            -> delegated to the object manager, after earlier releases
//   (kill, actor id, no_restart)  -> ()
//   (stats)                       -> string
//   (shutdown)                    -> ()   kills every worker, then quits
//
// Between nodes (see docs/architecture.md, "Many nodes"):
//   (node_add, NodeRecord, raylet, om) / (node_del, node id, reason)  from the GCS
//   (submit, TaskSpec) with hops > 0   a task or actor call another raylet spilled here
//   (fwd_done, task id, entries)       the node that ran a forwarded task returns its
//                                      small results to the origin node
//   (job_end, job id)                  a driver elsewhere exited
//   (gcs_of, unused)                   -> (error, gcs): how a joining node finds the GCS
#ifndef RAY_ACTORS_RAYLET_RAYLET_H_
#define RAY_ACTORS_RAYLET_RAYLET_H_

#include <caf/all.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "actors/raylet/raylet_core.h"

namespace ray::raylet {


/// Spawns the raylet. Workers are told to connect to `node_address`
/// ("host:port"), which the caller learns after publishing, so it is sent
/// afterwards with SetAddress.
caf::actor Spawn(caf::actor_system& system, RayletOptions options, caf::actor gcs,
                 caf::actor object_manager);
void SetAddress(const caf::actor& raylet, const std::string& host, uint16_t port);
/// Starts the heartbeats to the GCS once the node is registered with
/// `record` (an encoded NodeRecord, used again to re-register after a GCS
/// restart).
void StartHeartbeats(const caf::actor& raylet, const std::string& record);

}  // namespace ray::raylet

#endif  // RAY_ACTORS_RAYLET_RAYLET_H_
