// `ray up` and `ray down` (launcher_up.h).
#include "tools/ray/launcher_up.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "tools/ray/commands.h"
#include "tools/ray/process.h"
#include "tools/ray/registry.h"

namespace ray::cli {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr int kAliveTimeoutS = 120;
constexpr const char* kBootstrapConfig = "~/ray_bootstrap_config.yaml";
constexpr const char* kBootstrapKey = "~/ray_bootstrap_key.pem";

double Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string Fixed(double x) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.1f", x);
  return buf;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

/// A free TCP port on this machine, for a fake_multinode head.
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

/// Asks before a change unless -y; without a terminal, -y is required.
bool Confirm(const std::string& command, const std::string& question, bool yes) {
  if (yes) return true;
  if (!isatty(STDIN_FILENO)) {
    std::cerr << "ray " << command << ": " << question
              << " Give -y to confirm (standard input is not a terminal)." << std::endl;
    return false;
  }
  std::cout << question << " [y/N] " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "y" || answer == "Y" || answer == "yes";
}

/// A cluster as the launcher sees it: its config, files, provider and head.

/// Whether the cluster node of provider node `node` is in `view`.
bool InCluster(const ClusterView& view, NodeProvider& provider, const ProviderNode& node) {
  std::string address = provider.Address(node);
  for (const auto& n : view.nodes) {
    if (node.kind == kHeadKind) {
      if (n.is_head) return true;
      continue;
    }
    if (n.is_head) continue;
    if (!address.empty() ? n.address == address
                         : n.address.substr(0, n.address.rfind(':')) == node.ip) {
      return true;
    }
  }
  return false;
}

/// Sets up and starts one node, or leaves it alone when it already runs what
/// this config gives it. False with `*error`.
bool BringUp(Cluster& cluster, const ProviderNode& node, bool alive, const UpOptions& options,
             std::ostream& log, bool* changed, std::string* error) {
  std::string hash = SetupHash(cluster.config(), node, cluster.context());
  UpdateSteps steps;
  if (options.restart_only) {
    steps.setup = false;
  } else if (hash == node.config_hash && alive) {
    log << "  [" << node.ip << "] up to date (" << node.kind << ", " << node.type << ")"
        << std::endl;
    *changed = false;
    return true;
  } else if (options.no_restart && alive) {
    steps.start = false;
  }
  *changed = true;
  auto runner = cluster.provider().Runner(node);
  if (!UpdateNode(cluster.config(), node, cluster.context(), *runner, steps, log, error)) {
    return false;
  }
  return cluster.provider().SetConfigHash(node.id, hash, error);
}


/// What one `ray up` found and did.
struct UpRun {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::vector<std::string> wanted;  // the worker types it starts: each type's min_workers
  ProviderNode head;
  std::string autoscaling_config;  // on the head
  bool bootstrap_changed = false;
  bool changed = false;
  size_t workers = 0;
  size_t alive = 0;
};

/// Applies the overrides, says what will happen and asks; an exit code, or -1 to go on.
int PlanUp(Cluster& cluster, const UpOptions& options, UpRun* run) {
  ClusterConfig& config = cluster.config();
  if (options.min_workers >= 0) config.min_workers = options.min_workers;
  if (options.max_workers >= 0) config.max_workers = options.max_workers;
  if (config.min_workers > config.max_workers) {
    return Fail("up", "min_workers " + std::to_string(config.min_workers) +
                          " is more than max_workers " + std::to_string(config.max_workers),
                kExitUsage);
  }
  for (const auto& [name, type] : config.NodeTypes()) {
    if (name == config.HeadType()) continue;
    for (int i = 0; i < type.min_workers; ++i) run->wanted.push_back(name);
  }
  if (static_cast<int>(run->wanted.size()) > config.max_workers) {
    run->wanted.resize(config.max_workers);
  }
  std::cout << "Cluster '" << config.cluster_name << "' (" << config.provider.type
            << " provider): head " << config.HeadIp() << ", " << run->wanted.size()
            << " worker(s) now, up to " << config.max_workers << "." << std::endl;
  if (!Confirm("up", "Create or update this cluster?", options.yes)) return kExitUsage;
  return -1;
}

/// Copies the autoscaler's config and the SSH key to a local provider's head.
int CopyBootstrap(Cluster& cluster, UpRun* run) {
  const ClusterConfig& config = cluster.config();
  run->autoscaling_config = cluster.dir() + "/bootstrap.yaml";
  if (config.provider.type != "local") return -1;
  auto runner = cluster.provider().Runner(run->head);
  std::string key = ExpandHome(config.auth.ssh_private_key);
  RunResult copied = runner->Copy(run->autoscaling_config, kBootstrapConfig);
  if (copied.ok() && !key.empty()) copied = runner->Copy(key, kBootstrapKey);
  if (copied.ok() && !key.empty()) {
    copied = runner->Run(std::string("chmod 600 ") + kBootstrapKey, {}, 60);
  }
  if (!copied.ok()) {
    return Fail("up", run->head.ip + ": copying the autoscaler's config and key failed: " +
                          (copied.exit_code >= 0 ? LastLines(copied.output, 10) : copied.error),
                kExitFailure);
  }
  run->autoscaling_config = kBootstrapConfig;
  return -1;
}

/// Step 1: the head, and the token the workers need; an exit code, or -1.
int UpHead(Cluster& cluster, const UpOptions& options, UpRun* run) {
  ClusterConfig& config = cluster.config();
  std::cout << "[1/4] head node" << std::endl;
  bool have_head = cluster.Head(&run->head);
  cluster.ChooseHeadPort(/*fresh=*/!have_head);
  run->bootstrap_changed = cluster.WriteBootstrap(
      config.min_workers, config.max_workers, options.min_workers >= 0 || options.max_workers >= 0);
  std::string error;
  bool alive = false;
  if (!have_head) {
    if (!cluster.provider().Create(kHeadKind, config.HeadType(), &run->head, &error)) {
      return Fail("up", "cannot get a head node: " + error, kExitFailure);
    }
  } else {
    ClusterView view;
    alive = cluster.Status(run->head, &view, &error);
  }
  if (!BringUp(cluster, run->head, alive, options, std::cout, &run->changed, &error)) {
    return Fail("up", "setting up the head failed: " + error, kExitFailure);
  }
  if (int code = CopyBootstrap(cluster, run); code >= 0) return code;
  auto runner = cluster.provider().Runner(run->head);
  RunResult token = runner->Run("ray get-auth-token", NodeEnv(config, run->head, cluster.context()), 60);
  if (!token.ok()) {
    return Fail("up", run->head.ip + ": `ray get-auth-token` failed: " + LastLines(token.output, 5),
                kExitFailure);
  }
  cluster.context().auth_token = Trim(token.output);
  return -1;
}

/// Step 2: every worker the provider holds, and the missing min_workers, in parallel.
int UpWorkers(Cluster& cluster, const UpOptions& options, UpRun* run) {
  std::cout << "[2/4] worker nodes" << std::endl;
  std::string error;
  std::vector<ProviderNode> nodes;
  if (!cluster.Nodes(&nodes, &error)) return Fail("up", error, kExitFailure);
  ClusterView view;
  cluster.Status(run->head, &view, &error);
  std::vector<std::pair<ProviderNode, bool>> jobs;  // node, new (not yet handed out)
  std::map<std::string, int> existing;
  for (const auto& n : nodes) {
    if (n.kind != kWorkerKind) continue;
    ++existing[n.type];
    jobs.push_back({n, false});
  }
  for (const auto& type : run->wanted) {
    if (existing[type]-- > 0) continue;
    ProviderNode node;
    node.kind = kWorkerKind;
    node.type = type;
    jobs.push_back({node, true});
  }
  std::mutex mu;
  int done = 0;
  std::vector<std::string> failures;
  std::vector<std::thread> threads;
  for (auto& job : jobs) {
    threads.emplace_back([&, job]() mutable {
      std::ostringstream log;
      std::string why;
      bool changed = false;
      bool ok = !job.second || cluster.provider().Create(kWorkerKind, job.first.type, &job.first, &why);
      bool alive = !job.second && InCluster(view, cluster.provider(), job.first);
      ok = ok && BringUp(cluster, job.first, alive, options, log, &changed, &why);
      if (!ok && job.second && !job.first.id.empty()) {
        std::string ignored;
        cluster.provider().Terminate(job.first.id, &ignored);
      }
      std::lock_guard<std::mutex> lock(mu);
      if (!ok) failures.push_back(log.str() + "  " + why);
      run->changed = run->changed || changed;
      std::cout << "  workers: " << ++done << "/" << jobs.size() << " done ("
                << (job.first.id.empty() ? job.first.type : job.first.ip) << ": "
                << (!ok ? "FAILED" : changed ? "started" : "up to date") << ")" << std::endl;
    });
  }
  for (auto& t : threads) t.join();
  run->workers = jobs.size();
  if (failures.empty()) return -1;
  for (const auto& f : failures) std::cerr << f << std::endl;
  return Fail("up", std::to_string(failures.size()) + " of " + std::to_string(jobs.size()) +
                        " worker(s) failed to start (their output above)",
              kExitFailure);
}

/// Step 3: until the cluster shows every node.
int WaitAlive(Cluster& cluster, UpRun* run) {
  size_t expected = run->workers + 1;
  std::cout << "[3/4] waiting for " << expected << " node(s) to be alive" << std::endl;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kAliveTimeoutS);
  std::string error;
  for (;;) {
    ClusterView view;
    if (cluster.Status(run->head, &view, &error)) run->alive = view.nodes.size();
    if (run->alive >= expected) return -1;
    if (std::chrono::steady_clock::now() > deadline) {
      return Fail("up", "only " + std::to_string(run->alive) + " of " + std::to_string(expected) +
                            " nodes are alive after " + std::to_string(kAliveTimeoutS) + " s" +
                            (error.empty() ? "" : ": " + error),
                  kExitFailure);
    }
    SleepMs(200);
  }
}

