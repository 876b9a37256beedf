#include "tools/ray/autoscaler.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace ray::cli {
namespace {

using nlohmann::json;

constexpr size_t kDecisionsKept = 50;
constexpr int kMaxDemandUnits = 10000;  // per round; more waits for the next one
constexpr double kEpsilon = 1e-9;

bool Fits(const Resources& free, const Resources& shape) {
  for (const auto& [name, amount] : shape) {
    if (amount <= 0) continue;
    auto it = free.find(name);
    if (it == free.end() || it->second + kEpsilon < amount) return false;
  }
  return true;
}

void Take(Resources* free, const Resources& shape) {
  for (const auto& [name, amount] : shape) (*free)[name] -= amount;
}

double Size(const Resources& r) {
  double total = 0;
  for (const auto& [name, amount] : r) total += amount;
  return total;
}

std::string Host(const std::string& address) {
  auto colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

Resources ReadResources(const json& j) {
  Resources out;
  if (!j.is_object()) return out;
  for (const auto& [name, amount] : j.items()) {
    if (amount.is_number()) out[name] = amount.get<double>();
  }
  return out;
}

std::string Seconds(double s) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.0f s", s);
  return buf;
}

}  // namespace

bool ParseClusterView(const std::string& status_json, ClusterView* view, std::string* error) {
  json status = json::parse(status_json, nullptr, false);
  if (!status.is_object() || !status.contains("nodes") || !status["nodes"].is_array()) {
    *error = "the cluster's status report has no node list";
    return false;
  }
  view->nodes.clear();
  view->demand.clear();
  std::map<std::pair<std::string, bool>, Demand> demand;
  for (const auto& n : status["nodes"]) {
    if (n.value("state", "") != "ALIVE") continue;
    ClusterNode node;
    node.node_id = n.value("node_id", "");
    node.address = n.value("address", "");
    node.is_head = n.value("is_head", false);
    const json report = n.value("report", json::object());
    if (report.contains("error") || !report.contains("resources_total")) {
      // A node that did not answer is neither idle nor free: leave it be this round.
      node.total = ReadResources(n.value("resources_total", json::object()));
      view->nodes.push_back(std::move(node));
      continue;
    }
    node.total = ReadResources(report["resources_total"]);
    node.available = ReadResources(report.value("resources_available", json::object()));
    bool busy = report.value("queued_tasks", 0) > 0;
    for (const auto& w : report.value("workers", json::array())) {
      if (w.value("state", "") != "IDLE" || !w.value("actor_id", "").empty()) busy = true;
    }
    for (const auto& [name, amount] : node.total) {
      auto it = node.available.find(name);
      if (it == node.available.end() || std::fabs(it->second - amount) > kEpsilon) busy = true;
    }
    const json store = report.value("object_store", json::object());
    if (store.value("shared_memory_bytes", 0LL) > 0) busy = true;
    for (const auto& d : report.value("resource_demand", json::array())) {
      Resources shape = ReadResources(d.value("shape", json::object()));
      bool actor = d.value("actor", false);
      Demand& entry = demand[{ShapeText(shape), actor}];
      entry.shape = shape;
      entry.actor = actor;
      entry.count += d.value("count", 0);
      busy = true;
    }
    node.idle = !busy;
    view->nodes.push_back(std::move(node));
  }
  for (auto& [key, d] : demand) view->demand.push_back(std::move(d));
  return true;
}

Autoscaler::Autoscaler(const ClusterConfig& config, AutoscalerOptions options)
    : config_(config), options_(options), head_type_(config.HeadType()) {
  for (const auto& [name, spec] : config.NodeTypes()) {
    if (name == head_type_) continue;
    types_[name].spec = spec;
    types_[name].configured = !spec.resources.empty();
  }
}

const Resources& Autoscaler::TypeResources(const std::string& type) const {
  static const Resources kNone;
  auto it = types_.find(type);
  return it == types_.end() ? kNone : it->second.spec.resources;
}

void Autoscaler::Log(double now_s, const std::string& action, const std::string& type,
                     const std::string& node, const std::string& reason) {
  decisions_.push_back(
      {{"time", now_s}, {"action", action}, {"type", type}, {"node", node}, {"reason", reason}});
  while (decisions_.size() > kDecisionsKept) decisions_.pop_front();
}

