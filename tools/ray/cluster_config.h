// Ray's cluster YAML (`ray up`, `ray get_head_ip`, ...), read with yaml-cpp
// and checked strictly: an unknown key, a value of the wrong type or a
// missing required field is an error naming the file, the line and the key.
// Which of Ray's keys are honoured and which are refused: docs/cli.md.
#ifndef RAY_TOOLS_RAY_CLUSTER_CONFIG_H_
#define RAY_TOOLS_RAY_CLUSTER_CONFIG_H_

#include <map>
#include <string>
#include <vector>

namespace ray::cli {

struct NodeType {
  std::map<std::string, double> resources;
  int min_workers = 0;
  int max_workers = 0;
  std::map<std::string, std::string> node_config;  // passed to the provider
};

constexpr const char* kDefaultHeadType = "ray.head.default";
constexpr const char* kDefaultWorkerType = "ray.worker.default";

struct ClusterConfig {
  std::string cluster_name = "default";
  int min_workers = 0;
  int max_workers = 2;  // Ray's default
  double idle_timeout_minutes = 5;
  struct Provider {
    std::string type;  // "local" or "fake_multinode"
    std::string head_ip;
    std::vector<std::string> worker_ips;
    int head_port = 6379;  // this launcher's key: the head's port ($RAY_HEAD_PORT)
  } provider;
  struct Auth {
    std::string ssh_user;
    std::string ssh_private_key;
    int ssh_port = 0;  // this launcher's key: the hosts' sshd port (0: not given, so
                       // ~/.ssh/config's Port, else 22)
  } auth;
  std::map<std::string, std::string> file_mounts;  // remote path -> local path
  std::vector<std::string> initialization_commands;
  std::vector<std::string> setup_commands;
  std::vector<std::string> head_setup_commands;
  std::vector<std::string> worker_setup_commands;
  std::vector<std::string> head_start_ray_commands;
  std::vector<std::string> worker_start_ray_commands;
  std::map<std::string, NodeType> available_node_types;
  std::string head_node_type;

  /// The head's address as `ray get_head_ip` prints it.
  std::string HeadIp() const;
  /// The node types, with the implicit ones of a config without
  /// available_node_types: kDefaultHeadType and kDefaultWorkerType (whose
  /// min/max workers are the config's; its resources are learned from the
  /// first such node that joins).
  std::map<std::string, NodeType> NodeTypes() const;
  /// head_node_type, or kDefaultHeadType.
  std::string HeadType() const;
};

/// Parses `text` (from `source`, named in errors). False with `*error`, e.g.
/// "cluster.yaml:7: unknown key 'max_wrokers' (known: ...)".
bool ParseClusterConfig(const std::string& text, const std::string& source, ClusterConfig* config,
                        std::string* error);
/// Reads and parses the file at `path`.
bool LoadClusterConfig(const std::string& path, ClusterConfig* config, std::string* error);

}  // namespace ray::cli

#endif  // RAY_TOOLS_RAY_CLUSTER_CONFIG_H_