/// Step 4: the autoscaler on the head, which takes the workers above as its own.
int StartAutoscaler(Cluster& cluster, UpRun* run) {
  std::cout << "[4/4] autoscaler" << std::endl;
  const std::string& path = run->autoscaling_config;
  std::string quoted = path.rfind("~/", 0) == 0 ? "\"$HOME\"/" + ShellQuote(path.substr(2))
                                                : ShellQuote(path);
  std::string command = "ray monitor --for-local-head --autoscaling-config " + quoted +
                        (run->bootstrap_changed || run->changed ? " --restart" : "");
  auto runner = cluster.provider().Runner(run->head);
  RunResult started = runner->Run(
      command, NodeEnv(cluster.config(), run->head, cluster.context()), 180, &std::cout);
  if (started.ok()) return -1;
  return Fail("up", run->head.ip + ": starting the autoscaler failed: " +
                        LastLines(started.output, 10),
              kExitFailure);
}

}  // namespace

bool Cluster::Load(const std::string& command, const std::string& path, const std::string& name,
                   int* code) {
  std::string error;
  if (!LoadClusterConfig(path, &config_, &error)) {
    *code = Fail(command, error, kExitUsage);
    return false;
  }
  config_path_ = fs::absolute(path).string();
  if (!name.empty()) config_.cluster_name = name;
  dir_ = ClusterDir(config_);
  provider_ = MakeProvider(config_, dir_);
  context_.head_ip = config_.HeadIp();
  context_.ray_dir = ExecutableDirectory();
  std::string text;
  if (ReadFile(dir_ + "/head.json", &text)) {
    json head = json::parse(text, nullptr, false);
    if (head.is_object()) context_.head_port = head.value("port", config_.provider.head_port);
  }
  return true;
}

