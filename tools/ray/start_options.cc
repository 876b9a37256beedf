#include "tools/ray/start_options.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <sstream>

#include "tools/ray/cluster_config.h"
#include "tools/ray/flat_json.h"
#include "tools/ray/process.h"

namespace po = boost::program_options;

namespace ray::cli {
namespace {

constexpr int kDefaultHeadPort = 6379;  // Ray's default Redis port
// Ray 0.7's defaults for the two --internal-config keys we honour.
constexpr long long kDefaultHeartbeatIntervalMs = 100;
constexpr long long kDefaultHeartbeatsTimeout = 50;

const char kNoSockets[] =
    " is not supported: nodes and workers talk over TCP (CAF middleman), there are no Unix "
    "sockets; use --port / --object-manager-port";

/// Options of Ray 0.7 that have no counterpart here, and why.
struct Refused {
  const char* option;
  const char* reason;  // follows "--option"
};
const Refused kRefused[] = {
    {"redis-shard-ports",
     " is not supported: the GCS shards are LevelDB databases inside the head's raynode and "
     "have no ports of their own"},
    {"plasma-store-socket-name", kNoSockets},
    {"raylet-socket-name", kNoSockets},
    {"include-java", ": Java workers are not supported: this runtime runs C++ only"},
    {"java-worker-options", ": Java workers are not supported: this runtime runs C++ only"},
    {"node-manager-port",
     " is not supported: the raylet runs inside raynode and is reached on --port"},
    {"memory",
     " is not supported yet: workers have no memory resource; use --resources for custom ones"},
};

/// Options only the head takes: the GCS runs there.
const char* const kHeadOnly[] = {"num-redis-shards", "redis-max-clients", "redis-max-memory",
                                 "autoscaling-config",
                                 "gcs-dir", "dashboard-host", "dashboard-port"};

bool IsFalse(std::string value) {
  std::transform(value.begin(), value.end(), value.begin(), ::tolower);
  return value == "false" || value == "0" || value == "no";
}

bool ValidLoggingLevel(std::string level) {
  std::transform(level.begin(), level.end(), level.begin(), ::tolower);
  for (const char* known : {"debug", "info", "warning", "warn", "error", "critical"}) {
    if (level == known) return true;
  }
  return false;
}

/// Returns the value of `name` or `alias`; an error when both are given and differ.
bool OneOf(const po::variables_map& vm, const char* name, const char* alias, std::string* value,
           std::string* error) {
  bool has_name = vm.count(name) > 0, has_alias = vm.count(alias) > 0;
  if (has_name && has_alias && vm[name].as<std::string>() != vm[alias].as<std::string>()) {
    *error = std::string("--") + alias + " and --" + name + " are the same option; give one";
    return false;
  }
  if (has_name) *value = vm[name].as<std::string>();
  if (has_alias) *value = vm[alias].as<std::string>();
  return true;
}

bool ParsePort(const std::string& option, const std::string& text, int* port, std::string* error) {
  char* end = nullptr;
  long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value < 0 || value > 65535) {
    *error = "--" + option + " must be a port number between 0 and 65535, not '" + text + "'";
    return false;
  }
  *port = static_cast<int>(value);
  return true;
}

/// Maps --internal-config to raynode's heartbeat timeout (interval x missed beats).
bool InternalConfigTimeout(const std::string& text, long long* timeout_ms, std::string* error) {
  static const char kSupported[] = "num_heartbeats_timeout, raylet_heartbeat_timeout_milliseconds";
  FlatJson json;
  if (!ParseFlatJson(text, &json, error)) {
    *error = "--internal-config: " + *error;
    return false;
  }
  std::map<std::string, long long> values = {
      {"num_heartbeats_timeout", kDefaultHeartbeatsTimeout},
      {"raylet_heartbeat_timeout_milliseconds", kDefaultHeartbeatIntervalMs}};
  for (const auto& [key, value] : json) {
    auto known = values.find(key);
    if (known == values.end()) {
      *error = "--internal-config: unsupported key \"" + key + "\" (supported: " + kSupported + ")";
      return false;
    }
    if (value.kind != JsonValue::Kind::kNumber || value.number < 1 ||
        value.number != std::floor(value.number) || value.number > 1e9) {
      *error = "--internal-config: \"" + key + "\" must be a positive integer";
      return false;
    }
    known->second = static_cast<long long>(value.number);
  }
  *timeout_ms = values["num_heartbeats_timeout"] * values["raylet_heartbeat_timeout_milliseconds"];
  return true;
}

/// Options passed on to raynode under another (or the same) name.
enum class Type { kString, kInt, kInt64, kDouble, kFlag };
struct Mapped {
  const char* option;
  const char* flag;
  Type type;
};
const Mapped kMapped[] = {
    {"node-ip-address", "node-ip-address", Type::kString},
    {"object-manager-port", "object-manager-port", Type::kString},
    {"redis-password", "password", Type::kString},
    {"num-redis-shards", "gcs-shards", Type::kInt},
    {"redis-max-clients", "max-clients", Type::kInt},
    {"redis-max-memory", "gcs-max-memory", Type::kInt64},
    {"gcs-dir", "gcs-dir", Type::kString},
    {"dashboard-host", "dashboard-host", Type::kString},
    {"dashboard-port", "dashboard-port", Type::kInt},
    {"metrics-export-port", "metrics-export-port", Type::kInt},
    {"object-store-memory", "object-store-memory", Type::kInt64},
    {"num-cpus", "num-cpus", Type::kDouble},
    {"num-gpus", "num-gpus", Type::kDouble},
    {"resources", "resources", Type::kString},
    {"plasma-directory", "plasma-directory", Type::kString},
    {"huge-pages", "huge-pages", Type::kFlag},
    {"temp-dir", "temp-dir", Type::kString},
    {"load-code-from-local", "load-code-from-local", Type::kFlag},
    {"logging-level", "logging-level", Type::kString},
    {"tls-cert", "tls-cert", Type::kString},
    {"tls-key", "tls-key", Type::kString},
    {"tls-ca", "tls-ca", Type::kString},
};

/// The value of a mapped option as text; numbers must not be negative.
bool MappedValue(const po::variables_map& vm, const Mapped& mapped, std::string* text,
                 std::string* error) {
  const po::variable_value& value = vm[mapped.option];
  double number = 0;
  std::ostringstream out;
  switch (mapped.type) {
    case Type::kFlag:
      return true;
    case Type::kString:
      *text = value.as<std::string>();
      return true;
    case Type::kInt:
      number = value.as<int>();
      break;
    case Type::kInt64:
      number = static_cast<double>(value.as<int64_t>());
      break;
    case Type::kDouble:
      number = value.as<double>();
      break;
  }
  if (number < 0) {
    *error = std::string("--") + mapped.option + " must not be negative";
    return false;
  }
  if (mapped.type == Type::kInt)
    out << value.as<int>();
  else if (mapped.type == Type::kInt64)
    out << value.as<int64_t>();
  else
    out << number;
  *text = out.str();
  return true;
}

/// Checks the values raynode would otherwise reject only after starting.
bool CheckValues(const po::variables_map& vm, std::string* error) {
  int port = 0;
  if (vm.count("object-manager-port") > 0 &&
      !ParsePort("object-manager-port", vm["object-manager-port"].as<std::string>(), &port,
                 error)) {
    return false;
  }
  for (const char* option : {"num-redis-shards", "redis-max-clients"}) {
    if (vm.count(option) > 0 && vm[option].as<int>() < 1) {
      *error = std::string("--") + option + " must be at least 1";
      return false;
    }
  }
  std::map<std::string, double> resources;
  if (vm.count("resources") > 0 &&
      !ParseResources(vm["resources"].as<std::string>(), &resources, error)) {
    *error = "--resources: " + *error + " (expected e.g. '{\"Custom\": 2}')";
    return false;
  }
  if (vm.count("logging-level") > 0 && !ValidLoggingLevel(vm["logging-level"].as<std::string>())) {
    *error = "--logging-level must be debug, info, warning or error";
    return false;
  }
  return true;
}

/// Refuses the options of Ray 0.7 that have no counterpart here.
bool CheckRefused(const po::variables_map& vm, std::string* error) {
  for (const Refused& refused : kRefused) {
    if (vm.count(refused.option) == 0) continue;
    *error = std::string("--") + refused.option + refused.reason;
    return false;
  }
  return true;
}

/// Head or joining node, and the port to listen on.
bool PlanRole(const po::variables_map& vm, StartPlan* plan, std::string* error) {
  std::string address, port_text;
  if (!OneOf(vm, "address", "redis-address", &address, error) ||
      !OneOf(vm, "port", "redis-port", &port_text, error)) {
    return false;
  }
  plan->head = vm.count("head") > 0;
  if (plan->head == !address.empty()) {
    *error = plan->head ? "give --head to start a new cluster or --address to join one, not both"
                        : "give --head to start a new cluster, or --address=HOST:PORT of its head "
                          "to join one";
    return false;
  }
  if (plan->head) {
    plan->raynode_flags.push_back("--head");
  } else {
    for (const char* option : kHeadOnly) {
      if (vm.count(option) > 0) {
        *error = std::string("--") + option + " needs --head: the GCS runs on the head node";
        return false;
      }
    }
    size_t colon = address.rfind(':');
    int head_port = 0;
    if (colon == std::string::npos || colon == 0 ||
        !ParsePort("address", address.substr(colon + 1), &head_port, error) || head_port == 0) {
      *error = "--address must be HOST:PORT of the head, not '" + address + "'";
      return false;
    }
    plan->join_address = address;
    plan->raynode_flags.insert(plan->raynode_flags.end(), {"--address", address});
  }
  int port = plan->head ? kDefaultHeadPort : 0;
  if (!port_text.empty() && !ParsePort("port", port_text, &port, error)) return false;
  plan->raynode_flags.insert(plan->raynode_flags.end(), {"--port", std::to_string(port)});
  return true;
}

}  // namespace