const ClusterNode* Autoscaler::Find(const ClusterView& view, const WorkerNode& worker) {
  for (const auto& node : view.nodes) {
    if (node.is_head) continue;
    if (!worker.address.empty() ? node.address == worker.address : Host(node.address) == worker.ip) {
      return &node;
    }
  }
  return nullptr;
}

void Autoscaler::LaunchFailed(double now_s, const std::string& type, const std::string& why) {
  auto it = types_.find(type);
  if (it == types_.end()) return;
  TypeState& t = it->second;
  ++t.failures;
  double backoff = std::min(options_.backoff_max_s,
                            options_.backoff_base_s * std::pow(2.0, std::min(t.failures - 1, 30)));
  t.retry_at_s = now_s + backoff;
  t.last_error = why;
  Log(now_s, "launch failed", type, "", why + "; next try in " + Seconds(backoff));
}

void Autoscaler::LearnTypes(const ClusterView& view, const std::vector<WorkerNode>& workers) {
  // A type without resources (the default worker type) is assumed to be like
  // the head until one of its nodes joins, then like that node.
  for (auto& [name, t] : types_) {
    if (t.configured || t.learned) continue;
    for (const auto& w : workers) {
      const ClusterNode* node = w.type == name ? Find(view, w) : nullptr;
      if (node != nullptr && !node->total.empty()) {
        t.spec.resources = node->total;
        t.learned = true;
        break;
      }
    }
    if (!t.learned) {
      for (const auto& node : view.nodes) {
        if (node.is_head) t.spec.resources = node.total;
      }
    }
  }
}

void Autoscaler::Account(Round& round, const ClusterView& view,
                         const std::vector<WorkerNode>& workers,
                         const std::map<std::string, int>& launching) {
  // Where every worker is: joined (its free resources), or still starting.
  for (const auto& node : view.nodes) round.free.push_back(node.available);
  for (const auto& w : workers) {
    ++round.count[w.type];
    if (Find(view, w) != nullptr) {
      ++running_[w.type];
      auto t = types_.find(w.type);
      if (t != types_.end()) t->second.failures = 0;  // it works again
      continue;
    }
    ++starting_[w.type];
    if (round.now - w.created_s > options_.join_timeout_s && !launching.count(w.type)) {
      std::string reason = "did not join the cluster within " + Seconds(options_.join_timeout_s);
      round.actions.push_back({Action::kTerminate, w.type, w.id, reason});
      round.terminating.insert(w.id);
      --round.count[w.type];
      Log(round.now, "terminate", w.type, w.id, reason);
      LaunchFailed(round.now, w.type, "node " + w.id + " did not join the cluster");
      continue;
    }
    round.free.push_back(TypeResources(w.type));
  }
  for (const auto& [type, n] : launching) {
    round.count[type] += n;
    starting_[type] += n;
    for (int i = 0; i < n; ++i) round.free.push_back(TypeResources(type));
  }
}

int Autoscaler::Round::Workers() const {
  int total = 0;
  for (const auto& [type, n] : count) total += n;
  return total;
}

void Autoscaler::Launch(Round& round, const std::string& type, const std::string& reason) {
  round.actions.push_back({Action::kLaunch, type, "", reason});
  ++round.count[type];
  Log(round.now, "launch", type, "", reason);
}

void Autoscaler::LaunchMinWorkers(Round& round) {
  for (const auto& [name, t] : types_) {
    while (round.count[name] < t.spec.min_workers && round.Workers() < config_.max_workers &&
           round.now >= t.retry_at_s) {
      Launch(round, name, "min_workers of " + name + " is " + std::to_string(t.spec.min_workers));
      round.free.push_back(t.spec.resources);
    }
  }
}

std::string Autoscaler::BestType(Round& round, const Resources& shape, bool* any_fits,
                                 std::string* held_back) {
  std::string best;
  *any_fits = false;
  for (const auto& [name, t] : types_) {
    if (!Fits(t.spec.resources, shape)) continue;
    *any_fits = true;
    if (round.count[name] >= t.spec.max_workers) {
      *held_back = name + " is at its max_workers " + std::to_string(t.spec.max_workers);
    } else if (round.Workers() >= config_.max_workers) {
      *held_back = "the cluster is at max_workers " + std::to_string(config_.max_workers);
    } else if (round.now < t.retry_at_s) {
      *held_back = name + " backs off after a failed launch (" +
                   Seconds(t.retry_at_s - round.now) + " left)";
    } else if (best.empty() || Size(t.spec.resources) < Size(types_[best].spec.resources)) {
      best = name;
    }
  }
  return best;
}

