// RayConfig: the options of ray::Init, named after Ray 0.7's ray.init keywords.
#ifndef RAY_API_RAY_CONFIG_H_
#define RAY_API_RAY_CONFIG_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ray/api/runtime_env.h"

namespace ray {

/// Whether an actor shares the fate of its owner (Ray's `lifetime`).
enum class ActorLifetime {
  /// Dies with its owner: the driver, or the worker process of the task or
  /// actor that created it.
  NON_DETACHED,
  /// Lives until it is killed (or ends itself); outlives its driver, and other
  /// jobs find it by name with ray::GetActor.
  DETACHED,
};

struct RayConfig {
  /// "host:port" of a running raynode. Empty: start an embedded one-node cluster.
  /// The RAY_ADDRESS environment variable is used when this is empty.
  std::string address;
  /// Ray 0.7's name for `address`; accepted as an alias (both set and different is an error).
  std::string redis_address;
  /// CPUs of the embedded node; default: the machine's core count. 0 is a node of
  /// no CPUs (a driver that only submits work to other nodes).
  std::optional<int> num_cpus;
  /// GPUs of the embedded node; default 0. Ids are 0..n-1, or taken from CUDA_VISIBLE_DEVICES.
  std::optional<int> num_gpus;
  /// Custom resources of the embedded node: name -> amount.
  std::map<std::string, double> resources;
  /// Bytes of the node's shared-memory object store; default min(30% of RAM, 20 GiB).
  std::optional<int64_t> object_store_memory;
  /// Run every task and actor inside the driver process, serially (debugging).
  bool local_mode = false;
  /// Print the workers' stdout/stderr on the driver's, each line prefixed "(pid=N)".
  bool log_to_driver = true;
  /// Seed for deterministic task and object ids across runs of the same job.
  std::optional<int64_t> object_id_seed;
  /// Make a second Init a no-op instead of an error.
  bool ignore_reinit_error = false;
  /// Root of the session directories (logs, GCS database); default /tmp/ray.
  std::string temp_dir;
  /// Directory holding the object store's memory-mapped file; default /dev/shm (POSIX shm).
  std::string plasma_directory;
  /// Back the store with hugetlbfs; requires plasma_directory on a hugetlbfs mount.
  bool huge_pages = false;
  /// "debug", "info", "warning", "error" (or Python's 10/20/30/40). Default "info".
  std::string logging_level = "info";
  /// Python-logging style format: %(asctime)s %(levelname)s %(filename)s %(lineno)s %(message)s.
  std::string logging_format = "%(asctime)s\t%(levelname)s %(filename)s:%(lineno)s -- %(message)s";
  /// False: the runtime logs nothing of its own to stderr (the user configures logging).
  bool configure_logging = true;
  /// Address the embedded node listens on (default 127.0.0.1).
  std::string node_ip_address;
  /// Shared libraries (files or directories of .so) holding the RAY_REMOTE functions.
  /// When set, workers run the generic ray_default_worker and dlopen these instead of
  /// re-running the driver's executable.
  std::vector<std::string> code_search_path;

  /// The cluster password. With an address: the one the head was started with
  /// (ray start --redis-password); without: the embedded head requires it from
  /// nodes and drivers that join it.
  std::string redis_password;
  /// False (the seed's default): workers on other hosts run code shipped from
  /// this driver through the GCS. True: each host loads it from code_search_path.
  bool load_code_from_local = false;
  // The GCS is LevelDB, not Redis; these configure the embedded head (no address):
  /// LevelDB databases the GCS tables are spread over.
  std::optional<int> num_redis_shards;
  /// Cap in bytes of the lineage log, and of the profile-event table (each);
  /// the oldest records are evicted first.
  std::optional<int64_t> redis_max_memory;
  /// Most nodes the embedded head accepts.
  std::optional<int> redis_max_clients;

  /// Record profile events (tasks, ray.get/put/wait, submissions, ray::Profile
  /// spans) for ray::Timeline and `ray timeline`. Unset: on, unless the
  /// environment has RAY_ENABLE_TIMELINE=0. Workers of an embedded cluster
  /// follow this; those of a `ray start` node follow that node's environment.
  std::optional<bool> enable_timeline;

  /// The seed's include_webui: the embedded cluster serves the web dashboard
  /// (ray::GetWebuiUrl() says where; log in with the cluster's token). With an
  /// address, start the head with `ray start --head --include-webui` instead.
  bool include_webui = false;
  std::string dashboard_host = "127.0.0.1";  // loopback only unless set
  int dashboard_port = 8265;                 // 0: any free port

  /// The job's namespace: named actors are unique per namespace, and
  /// ray::GetActor(name) looks in this one. Empty: an anonymous namespace of
  /// this job's own, as in Ray.
  std::string ray_namespace;
  /// The lifetime of actors created without ActorCreator::SetLifetime.
  ActorLifetime default_actor_lifetime = ActorLifetime::NON_DETACHED;
  /// The job's runtime env (env_vars, working_dir: see ray/api/runtime_env.h):
  /// every task and actor of the job runs in it, unless they set their own,
  /// which is merged over it. Checked, and a working_dir shipped, at Init.
  std::optional<RuntimeEnv> runtime_env;

  // -- seed options not supported yet: Init rejects a non-default value, naming it --
  std::optional<bool> redirect_worker_output;
  std::optional<bool> redirect_output;
  std::string driver_id;
  std::string plasma_store_socket_name;
  std::string raylet_socket_name;
  std::string internal_config;
};

}  // namespace ray

#endif  // RAY_API_RAY_CONFIG_H_
