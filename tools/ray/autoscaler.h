// The autoscaler's decisions, in plain C++ (no processes, no clock of its
// own), so that every rule is tested deterministically with fakes
// (tests/cli/autoscaler_test.cc). The monitor (monitor.cc) feeds it the
// cluster's `status` report and the provider's nodes once a tick, carries out
// what it returns, and sends its Report() to the GCS for `ray status`.
//
// The rules, as Ray 2.x's:
//   - demand is what the raylets report queued: tasks and actors waiting for
//     resources (pending) or that fit no node (infeasible); it is bin-packed
//     first onto the free resources of live nodes, then onto the nodes being
//     started, then onto new nodes of the smallest type that fits;
//   - each type stays within its min_workers and max_workers, and all workers
//     within the config's max_workers;
//   - a shape that no node type can hold is reported infeasible and launches nothing;
//   - a worker idle (no tasks, no actors, no shared-memory objects) for
//     idle_timeout_minutes is terminated, down to its type's min_workers;
//   - a node that fails to start, or does not join in time, is terminated and
//     its type is retried after a backoff that doubles up to a cap.
#ifndef RAY_TOOLS_RAY_AUTOSCALER_H_
#define RAY_TOOLS_RAY_AUTOSCALER_H_

#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "actors/common/resource_shape.h"
#include "tools/ray/cluster_config.h"

namespace ray::cli {

using Resources = std::map<std::string, double>;

/// A live node of the cluster, from its `status` report.
struct ClusterNode {
  std::string node_id;
  std::string address;  // host:port
  bool is_head = false;
  Resources total;
  Resources available;
  bool idle = false;  // nothing running or queued, no actor, no shared-memory object
};

/// Queued demand of one shape.
struct Demand {
  Resources shape;
  int count = 0;
  bool actor = false;
};

struct ClusterView {
  std::vector<ClusterNode> nodes;
  std::vector<Demand> demand;
};

/// Reads the GCS's "status" report (docs/cli.md) into a view; false with
/// `*error` when it is not such a report.
bool ParseClusterView(const std::string& status_json, ClusterView* view, std::string* error);

/// A worker node the provider handed out.
struct WorkerNode {
  std::string id;
  std::string type;
  std::string ip;
  std::string address;  // host:port when the provider knows it
  double created_s = 0;
};

struct Action {
  enum Kind { kLaunch, kTerminate };
  Kind kind = kLaunch;
  std::string type;
  std::string node_id;  // kTerminate
  std::string reason;
};

struct AutoscalerOptions {
  double idle_timeout_s = 300;
  double join_timeout_s = 120;  // from handed out to seen in the cluster
  double backoff_base_s = 5;
  double backoff_max_s = 300;
};

class Autoscaler {
 public:
  Autoscaler(const ClusterConfig& config, AutoscalerOptions options);

  /// One round at time `now_s`: `workers` are the provider's worker nodes,
  /// `launching` counts launches still in progress by type. Returns what to
  /// launch and terminate now; each is also logged with its reason.
  std::vector<Action> Update(double now_s, const ClusterView& view,
                             const std::vector<WorkerNode>& workers,
                             const std::map<std::string, int>& launching);

  /// A launch of `type` failed (`why`): the type backs off.
  void LaunchFailed(double now_s, const std::string& type, const std::string& why);

  /// The state and recent decisions, for `ray status` (schema: docs/cli.md).
  nlohmann::json Report(double now_s) const;

  /// The type a node's resources are assumed to be when the config gives none.
  const Resources& TypeResources(const std::string& type) const;

 private:
  struct TypeState {
    NodeType spec;
    bool configured = false;  // the config gave its resources
    bool learned = false;     // else: learned from one of its nodes (until then: the head's)
    int failures = 0;
    double retry_at_s = 0;
    std::string last_error;
  };

  /// One Update's working state.
  struct Round {
    double now = 0;
    std::vector<Resources> free;        // what each live or starting node can still take
    std::map<std::string, int> count;   // workers by type, starting and planned ones included
    std::set<std::string> terminating;  // decided this round
    std::vector<Action> actions;
    int Workers() const;
  };
  void LearnTypes(const ClusterView& view, const std::vector<WorkerNode>& workers);
  void Account(Round& round, const ClusterView& view, const std::vector<WorkerNode>& workers,
               const std::map<std::string, int>& launching);
  void Launch(Round& round, const std::string& type, const std::string& reason);
  void LaunchMinWorkers(Round& round);
  /// The smallest type that can hold `shape` within its caps (empty: none, with why).
  std::string BestType(Round& round, const Resources& shape, bool* any_fits,
                       std::string* held_back);
  void PackDemand(Round& round, const ClusterView& view);
  void TerminateIdle(Round& round, const ClusterView& view, const std::vector<WorkerNode>& workers);
  void Log(double now_s, const std::string& action, const std::string& type,
           const std::string& node, const std::string& reason);
  /// Finds the cluster node of `worker`, or null.
  static const ClusterNode* Find(const ClusterView& view, const WorkerNode& worker);

  ClusterConfig config_;
  AutoscalerOptions options_;
  std::string head_type_;
  std::map<std::string, TypeState> types_;  // worker types
  std::map<std::string, double> idle_since_;
  std::deque<nlohmann::json> decisions_;
  std::vector<std::string> infeasible_;  // shapes no type can hold, last round
  std::vector<std::string> waiting_;     // shapes held back by max_workers or a backoff
  std::map<std::string, int> running_, starting_;
};

}  // namespace ray::cli

#endif  // RAY_TOOLS_RAY_AUTOSCALER_H_
