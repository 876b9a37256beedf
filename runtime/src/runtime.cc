// ray::Init / ray::Shutdown and the process-wide runtime.
#include "runtime/src/runtime.h"

#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <mutex>

#include "actors/common/ids.h"
#include "actors/common/profile_events.h"
#include "actors/common/logging.h"
#include "ray/api.h"
#include "runtime/src/cluster_runtime.h"
#include "runtime/src/local_mode_runtime.h"

namespace ray {
namespace runtime {
namespace {

std::mutex g_mu;
std::unique_ptr<internal::RuntimeInterface> g_runtime;  // GUARDED_BY(g_mu)
std::atomic<internal::RuntimeInterface*> g_current{nullptr};
bool g_atexit_registered = false;

std::string Unsupported(const std::string& option, const std::string& why) {
  return "RayConfig::" + option + " is not supported yet: " + why;
}

}  // namespace

void InstallRuntime(std::unique_ptr<internal::RuntimeInterface> runtime) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_current = runtime.get();
  g_runtime = std::move(runtime);
}

void SetCurrentRuntime(internal::RuntimeInterface* runtime) { g_current = runtime; }

std::string ValidateConfig(const RayConfig& c) {
  if (!c.address.empty() && !c.redis_address.empty() && c.address != c.redis_address) {
    return "RayConfig::address and RayConfig::redis_address are both set and differ";
  }
  if (c.num_cpus && *c.num_cpus < 0) return "RayConfig::num_cpus must not be negative";
  if (c.num_gpus && *c.num_gpus < 0) return "RayConfig::num_gpus must not be negative";
  if (c.object_store_memory && *c.object_store_memory <= 0) {
    return "RayConfig::object_store_memory must be positive";
  }
  for (const auto& [name, amount] : c.resources) {
    if (name == "CPU" || name == "GPU") {
      return "RayConfig::resources must not contain '" + name + "': use num_cpus / num_gpus";
    }
    if (name.empty()) return "RayConfig::resources has an empty resource name";
    if (amount < 0) return "RayConfig::resources['" + name + "'] must not be negative";
  }
  logging::Level level;
  if (!logging::ParseLevel(c.logging_level, &level)) {
    return "RayConfig::logging_level '" + c.logging_level +
           "' is not one of debug, info, warning, error";
  }
  std::string format_error;
  if (!logging::CheckFormat(c.logging_format, &format_error)) {
    return "RayConfig::logging_format: " + format_error;
  }
  if (c.huge_pages && c.plasma_directory.empty()) {
    return "RayConfig::huge_pages requires plasma_directory on a hugetlbfs mount";
  }
  struct stat st;
  if (!c.plasma_directory.empty() &&
      (stat(c.plasma_directory.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))) {
    return "RayConfig::plasma_directory '" + c.plasma_directory + "' is not a directory";
  }
  for (const auto& path : c.code_search_path) {
    if (stat(path.c_str(), &st) != 0) {
      return "RayConfig::code_search_path entry '" + path + "' does not exist";
    }
  }
  if (c.local_mode && (!c.address.empty() || !c.redis_address.empty())) {
    return "RayConfig::local_mode runs everything in the driver and cannot be combined with address";
  }
  // Seed options without an implementation yet: refuse instead of ignoring them.
  if (c.redis_max_memory && *c.redis_max_memory <= 0) {
    return "RayConfig::redis_max_memory (the GCS lineage cap) must be positive";
  }
  if (c.num_redis_shards && (*c.num_redis_shards < 1 || *c.num_redis_shards > 64)) {
    return "RayConfig::num_redis_shards (GCS LevelDB shards) must be between 1 and 64";
  }
  if (c.redis_max_clients && *c.redis_max_clients < 1) {
    return "RayConfig::redis_max_clients (most nodes in the cluster) must be at least 1";
  }
  if (c.redirect_worker_output) {
    return Unsupported("redirect_worker_output",
                       "worker output always goes to <session>/logs; use log_to_driver");
  }
  if (c.redirect_output) return Unsupported("redirect_output", "use log_to_driver");
  if (c.dashboard_port < 0 || c.dashboard_port > 65535) {
    return "RayConfig::dashboard_port must be between 0 and 65535";
  }
  if (!c.driver_id.empty()) return Unsupported("driver_id", "job ids are assigned by the GCS");
  if (!c.plasma_store_socket_name.empty()) {
    return Unsupported("plasma_store_socket_name",
                       "the object store is reached over CAF's middleman, not a Unix socket");
  }
  if (!c.raylet_socket_name.empty()) {
    return Unsupported("raylet_socket_name",
                       "the raylet is reached over CAF's middleman, not a Unix socket");
  }
  if (!c.internal_config.empty()) {
    return Unsupported("internal_config", "there are no internal settings to override");
  }
  return "";
}

}  // namespace runtime

namespace internal {

RuntimeInterface& Runtime() {
  RuntimeInterface* r = runtime::g_current.load(std::memory_order_acquire);
  if (r == nullptr) {
    throw RayException("the Ray runtime is not running: call ray::Init() first "
                       "(or it was stopped by ray::Shutdown())");
  }
  return *r;
}

void AddLocalReference(const std::string& id) {
  if (RuntimeInterface* r = runtime::g_current.load(std::memory_order_acquire)) {
    r->AddLocalReference(id);
  }
}

void RemoveLocalReference(const std::string& id) {
  if (RuntimeInterface* r = runtime::g_current.load(std::memory_order_acquire)) {
    r->RemoveLocalReference(id);
  }
}

void NoteNestedRef(const std::string& id) {
  if (RuntimeInterface* r = runtime::g_current.load(std::memory_order_acquire)) {
    r->NoteNestedRef(id);
  }
}

}  // namespace internal

