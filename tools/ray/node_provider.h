// Where a cluster's nodes come from, behind one small interface, so that a
// cloud provider could be added without touching the launcher or the
// autoscaler:
//   local           the config's listed hosts (head_ip, worker_ips), reached
//                   over SSH; which host is in use is kept in a state file
//                   under a lock, as Ray's local provider does.
//   fake_multinode  raynode processes on this machine, each with its own
//                   state directory (Ray's name), for tests and laptops.
// A provider hands out and takes back nodes; starting Ray on a node is the
// node updater's work (node_updater.h), through the provider's runner.
#ifndef RAY_TOOLS_RAY_NODE_PROVIDER_H_
#define RAY_TOOLS_RAY_NODE_PROVIDER_H_

#include <memory>
#include <string>
#include <vector>

#include "tools/ray/cluster_config.h"
#include "tools/ray/command_runner.h"

namespace ray::cli {

constexpr const char* kHeadKind = "head";
constexpr const char* kWorkerKind = "worker";

/// One node the provider handed out.
struct ProviderNode {
  std::string id;    // the host's IP (local) or "fake-<n>" (fake_multinode)
  std::string kind;  // kHeadKind or kWorkerKind
  std::string type;  // its available_node_types entry (or the default type)
  std::string ip;    // the address its raynode listens on
  std::string state_dir;     // fake_multinode: its RAY_STATE_DIR; empty for hosts
  std::string config_hash;   // of the setup it was given, to tell if `ray up` must redo it
  long long created = 0;     // seconds since the epoch
};

class NodeProvider {
 public:
  virtual ~NodeProvider() = default;
  /// The nodes handed out and not yet terminated.
  virtual bool Nodes(std::vector<ProviderNode>* nodes, std::string* error) = 0;
  /// Hands out a node of `kind` and `type`; false (with why) when none is left.
  virtual bool Create(const std::string& kind, const std::string& type, ProviderNode* node,
                      std::string* error) = 0;
  /// Records the setup `hash` given to node `id`.
  virtual bool SetConfigHash(const std::string& id, const std::string& hash, std::string* error) = 0;
  /// Takes node `id` back (after Ray was stopped on it).
  virtual bool Terminate(const std::string& id, std::string* error) = 0;
  /// Runs commands on `node`.
  virtual std::unique_ptr<CommandRunner> Runner(const ProviderNode& node) = 0;
  /// The "host:port" of `node`'s raynode when the provider knows it (empty:
  /// the cluster's node is the one whose host is node.ip).
  virtual std::string Address(const ProviderNode& node) const { return ""; }
  /// Records as handed out a host found alive in the cluster that this
  /// provider's state does not list (another machine's `ray up` started it),
  /// so that it is never handed out twice. True when it was not listed before.
  virtual bool Adopt(const std::string& ip, const std::string& type, std::string* error) {
    return false;
  }
};

/// The launcher's files for cluster `config.cluster_name`: $RAY_CLUSTER_DIR
/// when set, else ~/.ray/clusters/<name> (mode 0700): the provider's state
/// file (state.json, with state.lock), ssh's sockets and known_hosts, the
/// fake nodes' state directories, and bootstrap.yaml.
std::string ClusterDir(const ClusterConfig& config);

/// The provider `config.provider.type` names; its files are in `cluster_dir`.
std::unique_ptr<NodeProvider> MakeProvider(const ClusterConfig& config,
                                           const std::string& cluster_dir);

}  // namespace ray::cli

#endif  // RAY_TOOLS_RAY_NODE_PROVIDER_H_
