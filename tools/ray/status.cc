// `ray status` and `ray memory`: the cluster's nodes, resources, demand,
// actors and object stores, and the objects held, from the GCS's report
// (schema: docs/cli.md). Ray 2.x's `ray status` and `ray memory` are the models.
#include <ctime>
#include <iostream>
#include <map>
#include <set>

#include "tools/ray/commands.h"
#include "tools/ray/observe_common.h"

namespace po = boost::program_options;
using nlohmann::json;

namespace ray::cli {
namespace {

std::string Amount(double value) {
  char buf[32];
  snprintf(buf, sizeof buf, "%g", value);
  return buf;
}

/// "1/4 CPU, 0/1 GPU": used of total, per resource.
std::string Usage(const json& node) {
  std::string out;
  const json& total = node.value("resources_total", json::object());
  const json& avail = node.value("resources_available", json::object());
  for (const auto& [name, amount] : total.items()) {
    double used = amount.get<double>() - avail.value(name, amount.get<double>());
    out += (out.empty() ? "" : ", ") + Amount(used) + "/" + Amount(amount.get<double>()) + " " + name;
  }
  return out.empty() ? "no resources" : out;
}

/// "12 admitted, 40 refused (30 timed_out, 10 address_limit); refused most
/// recently: 127.0.0.2 (40, address_limit, 0 s ago)": a node's auth handshakes.
std::string Handshakes(const json& h) {
  std::string out = std::to_string(h.value("admitted", uint64_t{0})) + " admitted, " +
                    std::to_string(h.value("refused", uint64_t{0})) + " refused";
  std::string reasons;
  const json by_reason = h.value("refused_by", json::object());  // named: items() of a temporary dangles
  for (const auto& [why, n] : by_reason.items()) {
    if (!n.is_number() || n.get<uint64_t>() == 0) continue;
    reasons += (reasons.empty() ? "" : ", ") + std::to_string(n.get<uint64_t>()) + " " + why;
  }
  if (!reasons.empty()) out += " (" + reasons + ")";
  std::string recent;
  const json recent_refused = h.value("recent_refused", json::array());
  for (const auto& s : recent_refused) {
    recent += (recent.empty() ? "" : ", ") + s.value("address", "") + " (" +
              std::to_string(s.value("refused", uint64_t{0})) + ", " + s.value("last_reason", "") + ", " +
              std::to_string(s.value("seconds_ago", 0)) + " s ago)";
  }
  if (!recent.empty()) out += "; refused most recently: " + recent;
  return out;
}

void PrintNodes(const json& nodes) {
  std::cout << "Node status\n" << std::string(60, '-') << "\n";
  for (const char* state : {"ALIVE", "DEAD"}) {
    std::cout << (std::string(state) == "ALIVE" ? "Alive:\n" : "Dead:\n");
    int count = 0;
    for (const auto& node : nodes) {
      if (node.value("state", "") != state) continue;
      ++count;
      std::cout << " " << node.value("node_id", "") << " " << node.value("address", "")
                << (node.value("is_head", false) ? " (head)" : "");
      if (std::string(state) == "DEAD") {
        std::cout << "  -- " << node.value("death_reason", "") << "\n";
        continue;
      }
      const json& report = node.value("report", json::object());
      std::cout << "\n   resources: " << Usage(report.contains("resources_total") ? report : node)
                << "\n";
      if (report.contains("error")) std::cout << "   (no report: " << report.value("error", "") << ")\n";
      if (report.contains("workers")) {
        std::cout << "   workers: " << report["workers"].size() << ", tasks done: "
                  << report.value("tasks_done", 0) << "\n";
      }
      if (report.contains("handshakes") && report["handshakes"].is_object()) {
        std::cout << "   auth handshakes: " << Handshakes(report["handshakes"]) << "\n";
      }
    }
    if (count == 0) std::cout << " (none)\n";
  }
}

void PrintDemand(const json& nodes) {
  std::map<std::string, int> pending, infeasible;
  for (const auto& node : nodes) {
    const json report = node.value("report", json::object());
    // Named copies: items() of a temporary would outlive it.
    const json pending_here = report.value("pending_demand", json::object());
    const json infeasible_here = report.value("infeasible_demand", json::object());
    for (const auto& [shape, n] : pending_here.items()) pending[shape] += n.get<int>();
    for (const auto& [shape, n] : infeasible_here.items()) infeasible[shape] += n.get<int>();
  }
  std::cout << "Demands:\n";
  if (pending.empty() && infeasible.empty()) std::cout << " (no resource demands)\n";
  for (const auto& [shape, n] : pending) std::cout << " " << shape << ": " << n << " pending\n";
  for (const auto& [shape, n] : infeasible) {
    std::cout << " " << shape << ": " << n << " infeasible (no node has these resources)\n";
  }
}

/// The autoscaler's report (tools/ray/autoscaler.h): node types, what waits, its last decisions.
void PrintAutoscaler(const json& a) {
  double now = a.value("time", 0.0);
  std::cout << "\nAutoscaler (" << a.value("provider", "") << ", cluster '"
            << a.value("cluster_name", "") << "', max_workers " << a.value("max_workers", 0)
            << ", idle timeout " << a.value("idle_timeout_s", 0.0) << " s)\n"
            << std::string(60, '-') << "\n";
  const json types = a.value("node_types", json::object());
  for (const auto& [name, t] : types.items()) {
    std::cout << " " << name << ": " << t.value("running", 0) << " running, "
              << t.value("starting", 0) << " starting (min " << t.value("min_workers", 0)
              << ", max " << t.value("max_workers", 0) << ")";
    if (t.value("failures", 0) > 0) {
      std::cout << ", " << t.value("failures", 0) << " failed launch(es), next try in "
                << static_cast<int>(t.value("retry_in_s", 0.0)) << " s: "
                << t.value("last_error", "");
    }
    std::cout << "\n";
  }
  const json infeasible = a.value("infeasible", json::array());
  for (const auto& shape : infeasible) {
    std::cout << " infeasible: " << shape.get<std::string>() << " (no node type has these resources)\n";
  }
  const json waiting = a.value("waiting", json::array());
  for (const auto& why : waiting) std::cout << " waiting: " << why.get<std::string>() << "\n";
  const json decisions = a.value("decisions", json::array());
  std::cout << "Recent decisions:\n";
  if (decisions.empty()) std::cout << " (none)\n";
  size_t first = decisions.size() > 10 ? decisions.size() - 10 : 0;
  for (size_t i = first; i < decisions.size(); ++i) {
    const json& d = decisions[i];
    std::cout << " " << static_cast<int>(now - d.value("time", now)) << " s ago: "
              << d.value("action", "") << " " << d.value("type", "")
              << (d.value("node", "").empty() ? "" : " " + d.value("node", "")) << ": "
              << d.value("reason", "") << "\n";
  }
}

/// Each live group: its strategy, state and bundles (node or why it waits).
void PrintPlacementGroups(const json& groups) {
  std::cout << "Placement groups:\n";
  int shown = 0;
  for (const auto& g : groups) {
    if (g.value("state", "") == "REMOVED") continue;
    ++shown;
    std::string name = g.value("name", "");
    std::cout << " " << ShortId(g.value("placement_group_id", ""))
              << (name.empty() ? "" : " (" + name + ")") << " " << g.value("strategy", "") << " "
              << g.value("state", "");
    if (!g.value("pending_reason", "").empty()) std::cout << ": " << g["pending_reason"].get<std::string>();
    std::cout << "\n";
    for (const auto& b : g.value("bundles", json::array())) {
      std::cout << "   bundle " << b.value("bundle_index", 0) << " " << b.value("unit_resources", json::object()).dump()
                << " on " << (b.value("node_id", "").empty() ? "no node yet" : ShortId(b["node_id"])) << "\n";
    }
  }
  if (shown == 0) std::cout << " (none)\n";
}

void PrintStatus(const json& report) {
  char when[64];
  std::time_t now = std::time(nullptr);
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", std::localtime(&now));
  std::cout << "======== Cluster status: " << when << " ========\n";
  const json& nodes = report.value("nodes", json::array());
  PrintNodes(nodes);
  std::cout << "\nResources\n" << std::string(60, '-') << "\n";
  PrintDemand(nodes);
  std::cout << "Actors:\n";
  const json& by_state = report.value("actors_by_state", json::object());
  if (by_state.empty()) std::cout << " (none)\n";
  for (const auto& [state, n] : by_state.items()) std::cout << " " << state << ": " << n << "\n";
  PrintPlacementGroups(report.value("placement_groups", json::array()));
  std::cout << "Object store:\n";
  for (const auto& node : nodes) {
    const json& store = node.value("report", json::object()).value("object_store", json::object());
    if (store.empty()) continue;
    std::cout << " " << ShortId(node.value("node_id", "")) << " " << node.value("address", "")
              << ": " << HumanBytes(store.value("used_bytes", 0.0)) << " / "
              << HumanBytes(store.value("capacity_bytes", 0.0)) << " used, "
              << store.value("objects", 0) << " objects\n";
  }
  const json& events = report.value("events", json::object());
  std::cout << "Profile events: " << events.value("records", 0) << " batches, "
            << HumanBytes(events.value("bytes", 0.0)) << " of "
            << HumanBytes(events.value("cap_bytes", 0.0)) << ", " << events.value("dropped", 0)
            << " dropped\n";
  if (report.contains("autoscaler")) PrintAutoscaler(report["autoscaler"]);
}

/// "pid 1234 (driver) on 3ab476f2": the process that owns an object.
std::string Holder(const json& h) {
  return "pid " + std::to_string(h.value("pid", 0)) + " (" + h.value("component", "") + ") on " +
         ShortId(h.value("node_id", ""));
}

void PrintNodeObjects(const json& node, std::set<std::string>* stored) {
  const json r = node.value("report", json::object());
  const json store = r.value("store", json::object());
  std::cout << "\n--- Node " << node.value("node_id", "") << " (" << node.value("address", "")
            << ") ---\n";
  if (r.contains("error")) {
    std::cout << "(no report: " << r.value("error", "") << ")\n";
    return;
  }
  const int total = r.value("total", 0), listed = r.value("listed", 0);
  std::cout << "Used: " << HumanBytes(store.value("used_bytes", 0.0)) << " of "
            << HumanBytes(store.value("capacity_bytes", 0.0)) << " shared memory; "
            << HumanBytes(store.value("shared_memory_bytes", 0.0)) << " in shared-memory objects, "
            << HumanBytes(store.value("inline_bytes", 0.0)) << " inline; " << total << " objects"
            << (listed < total ? " (first " + std::to_string(listed) + " listed)" : "") << "\n";
  printf("%-40s %10s %-13s %4s %4s %-9s %-22s %s\n", "OBJECT_ID", "SIZE", "WHERE", "REFS", "PINS",
         "OWNER_REF", "MADE_BY", "OWNER");
  for (const auto& o : r.value("objects", json::array())) {
    stored->insert(o.value("object_id", ""));
    const std::string owner = o.contains("owner_process") ? Holder(o["owner_process"])
                                                          : ShortId(o.value("owner", ""));
    printf("%-40s %10s %-13s %4d %4d %-9s %-22s %s\n", o.value("object_id", "").c_str(),
           HumanBytes(o.value("size", 0.0)).c_str(), o.value("where", "").c_str(),
           o.value("ref_count", 0), o.value("pins", 0),
           o.value("owner_holds_ref", false) ? "yes" : "released", o.value("made_by", "?").c_str(),
           owner.c_str());
  }
  fflush(stdout);
}

void PrintMemory(const json& report) {
  std::cout << "======== Object references status ========\n";
  std::set<std::string> stored;
  size_t total_objects = 0;
  for (const auto& node : report.value("nodes", json::array())) {
    if (node.value("state", "") != "ALIVE") continue;
    PrintNodeObjects(node, &stored);
    total_objects += node.value("report", json::object()).value("total", 0);
  }
  // Refs to objects in no store: small results only their owner holds, or not made yet.
  std::cout << "\n--- References to objects in no store (kept by their owner, or not made yet) ---\n";
  size_t others = 0;
  for (const auto& node : report.value("nodes", json::array())) {
    for (const auto& p : node.value("report", json::object()).value("processes", json::array())) {
      for (const auto& ref : p.value("refs", json::array())) {
        if (stored.count(ref.value("object_id", ""))) continue;
        ++others;
        std::cout << ref.value("object_id", "") << "  refs " << ref.value("local_refs", 0)
                  << (ref.value("owned", false) ? ", owned" : "") << " by pid " << p.value("pid", 0)
                  << " (" << p.value("component", "") << ") on "
                  << ShortId(node.value("node_id", "")) << "\n";
      }
    }
  }
  if (others == 0) std::cout << "(none)\n";
  std::cout << "\nTotal: " << total_objects << " objects in stores\n";
}

}  // namespace

int StatusCommand(int argc, char** argv) {
  return ReportCommand(
      "status", "status",
      "Usage: ray status [--address HOST:PORT] [--format text|json]\n"
      "Shows the cluster: nodes (alive and dead, resources used/total), the resource\n"
      "demand waiting (pending and infeasible shapes), actors by state, and each node's\n"
      "object store. Options",
      PrintStatus, argc, argv);
}

int MemoryCommand(int argc, char** argv) {
  return ReportCommand(
      "memory", "memory",
      "Usage: ray memory [--address HOST:PORT] [--format text|json]\n"
      "Lists the objects in the cluster's object stores: id, size, where it is (shared\n"
      "memory or inline), pins, whether its owner still holds a reference, the task that\n"
      "made it and its owner, with totals per node. Options",
      PrintMemory, argc, argv);
}

}  // namespace ray::cli