std::string Cluster::HeadAddress() const {
  return context_.head_ip + ":" + std::to_string(context_.head_port);
}

void Cluster::ChooseHeadPort(bool fresh) {
  std::string text;
  if (!fresh && ReadFile(dir_ + "/head.json", &text)) return;
  context_.head_port =
      config_.provider.type == "fake_multinode" ? FreePort() : config_.provider.head_port;
  std::ofstream(dir_ + "/head.json")
      << json{{"ip", context_.head_ip}, {"port", context_.head_port}}.dump() << "\n";
}

bool Cluster::Nodes(std::vector<ProviderNode>* nodes, std::string* error) {
  return provider_->Nodes(nodes, error);
}

bool Cluster::Head(ProviderNode* head, std::string* error) {
  std::vector<ProviderNode> nodes;
  std::string ignored;
  if (!Nodes(&nodes, error != nullptr ? error : &ignored)) return false;
  for (const auto& n : nodes) {
    if (n.kind == kHeadKind) {
      *head = n;
      return true;
    }
  }
  return false;
}

bool Cluster::Status(const ProviderNode& head, ClusterView* view, std::string* error) {
  auto runner = provider_->Runner(head);
  RunResult result = runner->Run("ray status --address \"$RAY_HEAD_ADDRESS\" --format json",
                                 NodeEnv(config_, head, context_), 60);
  if (!result.ok()) {
    *error = "`ray status` on the head failed: " +
             (result.exit_code >= 0 ? LastLines(result.output, 5) : result.error);
    return false;
  }
  return ParseClusterView(result.output, view, error);
}