void Autoscaler::PackDemand(Round& round, const ClusterView& view) {
  std::vector<Demand> demand = view.demand;  // largest shapes first
  std::sort(demand.begin(), demand.end(),
            [](const Demand& a, const Demand& b) { return Size(a.shape) > Size(b.shape); });
  auto note = [](std::vector<std::string>* list, const std::string& text) {
    if (std::find(list->begin(), list->end(), text) == list->end()) list->push_back(text);
  };
  int units = 0;
  for (const auto& d : demand) {
    for (int i = 0; i < d.count && units < kMaxDemandUnits; ++i, ++units) {
      auto room = std::find_if(round.free.begin(), round.free.end(),
                               [&](const Resources& f) { return Fits(f, d.shape); });
      if (room != round.free.end()) {
        Take(&*room, d.shape);
        continue;
      }
      bool any_fits = false;
      std::string held_back;
      std::string best = BestType(round, d.shape, &any_fits, &held_back);
      std::string shape = ShapeText(d.shape) + (d.actor ? " (actor)" : "");
      if (!any_fits) {
        note(&infeasible_, shape);
      } else if (best.empty()) {
        note(&waiting_, shape + ": " + held_back);
      } else {
        Launch(round, best, "demand " + shape + " fits no node's free resources");
        Resources fresh = types_[best].spec.resources;
        Take(&fresh, d.shape);
        round.free.push_back(fresh);
      }
    }
  }
}

void Autoscaler::TerminateIdle(Round& round, const ClusterView& view,
                               const std::vector<WorkerNode>& workers) {
  std::set<std::string> seen;
  for (const auto& w : workers) {
    const ClusterNode* node = round.terminating.count(w.id) ? nullptr : Find(view, w);
    if (node == nullptr) continue;
    seen.insert(w.id);
    if (!node->idle) {
      idle_since_.erase(w.id);
      continue;
    }
    double since = idle_since_.emplace(w.id, round.now).first->second;
    auto t = types_.find(w.type);
    int min = t == types_.end() ? 0 : t->second.spec.min_workers;
    if (round.now - since < options_.idle_timeout_s || round.count[w.type] <= min) continue;
    std::string reason = "idle for " + Seconds(round.now - since) + " (idle_timeout_minutes " +
                         Seconds(options_.idle_timeout_s) + ")";
    round.actions.push_back({Action::kTerminate, w.type, w.id, reason});
    Log(round.now, "terminate", w.type, w.id, reason);
    --round.count[w.type];
    idle_since_.erase(w.id);
  }
  for (auto it = idle_since_.begin(); it != idle_since_.end();) {
    it = seen.count(it->first) ? std::next(it) : idle_since_.erase(it);
  }
}

std::vector<Action> Autoscaler::Update(double now_s, const ClusterView& view,
                                       const std::vector<WorkerNode>& workers,
                                       const std::map<std::string, int>& launching) {
  Round round;
  round.now = now_s;
  running_.clear();
  starting_.clear();
  infeasible_.clear();
  waiting_.clear();
  LearnTypes(view, workers);
  Account(round, view, workers, launching);
  LaunchMinWorkers(round);
  PackDemand(round, view);
  TerminateIdle(round, view, workers);
  return round.actions;
}

nlohmann::json Autoscaler::Report(double now_s) const {
  json types = json::object();
  for (const auto& [name, t] : types_) {
    auto get = [](const std::map<std::string, int>& m, const std::string& k) {
      auto it = m.find(k);
      return it == m.end() ? 0 : it->second;
    };
    types[name] = {{"resources", t.spec.resources},
                   {"min_workers", t.spec.min_workers},
                   {"max_workers", t.spec.max_workers},
                   {"running", get(running_, name)},
                   {"starting", get(starting_, name)},
                   {"failures", t.failures},
                   {"retry_in_s", std::max(0.0, t.retry_at_s - now_s)},
                   {"last_error", t.last_error}};
  }
  json decisions = json::array();
  for (const auto& d : decisions_) decisions.push_back(d);
  return {{"node_types", types},
          {"head_node_type", head_type_},
          {"max_workers", config_.max_workers},
          {"idle_timeout_s", options_.idle_timeout_s},
          {"infeasible", infeasible_},
          {"waiting", waiting_},
          {"decisions", decisions},
          {"time", now_s}};
}

}  // namespace ray::cli
