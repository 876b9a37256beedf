#include "tools/ray/cluster_config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

namespace ray::cli {
namespace {

/// Ray's keys that this launcher does not honour, and why (an accepted key
/// that did nothing would be a bug).
const std::map<std::string, std::string> kRefusedKeys = {
    {"docker", "containers are not supported: nodes run raynode directly"},
    {"head_node", "Ray 1.x's head_node is not supported: use available_node_types"},
    {"worker_nodes", "Ray 1.x's worker_nodes is not supported: use available_node_types"},
    {"upscaling_speed", "the autoscaler launches what the demand needs, without a speed setting"},
    {"rsync_exclude", "file mounts are copied whole (rsync, else scp)"},
    {"rsync_filter", "file mounts are copied whole (rsync, else scp)"},
    {"cluster_synced_files", "only file_mounts are copied"},
    {"file_mounts_sync_continuously", "file mounts are copied when ray up runs"},
};

const std::set<std::string> kTopKeys = {
    "cluster_name", "min_workers", "max_workers", "idle_timeout_minutes", "provider", "auth",
    "file_mounts", "initialization_commands", "setup_commands", "head_setup_commands",
    "worker_setup_commands", "head_start_ray_commands", "worker_start_ray_commands",
    "available_node_types", "head_node_type"};

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void Fail(const YAML::Node& at, const std::string& what) const {
    const int line = at.Mark().line >= 0 ? at.Mark().line + 1 : 0;
    throw ConfigError(source_ + (line > 0 ? ":" + std::to_string(line) : "") + ": " + what);
  }

  void CheckKeys(const YAML::Node& map, const std::set<std::string>& known,
                 const std::string& where) const {
    if (!map.IsMap()) Fail(map, where + " must be a mapping");
    for (const auto& item : map) {
      const std::string key = item.first.as<std::string>();
      if (known.count(key)) continue;
      auto refused = kRefusedKeys.find(key);
      if (where == "the config" && refused != kRefusedKeys.end()) {
        Fail(item.first, "'" + key + "' is not supported: " + refused->second);
      }
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      Fail(item.first, "unknown key '" + key + "' in " + where + " (known: " + list + ")");
    }
  }

  std::string String(const YAML::Node& node, const std::string& key) const {
    if (!node.IsScalar()) Fail(node, "'" + key + "' must be a string");
    return node.as<std::string>();
  }

  int Count(const YAML::Node& node, const std::string& key) const {
    int value = 0;
    if (!node.IsScalar() || !YAML::convert<int>::decode(node, value) || value < 0) {
      Fail(node, "'" + key + "' must be a whole number >= 0, not '" + Text(node) + "'");
    }
    return value;
  }

  double Number(const YAML::Node& node, const std::string& key) const {
    double value = 0;
    if (!node.IsScalar() || !YAML::convert<double>::decode(node, value) || value < 0) {
      Fail(node, "'" + key + "' must be a number >= 0, not '" + Text(node) + "'");
    }
    return value;
  }

  std::vector<std::string> Strings(const YAML::Node& node, const std::string& key) const {
    if (!node.IsSequence()) Fail(node, "'" + key + "' must be a list of strings");
    std::vector<std::string> out;
    for (const auto& item : node) out.push_back(String(item, key + " item"));
    return out;
  }

  std::map<std::string, std::string> StringMap(const YAML::Node& node, const std::string& key) const {
    if (!node.IsMap()) Fail(node, "'" + key + "' must be a mapping of strings");
    std::map<std::string, std::string> out;
    for (const auto& item : node) out[item.first.as<std::string>()] = String(item.second, key + " value");
    return out;
  }

  static std::string Text(const YAML::Node& node) {
    if (node.IsScalar()) return node.as<std::string>();
    std::stringstream ss;
    ss << node;
    return ss.str();
  }

