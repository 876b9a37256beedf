#include "actors/node/node.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <caf/io/all.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <sstream>
#include <thread>

#include "actors/net/atoms.h"
#include "actors/common/address.h"
#include "actors/common/ids.h"
#include "actors/common/logging.h"
#include "actors/common/private_dir.h"
#include "actors/net/errors.h"
#include "actors/net/net.h"
#include "actors/common/protocol.h"
#include "actors/gcs/gcs.h"
#include "actors/interfaces/gcs.h"
#include "actors/interfaces/raylet.h"
#include "actors/object_manager/object_manager.h"
#include "actors/raylet/raylet.h"
#include "storage/meta/meta_store.h"
#include "storage/object_store/shm_store.h"

namespace ray::node {
namespace {

std::string SessionName() {
  std::time_t now = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d_%H-%M-%S", std::localtime(&now));
  return std::string("session_") + buf + "_" + std::to_string(getpid()) + "_" +
         ids::Hex(ids::Random(3));
}

std::vector<int64_t> VisibleGpuIds(int count) {
  std::vector<int64_t> ids;
  if (const char* env = std::getenv("CUDA_VISIBLE_DEVICES")) {
    std::stringstream ss(env);
    std::string item;
    while (std::getline(ss, item, ',') && static_cast<int>(ids.size()) < count) {
      try {
        ids.push_back(std::stoll(item));
      } catch (...) {
      }
    }
  }
  for (int64_t i = static_cast<int64_t>(ids.size()); i < count; ++i) ids.push_back(i);
  return ids;
}

/// Removes segments "ray_<pid>_*" in `directory` (or /dev/shm) whose creating
/// process is gone: a node killed with SIGKILL cannot remove its own.
void RemoveStaleSegments(const std::string& directory) {
  std::error_code ec;
  std::vector<std::string> stale;
  for (const auto& e :
       std::filesystem::directory_iterator(directory.empty() ? "/dev/shm" : directory, ec)) {
    std::string name = e.path().filename().string();
    if (name.rfind("ray_", 0) != 0) continue;
    auto underscore = name.find('_', 4);
    if (underscore == std::string::npos) continue;
    pid_t pid = static_cast<pid_t>(std::atol(name.substr(4, underscore - 4).c_str()));
    if (pid > 0 && kill(pid, 0) != 0 && errno == ESRCH) stale.push_back(name);
  }
  for (const auto& name : stale) storage::ShmStore::Remove(name, directory);
}

/// Asks the head's raylet for the GCS handle; null with `*error` set on failure.
caf::actor FindGcs(caf::actor_system& system, const std::string& head,
                   std::string* error) {
  std::string host;
  uint16_t port = 0;
  if (!SplitHostPort(head, &host, &port)) {
    *error = "invalid head address '" + head + "': expected host:port";
    return nullptr;
  }
  std::string why;
  auto raylet = net::Connect(system, host, port, std::chrono::seconds(30), &why);
  if (!raylet) {
    *error = why;
    return nullptr;
  }
  caf::actor gcs;
  caf::scoped_actor self{system, true};
  self->request(caf::actor_cast<raylet::RayletActor>(raylet), std::chrono::seconds(30),
                atoms::gcs_of::value, std::string())
      .receive(
          [&](const std::string& why, const caf::actor& handle) {
            if (!why.empty()) {
              *error = "the head at " + head + " refused this node: " + why;
            } else {
              gcs = handle;
            }
          },
          [&](caf::error& err) {
            *error = "the head at " + head + " did not answer (" + net::Describe(err) + ")";
          });
  return gcs;
}

}  // namespace

int64_t DefaultObjectStoreMemory() {
  int64_t pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  int64_t ram = pages * page;
  return std::min<int64_t>(ram * 3 / 10, int64_t{20} << 30);
}

namespace {

/// The session directory (with logs/ and gcs/, all 0700) and the
/// session_latest link, under a temp root that is this user's alone: a root
/// others may write to would let them plant symlinks this node writes through.
bool MakeSession(const NodeOptions& options, Node* node, std::string* error) {
  std::string passed_over;
  const std::string root =
      options.temp_dir == kDefaultTempRoot ? DefaultRoot(&passed_over) : options.temp_dir;
  if (!passed_over.empty()) RAY_LOG(Warning) << passed_over << ": using " << root << " instead";
  if (std::string why = EnsurePrivateDir(root); !why.empty()) {
    *error = "cannot keep sessions in " + root + ": " + why +
             " (give a directory of your own with --temp-dir or RayConfig::temp_dir)";
    return false;
  }
  node->session_dir = root + "/" + SessionName();
  std::string why = EnsurePrivateDir(node->session_dir + "/logs");
  if (why.empty()) why = EnsurePrivateDir(node->session_dir + "/gcs");
  if (!why.empty()) {
    *error = "cannot create session directory " + node->session_dir + ": " + why;
    return false;
  }
  std::string latest = root + "/session_latest";
  unlink(latest.c_str());
  (void)!symlink(node->session_dir.c_str(), latest.c_str());
  return true;
}

std::shared_ptr<storage::ShmStore> CreateStore(const NodeOptions& options, Node* node,
                                               std::string* error) {
  RemoveStaleSegments(options.plasma_directory);
  storage::ShmStoreOptions store_options;
  node->shm_name = "ray_" + std::to_string(getpid()) + "_" + ids::Hex(node->node_id.substr(0, 6));
  node->shm_directory = options.plasma_directory;
  store_options.name = node->shm_name;
  store_options.directory = options.plasma_directory;
  store_options.huge_pages = options.huge_pages;
  store_options.capacity = static_cast<uint64_t>(
      options.object_store_memory > 0 ? options.object_store_memory : DefaultObjectStoreMemory());
  std::string store_error;
  auto store = storage::ShmStore::Create(store_options, &store_error);
  if (!store) *error = "cannot create the object store: " + store_error;
  return store;
}

/// The head's GCS, on its LevelDB directory.
caf::actor StartGcs(caf::actor_system& system, const NodeOptions& options, const Node& node,
                    std::string* error) {
  std::string gcs_dir = options.gcs_dir.empty() ? node.session_dir + "/gcs" : options.gcs_dir;
  // It holds the drivers' shipped executables and the cluster's metadata.
  if (std::string why = EnsurePrivateDir(gcs_dir); !why.empty()) {
    *error = "cannot create the GCS directory " + gcs_dir + ": " + why;
    return nullptr;
  }
  ::chmod(gcs_dir.c_str(), 0700);  // a --gcs-dir made 0755 before: its files are not for others
  std::string meta_error;
  std::shared_ptr<storage::MetaStore> meta =
      storage::MetaStore::Open(gcs_dir, &meta_error, options.gcs_shards);
  if (!meta) {
    *error = "cannot open the GCS database: " + meta_error;
    return nullptr;
  }
  gcs::GcsOptions gcs_options;
  gcs_options.heartbeat_timeout_ms = options.heartbeat_timeout_ms;
  gcs_options.max_clients = options.max_clients;
  gcs_options.max_memory = options.gcs_max_memory;
  return gcs::Spawn(system, std::move(meta), gcs_options);
}

raylet::RayletOptions RayletOptionsFor(const NodeOptions& options, const Node& node) {
  // Only a count that is not given means the machine's: a head of 0 CPUs
  // (the GCS and the dashboard, no work) is Ray's usual set-up.
  double cpus = options.num_cpus.has_value()
                    ? *options.num_cpus
                    : static_cast<double>(std::thread::hardware_concurrency());
  raylet::RayletOptions ro;
  ro.node_id = node.node_id;
  ro.resources = options.resources;
  ro.resources["CPU"] = cpus;
  if (options.num_gpus > 0) {
    ro.resources["GPU"] = options.num_gpus;
    ro.unit_ids["GPU"] = VisibleGpuIds(static_cast<int>(options.num_gpus));
  }
  ro.session_dir = node.session_dir;
  ro.shm_name = node.shm_name;
  ro.shm_directory = node.shm_directory;
  ro.log_to_driver = options.log_to_driver;
  ro.preload_library = options.preload_library;
  ro.default_worker = options.default_worker;
  ro.worker_env = options.worker_env;
  // Workers prove themselves with the node's token (net.h).
  if (net::Auth().mode == auth::Mode::kDisabled) {
    ro.worker_env["RAY_AUTH_MODE"] = "disabled";
  } else {
    ro.worker_env["RAY_AUTH_TOKEN"] = net::Auth().token;
  }
  ro.heartbeat_period_ms = std::clamp<int64_t>(options.heartbeat_timeout_ms / 5, 20, 500);
  ro.exit_on_removal = options.exit_on_removal;
  ro.load_code_from_local = options.load_code_from_local;
  ro.head_address = options.head_address;
  return ro;
}

/// Publishes the raylet (and the object manager when asked) on their ports.
bool Listen(caf::actor_system& system, const NodeOptions& options, Node* node,
            std::string* error) {
  std::string why;
  node->port = net::Publish(system, node->raylet, options.port, options.host, true, &why);
  if (node->port == 0) {
    *error = "cannot listen on " + options.host + ":" + std::to_string(options.port) + ": " + why;
    return false;
  }
  raylet::SetAddress(node->raylet, options.host, node->port);
  if (options.object_manager_port == 0) return true;
  node->object_manager_port = net::Publish(system, node->object_manager,
                                           options.object_manager_port, options.host, true, &why);
  if (node->object_manager_port == 0) {
    *error = "cannot listen on " + options.host + ":" +
             std::to_string(options.object_manager_port) + " (object manager port): " + why;
    return false;
  }
  return true;
}

/// Registers the node with the GCS; its record, or nullopt with `*error` set.
std::optional<proto::NodeRecord> Register(caf::actor_system& system, const caf::actor& gcs,
                                          const NodeOptions& options, const Node& node,
                                          std::string* error) {
  proto::NodeRecord record;
  record.node_id = node.node_id;
  record.address = options.host + ":" + std::to_string(node.port);
  record.total = node.resources;
  record.session_dir = node.session_dir;
  record.is_head = options.head_address.empty();
  std::string refused;
  caf::scoped_actor self{system, true};
  self->request(caf::actor_cast<gcs::GcsActor>(gcs), std::chrono::seconds(30),
                atoms::node_reg::value, proto::Encode(record), node.raylet, node.object_manager)
      .receive([](const std::string&) {},
               [&](caf::error& err) {
                 refused = err.category() == net::kErrorCategory
                               ? net::Describe(err)
                               : "GCS unreachable (" + net::Describe(err) + ")";
               });
  if (!refused.empty()) {
    *error = "the cluster refused this node: " + refused;
    return std::nullopt;
  }
  return record;
}

}  // namespace

std::optional<Node> Start(caf::actor_system& system, const NodeOptions& options,
                          std::string* error) {
  Node node;
  node.node_id = ids::Random(16);
  if (!MakeSession(options, &node, error)) return std::nullopt;
  std::shared_ptr<storage::ShmStore> store = CreateStore(options, &node, error);
  if (!store) return std::nullopt;
  caf::actor gcs = options.head_address.empty() ? StartGcs(system, options, node, error)
                                                : FindGcs(system, options.head_address, error);
  if (!gcs) {
    storage::ShmStore::Remove(node.shm_name, node.shm_directory);
    return std::nullopt;
  }
  if (options.head_address.empty()) node.gcs = gcs;
  raylet::RayletOptions ro = RayletOptionsFor(options, node);
  node.resources = ro.resources;
  node.object_manager = object_manager::Spawn(system, std::move(store), node.node_id, gcs);
  node.raylet = raylet::Spawn(system, ro, gcs, node.object_manager);
  caf::send_as(node.raylet, node.object_manager, atoms::set_raylet::value, node.raylet);
  std::optional<proto::NodeRecord> record;
  if (Listen(system, options, &node, error)) record = Register(system, gcs, options, node, error);
  if (!record) {
    Stop(system, node);
    return std::nullopt;
  }
  raylet::StartHeartbeats(node.raylet, proto::Encode(*record));
  return node;
}

void Stop(caf::actor_system& system, Node& node) {
  caf::scoped_actor self{system, true};
  for (uint16_t* port : {&node.port, &node.object_manager_port}) {
    if (*port != 0) net::Unpublish(*port);
    *port = 0;
  }
  for (caf::actor* a : {&node.raylet, &node.object_manager, &node.gcs}) {
    if (!*a) continue;
    self->monitor(*a);
    if (a == &node.raylet) {
      self->send(*a, atoms::shutdown::value);
    } else {
      self->send_exit(*a, caf::exit_reason::user_shutdown);
    }
    self->receive([](const caf::down_msg&) {},
                  caf::after(std::chrono::seconds(10)) >> [] {});
    *a = nullptr;
  }
  if (!node.shm_name.empty()) {
    storage::ShmStore::Remove(node.shm_name, node.shm_directory);
    node.shm_name.clear();
  }
}

}  // namespace ray::node
