// The cluster launcher's two halves that change a cluster, `ray up` and
// `ray down`, over a Cluster: a config with its local files (the provider's
// state, the head's port, the autoscaler's bootstrap config) and its
// provider. The commands themselves (options, exec, attach): launcher.cc.
#ifndef RAY_TOOLS_RAY_LAUNCHER_UP_H_
#define RAY_TOOLS_RAY_LAUNCHER_UP_H_

#include <memory>
#include <string>
#include <vector>

#include "tools/ray/autoscaler.h"
#include "tools/ray/cluster_config.h"
#include "tools/ray/node_provider.h"
#include "tools/ray/node_updater.h"

namespace ray::cli {

/// A cluster as the launcher sees it: its config, files, provider and head.
class Cluster {
 public:
  /// Reads the config at `path` (`name` overrides its cluster_name); on
  /// failure sets `*code` after saying why.
  bool Load(const std::string& command, const std::string& path, const std::string& name,
            int* code);

  ClusterConfig& config() { return config_; }
  const std::string& dir() const { return dir_; }
  NodeProvider& provider() { return *provider_; }
  NodeContext& context() { return context_; }
  std::string HeadAddress() const;

  /// Picks the head's port (6379 for hosts, a free one for fake_multinode)
  /// and keeps it in head.json; unless `fresh`, the one kept there stays.
  void ChooseHeadPort(bool fresh);
  bool Nodes(std::vector<ProviderNode>* nodes, std::string* error);
  /// The head the provider handed out; false when there is none (or, with
  /// `*error` set, when the provider's state cannot be read).
  bool Head(ProviderNode* head, std::string* error = nullptr);
  /// The cluster's status as its head sees it (`ray status --format json` run there).
  bool Status(const ProviderNode& head, ClusterView* view, std::string* error);
  /// Writes the effective config for the head's autoscaler (this run's
  /// overrides in) to bootstrap.yaml; true when it differs from the last one.
  bool WriteBootstrap(int min_workers, int max_workers, bool overrides);

 private:
  ClusterConfig config_;
  std::string config_path_;
  std::string dir_;
  std::unique_ptr<NodeProvider> provider_;
  NodeContext context_;
};

struct UpOptions {
  bool yes = false;
  bool no_restart = false;
  bool restart_only = false;
  int min_workers = -1;  // -1: the config's
  int max_workers = -1;
};

/// `ray up`: the head, then min_workers workers in parallel, then the
/// autoscaler; a node already running what this config gives it is left alone.
int Up(Cluster& cluster, const UpOptions& options);

/// `ray down`: the head (and its autoscaler) first, then every worker.
int Down(Cluster& cluster, bool yes, bool workers_only);

}  // namespace ray::cli

#endif  // RAY_TOOLS_RAY_LAUNCHER_UP_H_
