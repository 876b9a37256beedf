// Sets a node up and starts Ray on it, as Ray's NodeUpdater does: wait until
// it can be reached, copy the file mounts, run the initialization, setup and
// start commands, each step said as it starts; on failure the error names the
// host, the command and its last output lines. Used by `ray up` and by the
// autoscaler alike.
#ifndef RAY_TOOLS_RAY_NODE_UPDATER_H_
#define RAY_TOOLS_RAY_NODE_UPDATER_H_

#include <ostream>
#include <string>
#include <vector>

#include "tools/ray/cluster_config.h"
#include "tools/ray/command_runner.h"
#include "tools/ray/node_provider.h"

namespace ray::cli {

/// The head's port: Ray's 6379 for hosts; fake_multinode picks a free one.
constexpr int kDefaultHeadPort = 6379;

/// What a node's commands are given, beyond the config.
struct NodeContext {
  std::string head_ip;
  int head_port = kDefaultHeadPort;
  std::string auth_token;        // workers: the head's token (sent in the script, never in argv)
  std::string ray_dir;           // this `ray`'s directory, put first in the nodes' PATH
};

/// The environment every command on `node` runs with: RAY_NODE_IP,
/// RAY_NODE_TYPE, RAY_HEAD_IP, RAY_HEAD_PORT, RAY_HEAD_ADDRESS,
/// RAY_CLUSTER_NAME, and RAY_STATE_DIR for a fake node (docs/cli.md).
Env NodeEnv(const ClusterConfig& config, const ProviderNode& node, const NodeContext& context);

/// The start commands of `node`: the config's, or this project's defaults
/// (`ray stop` then `ray start` with the node type's resources).
std::vector<std::string> StartCommands(const ClusterConfig& config, const ProviderNode& node,
                                       const NodeContext& context);

/// A digest of what setting up a node of `kind` runs and copies (commands,
/// file mounts' contents, the node type), so that a second `ray up` of an
/// unchanged config can leave a node alone.
std::string SetupHash(const ClusterConfig& config, const ProviderNode& node,
                      const NodeContext& context);

/// What UpdateNode does.
struct UpdateSteps {
  bool setup = true;  // file mounts, initialization and setup commands
  bool start = true;  // the start commands
};

/// Runs the steps on `node` through `runner`, writing what it does to `log`.
/// False with `*error` naming the host, the failed command and its last lines.
bool UpdateNode(const ClusterConfig& config, const ProviderNode& node, const NodeContext& context,
                CommandRunner& runner, const UpdateSteps& steps, std::ostream& log,
                std::string* error);

/// Stops Ray on `node` (`ray stop`).
bool StopRay(const ClusterConfig& config, const ProviderNode& node, const NodeContext& context,
             CommandRunner& runner, std::ostream& log, std::string* error);

/// `ray start`'s resource flags for `resources` (--num-cpus, --num-gpus, --resources).
std::string ResourceFlags(const std::map<std::string, double>& resources);

}  // namespace ray::cli

#endif  // RAY_TOOLS_RAY_NODE_UPDATER_H_
