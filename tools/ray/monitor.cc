// `ray monitor`: the autoscaler's process on the head, started by
// `ray start --head --autoscaling-config FILE` (and so by `ray up`). Once a
// tick it reads the cluster's status from the GCS, lets the Autoscaler
// (autoscaler.h) decide, launches and terminates nodes through the provider
// on threads of their own (a slow SSH setup never stalls the loop), logs each
// decision with its reason, and sends its report to the GCS, where
// `ray status` and the dashboard show it. It exits when the head's raynode
// does, or on SIGTERM (`ray stop`) once its launches in progress are done.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "actors/common/auth.h"
#include "actors/net/atoms.h"
#include "tools/ray/autoscaler.h"
#include "tools/ray/cluster_client.h"
#include "tools/ray/cluster_config.h"
#include "tools/ray/commands.h"
#include "tools/ray/node_provider.h"
#include "tools/ray/node_updater.h"
#include "tools/ray/process.h"
#include "tools/ray/registry.h"

namespace po = boost::program_options;

namespace ray::cli {
namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop = true; }

double Now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double EnvSeconds(const char* name, double fallback) {
  const char* text = getenv(name);
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  double value = strtod(text, &end);
  return end != text && *end == '\0' && value > 0 ? value : fallback;
}

std::string Stamp() {
  time_t t = time(nullptr);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", localtime(&t));
  return buf;
}

/// What the launch and termination threads share with the loop.
class Work {
 public:
  void Print(const std::string& text) {
    std::lock_guard<std::mutex> lock(mu_);
    std::cout << text << std::flush;
  }
  void Started(const std::string& type) {
    std::lock_guard<std::mutex> lock(mu_);
    ++launching_[type];
  }
  void Finished(const std::string& type, const std::string& failure) {
    std::lock_guard<std::mutex> lock(mu_);
    if (--launching_[type] <= 0) launching_.erase(type);
    if (!failure.empty()) failures_.push_back({type, failure});
  }
  std::map<std::string, int> Launching() {
    std::lock_guard<std::mutex> lock(mu_);
    return launching_;
  }
  std::vector<std::pair<std::string, std::string>> TakeFailures() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::move(failures_);
  }
  bool Terminating(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    return !terminating_.insert(id).second;
  }
  void Terminated(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    terminating_.erase(id);
  }
  void Add(std::thread thread) {
    std::lock_guard<std::mutex> lock(mu_);
    threads_.push_back(std::move(thread));
  }
  void JoinAll() {
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mu_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }

 private:
  std::mutex mu_;
  std::map<std::string, int> launching_;
  std::vector<std::pair<std::string, std::string>> failures_;
  std::set<std::string> terminating_;
  std::vector<std::thread> threads_;
};

void LaunchNode(const ClusterConfig& config, NodeProvider* provider, const NodeContext& context,
                const std::string& type, Work* work) {
  std::ostringstream log;
  std::string error;
  ProviderNode node;
  if (!provider->Create(kWorkerKind, type, &node, &error)) {
    work->Print(Stamp() + " launch of a " + type + " node failed: " + error + "\n");
    work->Finished(type, error);
    return;
  }
  auto started = std::chrono::steady_clock::now();
  provider->SetConfigHash(node.id, SetupHash(config, node, context), &error);
  auto runner = provider->Runner(node);
  bool ok = UpdateNode(config, node, context, *runner, {}, log, &error);
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  char secs[32];
  snprintf(secs, sizeof secs, "%.1f", took);
  if (ok) {
    work->Print(log.str() + Stamp() + " started " + type + " node " + node.id + " in " + secs + " s\n");
    work->Finished(type, "");
    return;
  }
  std::string ignored;
  std::ostringstream stop_log;
  StopRay(config, node, context, *runner, stop_log, &ignored);
  provider->Terminate(node.id, &ignored);
  work->Print(log.str() + Stamp() + " starting " + type + " node " + node.id + " failed: " + error +
              "\n");
  work->Finished(type, error);
}

void TerminateNode(const ClusterConfig& config, NodeProvider* provider,
                   const NodeContext& context, const ProviderNode& node,
                   const std::string& reason, Work* work) {
  std::ostringstream log;
  std::string error;
  auto runner = provider->Runner(node);
  bool stopped = StopRay(config, node, context, *runner, log, &error);
  std::string terminated_error;
  provider->Terminate(node.id, &terminated_error);
  work->Print(log.str() + Stamp() + " terminated " + node.type + " node " + node.id + " (" +
              reason + ")" + (stopped ? "" : "; stopping Ray failed: " + error) + "\n");
  work->Terminated(node.id);
}

