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
  double num_cpus = 0;                 // 0: the machine's cores
  double num_gpus = 0;
  std::map<std::string, double> resources;
  int64_t object_store_memory = 0;     // 0: min(30% of RAM, 20 GiB)
  std::string plasma_directory;
  bool huge_pages = false;
  bool log_to_driver = true;
  std::map<std::string, std::string> worker_env;
  std::string preload_library;
  std::string default_worker;
};

struct Node {
  caf::actor gcs;
  caf::actor raylet;
  caf::actor object_manager;
  uint16_t port = 0;
  std::string node_id;
  std::string session_dir;
  std::string shm_name;
  std::string shm_directory;
  std::map<std::string, double> resources;
};

/// Starts the node's actors and publishes the raylet on options.host:port.
/// Returns nullopt with `*error` naming the cause (store too large, port taken, ...).
std::optional<Node> Start(caf::actor_system& system, const NodeOptions& options,
                          std::string* error);
/// Kills the node's workers, stops its actors and removes its shared memory.
void Stop(caf::actor_system& system, Node& node);

/// Default object store size for this machine: min(30% of RAM, 20 GiB).
int64_t DefaultObjectStoreMemory();

}  // namespace ray::node

#endif  // RAY_ACTORS_NODE_NODE_H_
