#include "tools/ray/node_updater.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <algorithm>
#include <functional>
#include <thread>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tools/ray/process.h"
#include "tools/ray/registry.h"

namespace ray::cli {
namespace {

constexpr int kLinesOnFailure = 20;
constexpr int kCommandTimeoutS = 1800;  // setup commands may install packages
constexpr int kReachTimeoutS = 60;

std::string Number(double x) {
  char buf[64];
  snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

/// The node type's spec (an implicit default type has none).
NodeType TypeOf(const ClusterConfig& config, const ProviderNode& node) {
  auto types = config.NodeTypes();
  auto it = types.find(node.type);
  return it == types.end() ? NodeType{} : it->second;
}

/// Hashes a file mount's contents (and names), for SetupHash.
void HashPath(const std::string& given, std::string* digest) {
  namespace fs = std::filesystem;
  const std::string path = ExpandHome(given);
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    std::vector<std::string> entries;
    for (const auto& e : fs::recursive_directory_iterator(path, ec)) {
      if (e.is_regular_file()) entries.push_back(e.path().string());
    }
    std::sort(entries.begin(), entries.end());
    for (const auto& e : entries) HashPath(e, digest);
    return;
  }
  std::string contents;
  ReadFile(path, &contents);
  *digest += path + "\n" + std::to_string(std::hash<std::string>{}(contents)) + "\n";
}

bool RunStep(CommandRunner& runner, const std::string& command, const Env& env,
             std::ostream& log, std::string* error) {
  log << "  [" << runner.Where() << "] $ " << command << std::endl;
  RunResult result = runner.Run(command, env, kCommandTimeoutS, &log);
  if (result.ok()) return true;
  std::string why = result.exit_code >= 0 ? "exit status " + std::to_string(result.exit_code)
                                          : result.error;
  *error = runner.Where() + ": `" + command + "` failed (" + why + ")";
  std::string tail = LastLines(result.output, kLinesOnFailure);
  if (!tail.empty()) *error += "; its last lines:\n" + tail;
  return false;
}

}  // namespace

std::string ResourceFlags(const std::map<std::string, double>& resources) {
  std::string flags;
  nlohmann::json custom = nlohmann::json::object();
  for (const auto& [name, amount] : resources) {
    if (name == "CPU") {
      flags += " --num-cpus=" + Number(amount);
    } else if (name == "GPU") {
      flags += " --num-gpus=" + Number(amount);
    } else {
      custom[name] = amount;
    }
  }
  if (!custom.empty()) flags += " --resources=" + ShellQuote(custom.dump());
  return flags;
}

Env NodeEnv(const ClusterConfig& config, const ProviderNode& node, const NodeContext& context) {
  Env env = {{"RAY_NODE_IP", node.ip},
             {"RAY_NODE_TYPE", node.type},
             {"RAY_HEAD_IP", context.head_ip},
             {"RAY_HEAD_PORT", std::to_string(context.head_port)},
             {"RAY_HEAD_ADDRESS", context.head_ip + ":" + std::to_string(context.head_port)},
             {"RAY_CLUSTER_NAME", config.cluster_name}};
  if (!context.ray_dir.empty()) env["PATH"] = context.ray_dir;
  if (!node.state_dir.empty()) env["RAY_STATE_DIR"] = node.state_dir;
  return env;
}

std::vector<std::string> StartCommands(const ClusterConfig& config, const ProviderNode& node,
                                       const NodeContext& context) {
  bool head = node.kind == kHeadKind;
  const auto& given = head ? config.head_start_ray_commands : config.worker_start_ray_commands;
  if (!given.empty()) return given;
  std::string flags = ResourceFlags(TypeOf(config, node).resources);
  if (head) {
    // `ray up` starts the autoscaler itself once the workers are up.
    return {"ray stop",
            "ray start --head --port=$RAY_HEAD_PORT --node-ip-address=$RAY_NODE_IP" + flags};
  }
  return {"ray stop",
          "ray start --address=$RAY_HEAD_ADDRESS --node-ip-address=$RAY_NODE_IP" + flags};
}

std::string SetupHash(const ClusterConfig& config, const ProviderNode& node,
                      const NodeContext& context) {
  std::string digest = node.kind + "\n" + node.type + "\n";
  bool head = node.kind == kHeadKind;
  for (const auto* list : {&config.initialization_commands, &config.setup_commands,
                           head ? &config.head_setup_commands : &config.worker_setup_commands}) {
    for (const auto& c : *list) digest += c + "\n";
  }
  for (const auto& c : StartCommands(config, node, context)) digest += c + "\n";
  for (const auto& [name, amount] : TypeOf(config, node).resources) {
    digest += name + "=" + Number(amount) + "\n";
  }
  for (const auto& [remote, local] : config.file_mounts) {
    digest += remote + "\n";
    HashPath(local, &digest);
  }
  char buf[32];
  snprintf(buf, sizeof buf, "%016zx", std::hash<std::string>{}(digest));
  return buf;
}

bool UpdateNode(const ClusterConfig& config, const ProviderNode& node, const NodeContext& context,
                CommandRunner& runner, const UpdateSteps& steps, std::ostream& log,
                std::string* error) {
  Env env = NodeEnv(config, node, context);
  if (node.kind != kHeadKind && !context.auth_token.empty()) {
    env["RAY_AUTH_TOKEN"] = context.auth_token;
  }
  // Wait until the node answers (a host that is still booting, sshd starting).
  log << "  [" << runner.Where() << "] waiting for the node to answer" << std::endl;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kReachTimeoutS);
  for (;;) {
    RunResult probe = runner.Run("true", {}, 30, nullptr);
    if (probe.ok()) break;
    if (std::chrono::steady_clock::now() > deadline) {
      *error = runner.Where() + ": cannot reach the node within " +
               std::to_string(kReachTimeoutS) + " s: " +
               (probe.exit_code >= 0 ? LastLines(probe.output, 5) : probe.error);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
  if (steps.setup) {
    for (const auto& [remote, local] : config.file_mounts) {
      log << "  [" << runner.Where() << "] copying " << local << " to " << remote << std::endl;
      RunResult copied = runner.Copy(local, remote);
      if (!copied.ok()) {
        *error = runner.Where() + ": copying " + local + " to " + remote + " failed: " +
                 (copied.exit_code >= 0 ? LastLines(copied.output, kLinesOnFailure) : copied.error);
        return false;
      }
    }
    bool head = node.kind == kHeadKind;
    for (const auto* list : {&config.initialization_commands, &config.setup_commands,
                             head ? &config.head_setup_commands : &config.worker_setup_commands}) {
      for (const auto& command : *list) {
        if (!RunStep(runner, command, env, log, error)) return false;
      }
    }
  }
  if (steps.start) {
    for (const auto& command : StartCommands(config, node, context)) {
      if (!RunStep(runner, command, env, log, error)) return false;
    }
  }
  return true;
}

bool StopRay(const ClusterConfig& config, const ProviderNode& node, const NodeContext& context,
             CommandRunner& runner, std::ostream& log, std::string* error) {
  return RunStep(runner, "ray stop", NodeEnv(config, node, context), log, error);
}

}  // namespace ray::cli