bool Cluster::WriteBootstrap(int min_workers, int max_workers, bool overrides) {
  YAML::Node root = YAML::LoadFile(config_path_);
  root["cluster_name"] = config_.cluster_name;
  if (overrides) {
    root["min_workers"] = min_workers;
    root["max_workers"] = max_workers;
  }
  bool hosts = config_.provider.type == "local";
  if (hosts && root["auth"] && root["auth"]["ssh_private_key"]) {
    root["auth"]["ssh_private_key"] = kBootstrapKey;  // copied there by `ray up`
  }
  // The autoscaler copies the file mounts from where it runs: on a host
  // head, the head's own copy (at the remote path); here, the absolute path.
  for (const auto& [remote, local] : config_.file_mounts) {
    root["file_mounts"][remote] = hosts ? remote : fs::absolute(local).string();
  }
  YAML::Emitter out;
  out << root;
  std::string text = std::string(out.c_str()) + "\n";
  std::string old;
  std::string path = dir_ + "/bootstrap.yaml";
  bool changed = !ReadFile(path, &old) || old != text;
  if (changed) std::ofstream(path, std::ios::trunc) << text;
  return changed;
}

int Up(Cluster& cluster, const UpOptions& options) {
  UpRun run;
  for (auto step : {PlanUp, UpHead, UpWorkers}) {
    if (int code = step(cluster, options, &run); code >= 0) return code;
  }
  if (int code = WaitAlive(cluster, &run); code >= 0) return code;
  if (int code = StartAutoscaler(cluster, &run); code >= 0) return code;
  std::string took = Fixed(Since(run.start));
  std::cout << "Cluster '" << cluster.config().cluster_name << "' is up: " << run.alive
            << " node(s) alive, head " << cluster.HeadAddress() << " (" << took << " s"
            << (run.changed || run.bootstrap_changed ? "" : ", nothing changed") << ").\n"
            << "  ray exec CONFIG 'ray status'   runs a command on the head\n"
            << "  ray attach CONFIG              opens a shell there\n"
            << "  ray down CONFIG                stops it all" << std::endl;
  return 0;
}

int Down(Cluster& cluster, bool yes, bool workers_only) {
  ClusterConfig& config = cluster.config();
  if (!Confirm("down", std::string(workers_only ? "Stop the workers of" : "Stop") + " cluster '" +
                           config.cluster_name + "'?",
               yes)) {
    return kExitUsage;
  }
  std::string error;
  std::vector<ProviderNode> nodes;
  int stopped = 0, failed = 0;
  if (!workers_only) {
    ProviderNode head;
    if (cluster.Head(&head)) {
      // The head first: its autoscaler stops with it and launches nothing more.
      std::cout << "stopping the head " << head.ip << std::endl;
      auto runner = cluster.provider().Runner(head);
      if (StopRay(config, head, cluster.context(), *runner, std::cout, &error)) {
        ++stopped;
      } else {
        ++failed;
        std::cerr << "ray down: " << error << std::endl;
      }
      cluster.provider().Terminate(head.id, &error);
    }
  }
  if (!cluster.Nodes(&nodes, &error)) return Fail("down", error, kExitFailure);
  std::vector<ProviderNode> workers;
  std::set<std::string> ips;
  for (const auto& n : nodes) {
    if (n.kind == kWorkerKind) {
      workers.push_back(n);
      ips.insert(n.ip);
    }
  }
  if (config.provider.type == "local") {
    // Every listed host, also those another machine's autoscaler started.
    for (const auto& ip : config.provider.worker_ips) {
      if (ips.insert(ip).second && ip != config.provider.head_ip) {
        ProviderNode n;
        n.id = n.ip = ip;
        n.kind = kWorkerKind;
        workers.push_back(n);
      }
    }
  }
  std::cout << "stopping " << workers.size() << " worker(s)" << std::endl;
  std::mutex mu;
  std::vector<std::thread> threads;
  for (const auto& w : workers) {
    threads.emplace_back([&, w] {
      std::ostringstream log;
      std::string why;
      auto runner = cluster.provider().Runner(w);
      bool ok = StopRay(config, w, cluster.context(), *runner, log, &why);
      cluster.provider().Terminate(w.id, &why);
      std::lock_guard<std::mutex> lock(mu);
      ok ? ++stopped : ++failed;
      std::cout << "  " << w.ip << (w.state_dir.empty() ? "" : " (" + w.id + ")") << ": "
                << (ok ? "stopped" : "FAILED: " + why) << std::endl;
    });
  }
  for (auto& t : threads) t.join();
  std::cout << "Cluster '" << config.cluster_name << "': " << (workers_only ? "workers " : "")
            << "stopped on " << stopped << " node(s)" << (failed ? ", failed on " + std::to_string(failed) : "")
            << std::endl;
  return failed == 0 ? 0 : kExitFailure;
}

}  // namespace ray::cli
