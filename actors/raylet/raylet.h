// The raylet actor of a node: worker pool, resource-aware scheduling of tasks,
// and the lifecycle of the actors hosted on the node (creation, ordered
// method calls, restarts, kill).
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

namespace ray::raylet {

struct RayletOptions {
  std::string node_id;
  std::map<std::string, double> resources;                 // totals, incl. CPU/GPU
  std::map<std::string, std::vector<int64_t>> unit_ids;    // e.g. GPU ids
  std::string session_dir;                                 // logs go to <session_dir>/logs
  std::string shm_name;
  std::string shm_directory;
  bool log_to_driver = true;
  std::string preload_library;       // libray_worker_preload.so
  std::string default_worker;        // ray_default_worker (code_search_path mode)
  std::map<std::string, std::string> worker_env;  // logging settings etc.
  int max_worker_startup_failures = 3;
  int64_t heartbeat_period_ms = 500;
  bool exit_on_removal = false;      // raynode: SIGTERM itself when the GCS declared it dead
  bool load_code_from_local = false; // run other nodes' jobs from code_search_path, not shipped code
  std::string head_address;          // non-head nodes: reconnect here when the GCS is lost
};

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