 private:
  std::string source_;
};

void ReadProvider(const Reader& r, const YAML::Node& node, ClusterConfig::Provider* p) {
  r.CheckKeys(node, {"type", "head_ip", "worker_ips", "head_port"}, "provider");
  if (!node["type"]) r.Fail(node, "provider needs a 'type' (local or fake_multinode)");
  p->type = r.String(node["type"], "type");
  if (p->type != "local" && p->type != "fake_multinode") {
    r.Fail(node["type"], "provider type '" + p->type +
                             "' is not supported: local (hosts over SSH) or fake_multinode "
                             "(raynode processes on this machine)");
  }
  if (node["head_ip"]) p->head_ip = r.String(node["head_ip"], "head_ip");
  if (node["worker_ips"]) p->worker_ips = r.Strings(node["worker_ips"], "worker_ips");
  if (node["head_port"]) {
    p->head_port = r.Count(node["head_port"], "head_port");
    if (p->head_port < 1 || p->head_port > 65535) r.Fail(node["head_port"], "'head_port' must be a port, 1 to 65535");
  }
  if (p->type == "local" && p->head_ip.empty()) {
    r.Fail(node, "the local provider needs 'head_ip' (the head host's address)");
  }
  if (p->type == "fake_multinode" && (node["head_ip"] || node["worker_ips"] || node["head_port"])) {
    r.Fail(node, "fake_multinode runs every node on this machine: no head_ip, worker_ips or "
                 "head_port (it picks a free port)");
  }
}

void ReadNodeTypes(const Reader& r, const YAML::Node& node, ClusterConfig* c) {
  if (!node.IsMap()) r.Fail(node, "'available_node_types' must be a mapping of node type names");
  for (const auto& item : node) {
    const std::string name = item.first.as<std::string>();
    const YAML::Node& spec = item.second;
    r.CheckKeys(spec, {"resources", "min_workers", "max_workers", "node_config"},
                "node type '" + name + "'");
    NodeType type;
    type.max_workers = c->max_workers;  // Ray: a type without max_workers is capped by the cluster's
    if (spec["resources"]) {
      if (!spec["resources"].IsMap()) r.Fail(spec["resources"], "'resources' must be a mapping");
      for (const auto& res : spec["resources"]) {
        type.resources[res.first.as<std::string>()] = r.Number(res.second, "resources." + res.first.as<std::string>());
      }
    }
    if (spec["min_workers"]) type.min_workers = r.Count(spec["min_workers"], "min_workers");
    if (spec["max_workers"]) type.max_workers = r.Count(spec["max_workers"], "max_workers");
    if (type.min_workers > type.max_workers) {
      r.Fail(spec, "node type '" + name + "': min_workers " + std::to_string(type.min_workers) +
                       " is more than max_workers " + std::to_string(type.max_workers));
    }
    if (spec["node_config"]) type.node_config = r.StringMap(spec["node_config"], "node_config");
    if (!type.node_config.empty()) {
      // What a cloud provider would read (instance type, image); these two
      // providers have nothing to set per node, and an ignored setting would be a bug.
      r.Fail(spec["node_config"], "node type '" + name + "': node_config is not supported by the " +
                                      c->provider.type + " provider (it has nothing to configure per node); leave it {}");
    }
    c->available_node_types[name] = std::move(type);
  }
}

void Read(const Reader& r, const YAML::Node& root, ClusterConfig* c) {
  r.CheckKeys(root, kTopKeys, "the config");
  if (root["cluster_name"]) c->cluster_name = r.String(root["cluster_name"], "cluster_name");
  if (!root["provider"]) r.Fail(root, "the config needs a 'provider' (with its 'type')");
  ReadProvider(r, root["provider"], &c->provider);
  if (c->provider.type == "local") {
    // Ray's local provider: every listed host is a worker unless said otherwise.
    c->min_workers = c->max_workers = static_cast<int>(c->provider.worker_ips.size());
  }
  if (root["min_workers"]) c->min_workers = r.Count(root["min_workers"], "min_workers");
  if (root["max_workers"]) c->max_workers = r.Count(root["max_workers"], "max_workers");
  if (c->provider.type == "local" && c->max_workers > static_cast<int>(c->provider.worker_ips.size())) {
    r.Fail(root["max_workers"] ? root["max_workers"] : root["provider"],
           "max_workers " + std::to_string(c->max_workers) + " is more than the " +
               std::to_string(c->provider.worker_ips.size()) + " worker_ips of the local provider");
  }
  if (c->min_workers > c->max_workers) {
    r.Fail(root["min_workers"], "min_workers " + std::to_string(c->min_workers) +
                                    " is more than max_workers " + std::to_string(c->max_workers));
  }
  if (root["idle_timeout_minutes"]) {
    c->idle_timeout_minutes = r.Number(root["idle_timeout_minutes"], "idle_timeout_minutes");
  }
  if (root["auth"]) {
    r.CheckKeys(root["auth"], {"ssh_user", "ssh_private_key", "ssh_port"}, "auth");
    if (root["auth"]["ssh_port"]) {
      c->auth.ssh_port = r.Count(root["auth"]["ssh_port"], "ssh_port");
      if (c->auth.ssh_port < 1 || c->auth.ssh_port > 65535) {
        r.Fail(root["auth"]["ssh_port"], "'ssh_port' must be a port, 1 to 65535");
      }
    }
    if (root["auth"]["ssh_user"]) c->auth.ssh_user = r.String(root["auth"]["ssh_user"], "ssh_user");
    if (root["auth"]["ssh_private_key"]) {
      c->auth.ssh_private_key = r.String(root["auth"]["ssh_private_key"], "ssh_private_key");
    }
  }
  if (c->provider.type == "local" && c->auth.ssh_user.empty()) {
    r.Fail(root["auth"] ? root["auth"] : root, "the local provider needs auth.ssh_user");
  }
  if (root["file_mounts"]) c->file_mounts = r.StringMap(root["file_mounts"], "file_mounts");
  const std::pair<const char*, std::vector<std::string>*> lists[] = {
      {"initialization_commands", &c->initialization_commands},
      {"setup_commands", &c->setup_commands},
      {"head_setup_commands", &c->head_setup_commands},
      {"worker_setup_commands", &c->worker_setup_commands},
      {"head_start_ray_commands", &c->head_start_ray_commands},
      {"worker_start_ray_commands", &c->worker_start_ray_commands}};
  for (const auto& [key, out] : lists) {
    if (root[key]) *out = r.Strings(root[key], key);
  }
  if (root["available_node_types"]) ReadNodeTypes(r, root["available_node_types"], c);
  if (root["head_node_type"]) c->head_node_type = r.String(root["head_node_type"], "head_node_type");
  if (!c->available_node_types.empty() && c->head_node_type.empty()) {
    r.Fail(root["available_node_types"], "available_node_types needs a 'head_node_type' naming one of them");
  }
  if (!c->head_node_type.empty() && !c->available_node_types.count(c->head_node_type)) {
    r.Fail(root["head_node_type"], "head_node_type '" + c->head_node_type +
                                       "' is not one of available_node_types");
  }
}

}  // namespace