void AddStartOptions(po::options_description* desc) {
  // clang-format off
  desc->add_options()
      ("help,h", "show this help")
      ("head", "start the head node of a new cluster (runs the GCS)")
      ("address", po::value<std::string>(), "HOST:PORT of the head: join its cluster")
      ("redis-address", po::value<std::string>(), "same as --address")
      ("port", po::value<std::string>(),
       "port this node listens on (head default 6379, other nodes 0: any free port)")
      ("redis-port", po::value<std::string>(), "same as --port")
      ("node-ip-address", po::value<std::string>(), "address to listen on (default 127.0.0.1)")
      ("redis-password", po::value<std::string>(),
       "the cluster's auth token (default: RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token)")
      ("tls-cert", po::value<std::string>(), "mutual TLS: this node's certificate (PEM)")
      ("tls-key", po::value<std::string>(), "mutual TLS: its private key (PEM)")
      ("tls-ca", po::value<std::string>(), "mutual TLS: the cluster's CA (PEM; ray create-tls-certs)")
      ("num-redis-shards", po::value<int>(), "head: GCS shards (raynode --gcs-shards, >= 1)")
      ("redis-max-clients", po::value<int>(), "head: most GCS clients (raynode --max-clients)")
      ("redis-max-memory", po::value<int64_t>(), "head: GCS memory cap in bytes (--gcs-max-memory)")
      ("gcs-dir", po::value<std::string>(),
       "head: keep the GCS's LevelDB here; a head restarted on it keeps the cluster")
      ("object-manager-port", po::value<std::string>(), "port of the object manager")
      ("object-store-memory", po::value<int64_t>(), "bytes of the shared-memory object store")
      ("num-cpus", po::value<double>(), "CPUs of this node (default: all cores)")
      ("num-gpus", po::value<double>(), "GPUs of this node")
      ("resources", po::value<std::string>(), "custom resources as JSON, e.g. '{\"Custom\": 2}'")
      ("plasma-directory", po::value<std::string>(), "directory for the store's mapped file")
      ("huge-pages", "back the store with hugetlbfs (needs --plasma-directory)")
      ("temp-dir", po::value<std::string>(), "root of session directories (default /tmp/ray)")
      ("block", "run raynode in the foreground instead of detaching it")
      ("no-redirect-worker-output", "worker output also to raynode's output, not only files")
      ("no-redirect-output", "raynode's own output stays on this terminal instead of its log file")
      ("internal-config", po::value<std::string>(),
       "JSON; only num_heartbeats_timeout and raylet_heartbeat_timeout_milliseconds")
      ("load-code-from-local", "load remote code from local files (raynode --load-code-from-local)")
      ("logging-level", po::value<std::string>(), "debug, info, warning or error")
      ("redis-shard-ports", po::value<std::string>(), "refused: GCS shards have no ports")
      ("include-webui", po::value<std::string>()->implicit_value("true"),
       "head: serve the web dashboard (README, \"Dashboard\"); =false: don't")
      ("dashboard-host", po::value<std::string>(),
       "head: the dashboard's address (default 127.0.0.1: loopback only)")
      ("dashboard-port", po::value<int>(), "head: the dashboard's port (default 8265; 0: any free)")
      ("metrics-export-port", po::value<int>(),
       "serve this node's user metrics (Prometheus text, GET /metrics) on this port")
      ("autoscaling-config", po::value<std::string>(),
       "run the autoscaler on this head with this cluster config (Ray's cluster YAML)")
      ("plasma-store-socket-name", po::value<std::string>(), "refused: no Unix sockets (TCP)")
      ("raylet-socket-name", po::value<std::string>(), "refused: no Unix sockets (TCP)")
      ("include-java", "refused: C++ workers only")
      ("java-worker-options", po::value<std::string>(), "refused: C++ workers only")
      ("node-manager-port", po::value<std::string>(), "refused: the raylet listens on --port")
      ("memory", po::value<std::string>(), "refused: no memory resource yet");
  // clang-format on
}