/// The autoscaler's loop state: the cluster, the provider, the Autoscaler.
class Monitor {
 public:
  Monitor(const ClusterConfig& config, ClusterClient* client)
      : config_(config), client_(client), autoscaler_(config, Options(config)) {
    interval_s_ = EnvSeconds("RAY_AUTOSCALER_UPDATE_INTERVAL_S", 1.0);
    cluster_dir_ = ClusterDir(config);
    provider_ = MakeProvider(config, cluster_dir_);
    auto colon = client->address().rfind(':');
    context_.head_ip = client->address().substr(0, colon);
    context_.head_port = std::stoi(client->address().substr(colon + 1));
    context_.ray_dir = ExecutableDirectory();
    auth::Settings auth;
    std::string error;
    if (auth::Resolve("", &auth, &error)) context_.auth_token = auth.token;
    std::cout << Stamp() << " autoscaler of cluster '" << config.cluster_name << "' (provider "
              << config.provider.type << ", state in " << cluster_dir_ << ") watching "
              << client->address() << ", every " << interval_s_ << " s" << std::endl;
  }

  double interval_s() const { return interval_s_; }

  /// One round: read, decide, act, report.
  void Tick() {
    for (const auto& [type, why] : work_.TakeFailures()) autoscaler_.LaunchFailed(Now(), type, why);
    std::string status, error;
    ClusterView view;
    if (!client_->Observe("status", "{}", &status, &error) ||
        !ParseClusterView(status, &view, &error)) {
      if (++failed_reads_ % 10 == 1) {
        std::cout << Stamp() << " cannot read the cluster's status: " << error << std::endl;
      }
      return;
    }
    failed_reads_ = 0;
    Adopt(view);
    std::vector<ProviderNode> nodes;
    if (!provider_->Nodes(&nodes, &error)) {
      std::cout << Stamp() << " cannot read the provider's state: " << error << std::endl;
    }
    std::map<std::string, ProviderNode> by_id;
    std::vector<WorkerNode> workers;
    for (const auto& node : nodes) {
      if (node.kind != kWorkerKind) continue;
      by_id[node.id] = node;
      workers.push_back({node.id, node.type, node.ip, provider_->Address(node),
                         static_cast<double>(node.created)});
    }
    double now = Now();
    for (const Action& action : autoscaler_.Update(now, view, workers, work_.Launching())) {
      Carry(action, by_id);
    }
    nlohmann::json report = autoscaler_.Report(now);
    report["provider"] = config_.provider.type;
    report["cluster_name"] = config_.cluster_name;
    report["launching"] = work_.Launching();
    caf::anon_send(caf::actor_cast<caf::actor>(client_->gcs()), atoms::as_report::value,
                   report.dump());
  }

  /// Waits for the launches and terminations in progress.
  void Stop() { work_.JoinAll(); }

 private:
  static AutoscalerOptions Options(const ClusterConfig& config) {
    AutoscalerOptions options;
    options.idle_timeout_s = config.idle_timeout_minutes * 60;
    options.join_timeout_s = EnvSeconds("RAY_AUTOSCALER_JOIN_TIMEOUT_S", options.join_timeout_s);
    options.backoff_base_s = EnvSeconds("RAY_AUTOSCALER_BACKOFF_S", options.backoff_base_s);
    return options;
  }

  /// Hosts that another machine's `ray up` started are this provider's too.
  void Adopt(const ClusterView& view) {
    std::string type;
    for (const auto& [name, spec] : config_.NodeTypes()) {
      if (type.empty() && name != config_.HeadType()) type = name;
    }
    for (const auto& n : view.nodes) {
      std::string host = n.address.substr(0, n.address.rfind(':'));
      std::string why;
      if (!n.is_head && !type.empty() && provider_->Adopt(host, type, &why)) {
        std::cout << Stamp() << " adopted " << host << ", alive in the cluster" << std::endl;
      }
    }
  }

  /// Carries out `action` on a thread of its own.
  void Carry(const Action& action, const std::map<std::string, ProviderNode>& by_id) {
    if (action.kind == Action::kLaunch) {
      std::cout << Stamp() << " launching a " << action.type << " node: " << action.reason
                << std::endl;
      work_.Started(action.type);
      work_.Add(std::thread(LaunchNode, std::cref(config_), provider_.get(), std::cref(context_),
                            action.type, &work_));
      return;
    }
    auto node = by_id.find(action.node_id);
    if (node == by_id.end() || work_.Terminating(action.node_id)) return;
    std::cout << Stamp() << " terminating " << action.type << " node " << action.node_id << ": "
              << action.reason << std::endl;
    work_.Add(std::thread(TerminateNode, std::cref(config_), provider_.get(), std::cref(context_),
                          node->second, action.reason, &work_));
  }