std::string ClusterConfig::HeadIp() const {
  return provider.type == "local" ? provider.head_ip : "127.0.0.1";
}

std::map<std::string, NodeType> ClusterConfig::NodeTypes() const {
  if (!available_node_types.empty()) return available_node_types;
  NodeType worker;
  worker.min_workers = min_workers;
  worker.max_workers = max_workers;
  return {{kDefaultHeadType, NodeType{}}, {kDefaultWorkerType, worker}};
}

std::string ClusterConfig::HeadType() const {
  return head_node_type.empty() ? kDefaultHeadType : head_node_type;
}

bool ParseClusterConfig(const std::string& text, const std::string& source, ClusterConfig* config,
                        std::string* error) {
  Reader reader(source);
  try {
    YAML::Node root = YAML::Load(text);
    if (!root.IsDefined() || root.IsNull()) {
      *error = source + ": the config is empty";
      return false;
    }
    ClusterConfig parsed;
    Read(reader, root, &parsed);
    *config = std::move(parsed);
    return true;
  } catch (const ConfigError& e) {
    *error = e.what();
  } catch (const YAML::Exception& e) {
    *error = source + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML: " + e.msg;
  }
  return false;
}

bool LoadClusterConfig(const std::string& path, ClusterConfig* config, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = "cannot read the cluster config " + path;
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseClusterConfig(ss.str(), path, config, error);
}

}  // namespace ray::cli
