// A node: the GCS (head only), raylet and object manager actors, the node's
// shared-memory segment and its session directory. Hosted by `raynode`, or
// embedded in a driver by ray::Init() with no address.
#ifndef RAY_ACTORS_NODE_NODE_H_
#define RAY_ACTORS_NODE_NODE_H_

#include <caf/all.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace ray::node {

struct NodeOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;                   // 0: any free port
  std::string temp_dir = "/tmp/ray";
  std::optional<double> num_cpus;      // not given: the machine's cores (0 is zero CPUs)
  double num_gpus = 0;
  std::map<std::string, double> resources;
  int64_t object_store_memory = 0;     // 0: min(30% of RAM, 20 GiB)
  std::string plasma_directory;
  bool huge_pages = false;
  bool log_to_driver = true;
  std::map<std::string, std::string> worker_env;
  std::string preload_library;
  std::string default_worker;
  // -- the cluster --
  std::string head_address;            // "host:port" of the head to join; empty: be the head
  int gcs_shards = 1;                  // head: LevelDB databases the GCS tables spread over
  std::string gcs_dir;                 // head: the GCS's LevelDB directory (default <session>/gcs);
                                       // a head restarted on it finds its tables again
  int max_clients = 0;                 // head: most nodes the cluster accepts (0: no limit)
  int64_t gcs_max_memory = 0;          // head: lineage log cap in bytes (0: none)
  uint16_t object_manager_port = 0;    // also publish the object manager here (0: don't)
  int64_t heartbeat_timeout_ms = 5000; // head: a node silent this long is dead
  bool exit_on_removal = false;        // SIGTERM this process when the GCS removed the node
  bool load_code_from_local = false;   // run other nodes' jobs from code_search_path
};

struct Node {
  caf::actor gcs;          // on the head only (a joined node reaches the head's through its raylet)
  caf::actor raylet;
  caf::actor object_manager;
  uint16_t port = 0;
  std::string node_id;
  std::string session_dir;
  std::string shm_name;
  std::string shm_directory;
  std::map<std::string, double> resources;
  uint16_t object_manager_port = 0;
};

/// Starts the node's actors, publishes the raylet on options.host:port and
/// registers the node with the GCS (its own on the head, the head's otherwise).
/// Returns nullopt with `*error` naming the cause (store too large, port taken, ...).
std::optional<Node> Start(caf::actor_system& system, const NodeOptions& options,
                          std::string* error);
/// Kills the node's workers, stops its actors and removes its shared memory.
void Stop(caf::actor_system& system, Node& node);

/// Default object store size for this machine: min(30% of RAM, 20 GiB).
int64_t DefaultObjectStoreMemory();

}  // namespace ray::node

#endif  // RAY_ACTORS_NODE_NODE_H_