  ClusterConfig config_;
  ClusterClient* client_;
  Autoscaler autoscaler_;
  double interval_s_ = 1;
  std::string cluster_dir_;
  std::unique_ptr<NodeProvider> provider_;
  NodeContext context_;
  Work work_;
  int failed_reads_ = 0;
};

}  // namespace

int SpawnMonitor(const std::string& state_dir, const NodeRecord& record,
                 const std::string& config_path, std::string* log, std::string* error) {
  *log = state_dir + "/monitor-" + std::to_string(record.pid) + ".log";
  return SpawnDetached(
      [&](pid_t) {
        Launch launch;
        launch.argv = {ExecutableDirectory() + "/ray", "monitor", "--address", record.address,
                       "--autoscaling-config", config_path, "--head-pid",
                       std::to_string(record.pid)};
        launch.log_path = *log;
        return launch;
      },
      error);
}

namespace {

/// `ray monitor --for-local-head`: (re)starts the autoscaler of the head that
/// `ray start` launched on this host, recording it with the head.
int StartForLocalHead(const std::string& path, bool restart) {
  std::string state_dir = StateDir(), error;
  for (const auto& file : ListRecords(state_dir)) {
    NodeRecord record;
    if (!ReadRecord(file, &record, &error) || !record.head || !IsRaynode(record.pid)) continue;
    if (IsMonitor(record.monitor_pid)) {
      if (!restart) {
        std::cout << "the autoscaler is running (pid " << record.monitor_pid << ")" << std::endl;
        return 0;
      }
      StopMonitor(record.monitor_pid, false);
    }
    std::string log;
    record.monitor_pid = SpawnMonitor(state_dir, record, path, &log, &error);
    if (record.monitor_pid < 0) return Fail("monitor", error, kExitFailure);
    if (!WriteRecord(state_dir, record, &error)) return Fail("monitor", error, kExitFailure);
    std::cout << "started the autoscaler (pid " << record.monitor_pid << "), log in " << log
              << std::endl;
    return 0;
  }
  return Fail("monitor", "no head that `ray start` launched runs on this host (" + state_dir + ")",
              kExitFailure);
}

}  // namespace

int MonitorCommand(int argc, char** argv) {
  po::options_description desc(
      "Usage: ray monitor --address HOST:PORT --autoscaling-config FILE [--head-pid PID]\n"
      "       ray monitor --for-local-head [--restart] --autoscaling-config FILE\n"
      "The autoscaler of a cluster's head (`ray start --head --autoscaling-config` and\n"
      "`ray up` start it). Options");
  std::string address, path;
  int head_pid = 0;
  desc.add_options()("help,h", "show this help")("address", po::value(&address),
                                                 "the head's HOST:PORT")(
      "autoscaling-config", po::value(&path), "the cluster config (Ray's cluster YAML)")(
      "head-pid", po::value(&head_pid), "exit when this raynode does")(
      "for-local-head", "start it in the background for the head `ray start` launched here")(
      "restart", "with --for-local-head: replace a running one");
  po::variables_map vm;
  if (int code = ParseOptions("monitor", desc, argc, argv, &vm); code >= 0) return code;
  if (path.empty()) return Fail("monitor", "give --autoscaling-config FILE", kExitUsage);
  ClusterConfig config;
  std::string error;
  if (!LoadClusterConfig(path, &config, &error)) return Fail("monitor", error, kExitUsage);
  if (vm.count("for-local-head")) {
    return StartForLocalHead(std::filesystem::absolute(path).string(), vm.count("restart") > 0);
  }
  ClusterClient client;
  if (int code = client.Connect("monitor", address, ""); code != 0) return code;
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);
  Monitor monitor(config, &client);
  while (!g_stop) {
    if (head_pid > 0 && !IsRaynode(head_pid)) {
      std::cout << Stamp() << " the head's raynode (pid " << head_pid << ") is gone; exiting"
                << std::endl;
      break;
    }
    monitor.Tick();
    SleepMs(static_cast<int>(monitor.interval_s() * 1000));
  }
  monitor.Stop();
  std::cout << Stamp() << " autoscaler stopped" << std::endl;
  return 0;
}

}  // namespace ray::cli