namespace {

void ParseFlags(RayConfig& config, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--ray-", 0) != 0 && arg.rfind("--ray_", 0) != 0) continue;
    std::string name = arg.substr(6), value;
    auto eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    for (char& ch : name) ch = ch == '_' ? '-' : ch;
    try {
      if (name == "address") config.address = value;
      else if (name == "num-cpus") config.num_cpus = std::stoi(value);
      else if (name == "num-gpus") config.num_gpus = std::stoi(value);
      else if (name == "object-store-memory") config.object_store_memory = std::stoll(value);
      else if (name == "local-mode") config.local_mode = value.empty() || value == "true" || value == "1";
      else if (name == "temp-dir") config.temp_dir = value;
      else if (name == "code-search-path") config.code_search_path.push_back(value);
      else if (name == "logging-level") config.logging_level = value;
      else throw RayException("unknown command-line option " + arg);
    } catch (const std::invalid_argument&) {
      throw RayException("bad value in command-line option " + arg);
    } catch (const std::out_of_range&) {
      throw RayException("value out of range in command-line option " + arg);
    }
  }
}

}  // namespace

void Init() {
  RayConfig config;
  Init(config);
}

void Init(RayConfig& config, int argc, char** argv) {
  ParseFlags(config, argc, argv);
  Init(config);
}

void Init(RayConfig& config) {
  if (const char* mode = std::getenv("RAY_WORKER_MODE"); mode && *mode == '1') {
    // A worker's shim hands glibc the worker loop instead of main; reaching
    // main means it was not loaded, and going on would start a cluster from
    // every worker, and workers from each of those.
    throw RayException(
        "ray::Init: this process was started as a Ray worker but is running its own main: the "
        "worker shim libray_worker_preload.so (LD_PRELOAD) was not loaded; nothing was started");
  }
  std::lock_guard<std::mutex> lock(runtime::g_mu);
  if (runtime::g_runtime) {
    if (config.ignore_reinit_error) return;
    throw RayException("ray::Init was called twice; set RayConfig::ignore_reinit_error to allow it");
  }
  std::string problem = runtime::ValidateConfig(config);
  if (!problem.empty()) throw RayException(problem);
  logging::Level level = logging::Level::kInfo;
  logging::ParseLevel(config.logging_level, &level);
  logging::Configure(config.configure_logging ? level : logging::Level::kOff, config.logging_format);
  if (config.enable_timeline) {
    events::Recorder::Instance().SetEnabled(*config.enable_timeline);
    // The embedded node's workers inherit it.
    setenv("RAY_ENABLE_TIMELINE", *config.enable_timeline ? "1" : "0", 1);
  }
  std::string address = !config.address.empty() ? config.address : config.redis_address;
  if (address.empty() && !config.local_mode) {
    if (const char* env = std::getenv("RAY_ADDRESS")) address = env;
  }
  std::unique_ptr<internal::RuntimeInterface> rt;
  if (config.local_mode) {
    if (config.runtime_env && !config.runtime_env->Empty()) {
      throw RayRuntimeEnvException(
          "ray::Init: RayConfig::runtime_env cannot be honoured in local mode, where every task "
          "runs in the driver's own process and environment");
    }
    std::string root = config.object_id_seed
                           ? ids::Derive("local" + std::to_string(*config.object_id_seed), 0)
                           : ids::Random(16);
    rt = std::make_unique<runtime::LocalModeRuntime>(root, config.ray_namespace);
  } else {
    std::string error;
    rt = runtime::ClusterRuntime::StartDriver(config, address, &error);
    if (!rt) throw RayException("ray::Init: " + error);
  }
  runtime::g_current = rt.get();
  runtime::g_runtime = std::move(rt);
  if (!runtime::g_atexit_registered) {
    runtime::g_atexit_registered = true;
    std::atexit([] { Shutdown(); });
  }
}

bool IsInitialized() { return runtime::g_current.load() != nullptr; }

void Shutdown() {
  std::unique_ptr<internal::RuntimeInterface> rt;
  {
    std::lock_guard<std::mutex> lock(runtime::g_mu);
    runtime::g_current = nullptr;
    rt = std::move(runtime::g_runtime);
  }
  if (auto* cluster = dynamic_cast<runtime::ClusterRuntime*>(rt.get())) cluster->Shutdown();
  rt.reset();
}

std::vector<int> GetGpuIds() { return internal::Runtime().GetGpuIds(); }

namespace {
std::atomic<bool> g_actor_restarted{false};
}  // namespace

void runtime::SetActorRestarted(bool restarted) { g_actor_restarted = restarted; }
bool WasCurrentActorRestarted() { return g_actor_restarted.load(); }

std::string GetWebuiUrl() { return internal::Runtime().WebuiUrl(); }

internal::ResourceIds GetResourceIds() { return internal::Runtime().GetResourceIds(); }

}  // namespace ray