bool PlanStart(const po::variables_map& vm, StartPlan* plan, std::string* error) {
  if (!CheckRefused(vm, error) || !PlanRole(vm, plan, error) || !CheckValues(vm, error)) {
    return false;
  }
  auto& flags = plan->raynode_flags;
  for (const Mapped& mapped : kMapped) {
    if (vm.count(mapped.option) == 0) continue;
    std::string value;
    if (!MappedValue(vm, mapped, &value, error)) return false;
    flags.push_back(std::string("--") + mapped.flag);
    if (mapped.type != Type::kFlag) flags.push_back(value);
  }
  if (vm.count("no-redirect-worker-output") == 0) flags.push_back("--no-log-to-driver");
  if (vm.count("internal-config") > 0) {
    long long timeout_ms = 0;
    if (!InternalConfigTimeout(vm["internal-config"].as<std::string>(), &timeout_ms, error)) {
      return false;
    }
    flags.insert(flags.end(), {"--heartbeat-timeout-ms", std::to_string(timeout_ms)});
  }
  if (vm.count("redis-password") > 0) plan->password = vm["redis-password"].as<std::string>();
  if (vm.count("plasma-directory") > 0) {
    plan->plasma_directory = vm["plasma-directory"].as<std::string>();
  }
  if (vm.count("temp-dir") > 0) plan->temp_dir = vm["temp-dir"].as<std::string>();
  plan->block = vm.count("block") > 0;
  plan->include_webui = vm.count("include-webui") > 0 && !IsFalse(vm["include-webui"].as<std::string>());
  if (plan->include_webui && !plan->head) {
    *error = "--include-webui applies to the head only (start it with --head)";
    return false;
  }
  if (plan->include_webui) flags.push_back("--include-webui");
  if (!plan->include_webui && (vm.count("dashboard-host") || vm.count("dashboard-port"))) {
    *error = "--dashboard-host and --dashboard-port need --include-webui";
    return false;
  }
  plan->redirect_output = vm.count("no-redirect-output") == 0;
  if (vm.count("autoscaling-config") > 0) {
    std::string path = ExpandHome(vm["autoscaling-config"].as<std::string>());
    std::error_code ec;
    std::string absolute = std::filesystem::absolute(path, ec).string();
    ClusterConfig config;
    std::string why;
    if (!LoadClusterConfig(absolute, &config, &why)) {
      *error = "--autoscaling-config: " + why;
      return false;
    }
    if (plan->block) {
      *error = "--autoscaling-config cannot be used with --block: the autoscaler runs beside the "
               "raynode that `ray start` launches in the background";
      return false;
    }
    plan->autoscaling_config = absolute;
  }
  return true;
}

}  // namespace ray::cli
