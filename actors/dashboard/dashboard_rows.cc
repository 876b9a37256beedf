// The dashboard's lists and figures, made from the GCS's reports and events.
#include <algorithm>
#include <cstdio>
#include <map>

#include "actors/common/ids.h"
#include "actors/common/profile_events.h"
#include "actors/common/protocol.h"
#include "actors/dashboard/dashboard_api.h"

namespace ray::dashboard {
namespace {

using nlohmann::json;

constexpr size_t kDefaultLimit = 100;
constexpr size_t kMaxLimit = 10000;

json NodeRows(const json& report) {
  json rows = json::array();
  for (const auto& node : report.value("nodes", json::array())) {
    json row = node;
    row.erase("report");
    const json r = node.value("report", json::object());
    if (r.contains("workers")) row["num_workers"] = r["workers"].size();
    if (r.contains("object_store")) row["object_store"] = r["object_store"];
    if (r.contains("resources_available")) row["resources_available"] = r["resources_available"];
    if (r.contains("tasks_done")) row["tasks_done"] = r["tasks_done"];
    rows.push_back(std::move(row));
  }
  return rows;
}

json WorkerRows(const json& report) {
  json rows = json::array();
  for (const auto& node : report.value("nodes", json::array())) {
    for (auto w : node.value("report", json::object()).value("workers", json::array())) {
      w["node_id"] = node.value("node_id", "");
      rows.push_back(std::move(w));
    }
  }
  return rows;
}

json ObjectRows(const json& report) {
  json rows = json::array();
  for (const auto& node : report.value("nodes", json::array())) {
    for (auto o : node.value("report", json::object()).value("objects", json::array())) {
      o["node_id"] = node.value("node_id", "");
      rows.push_back(std::move(o));
    }
  }
  return rows;
}

/// The value a filter compares: the row's field, as text.
std::string Field(const json& row, const std::string& key) {
  if (!row.contains(key)) return "";
  const json& v = row[key];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

struct Filter {
  std::string key;
  bool equal = true;
  std::string value;
};

std::vector<Filter> Filters(const std::map<std::string, std::string>& query) {
  std::vector<Filter> out;
  for (const char* key : {"state", "node_id", "job_id", "name", "actor_id", "function"}) {
    auto it = query.find(key);
    if (it != query.end() && !it->second.empty()) out.push_back({key, true, it->second});
  }
  auto keys = query.find("filter_keys");
  auto values = query.find("filter_values");
  if (keys != query.end() && values != query.end()) {
    auto predicates = query.find("filter_predicates");
    out.push_back({keys->second, predicates == query.end() || predicates->second != "!=",
                   values->second});
  }
  return out;
}

size_t Number(const std::map<std::string, std::string>& query, const char* key, size_t fallback) {
  auto it = query.find(key);
  if (it == query.end()) return fallback;
  try {
    long long v = std::stoll(it->second);
    return v < 0 ? fallback : static_cast<size_t>(v);
  } catch (const std::exception&) {
    return fallback;
  }
}

}  // namespace

json Rows(const std::string& kind, const json& report) {
  if (kind == "nodes") return NodeRows(report);
  if (kind == "workers") return WorkerRows(report);
  if (kind == "objects") return ObjectRows(report);
  if (kind == "actors") return report.value("actors", json::array());
  return json::array();
}

json TaskRows(const std::string& events_bytes, const json& status) {
  json rows = json::array();
  // Running now: what the nodes' workers run.
  for (const auto& w : WorkerRows(status)) {
    if (w.value("task_id", "").empty()) continue;
    rows.push_back({{"task_id", w["task_id"]}, {"name", w.value("function", "")},
                    {"state", "RUNNING"}, {"job_id", w.value("job_id", "")},
                    {"actor_id", w.value("actor_id", "")}, {"node_id", w["node_id"]},
                    {"worker_pid", w.value("pid", 0)}});
  }
  if (events_bytes.empty()) return rows;
  auto reply = proto::Decode<events::EventsReply>(events_bytes);
  std::vector<json> done;
  for (const auto& stored : reply.batches) {
    for (const auto& e : stored.batch.Expand()) {
      if (e.type != "task") continue;
      json row = {{"task_id", ids::Hex(e.task_id)},  {"name", e.function},
                  {"state", "FINISHED"},             {"job_id", ids::Hex(e.job_id)},
                  {"actor_id", ids::Hex(e.actor_id)}, {"node_id", ids::Hex(stored.node_id)},
                  {"worker_pid", stored.batch.pid},   {"attempt", e.attempt},
                  {"start_time_ms", e.start_us / 1000}, {"end_time_ms", e.end_us / 1000},
                  {"duration_ms", (e.end_us - e.start_us) / 1000.0}};
      for (const auto& [key, value] : e.extra) {
        if (key == "error_type") row["state"] = "FAILED";
        if (key == "error_type" || key == "error_message") row[key] = value;
      }
      done.push_back(std::move(row));
    }
  }
  // Most recent first.
  std::stable_sort(done.begin(), done.end(), [](const json& a, const json& b) {
    return a["end_time_ms"].get<int64_t>() > b["end_time_ms"].get<int64_t>();
  });
  for (auto& row : done) rows.push_back(std::move(row));
  return rows;
}

json JobRows(const json& tasks) {
  std::map<std::string, json> jobs;
  for (const auto& t : tasks) {
    const std::string id = t.value("job_id", "");
    if (id.empty()) continue;
    json& job = jobs[id];
    job["job_id"] = id;
    job["num_tasks"] = job.value("num_tasks", 0) + 1;
    job["num_failed"] = job.value("num_failed", 0) + (t.value("state", "") == "FAILED" ? 1 : 0);
    job["num_running"] = job.value("num_running", 0) + (t.value("state", "") == "RUNNING" ? 1 : 0);
    if (t.contains("start_time_ms")) {
      int64_t start = t["start_time_ms"], end = t["end_time_ms"];
      job["start_time_ms"] = job.contains("start_time_ms") ? std::min(job["start_time_ms"].get<int64_t>(), start) : start;
      job["end_time_ms"] = job.contains("end_time_ms") ? std::max(job["end_time_ms"].get<int64_t>(), end) : end;
    }
  }
  json rows = json::array();
  for (auto& [id, job] : jobs) rows.push_back(std::move(job));
  return rows;
}

json Page(const json& rows, const std::map<std::string, std::string>& query) {
  const std::vector<Filter> filters = Filters(query);
  json matched = json::array();
  for (const auto& row : rows) {
    bool keep = true;
    for (const auto& f : filters) keep &= (Field(row, f.key) == f.value) == f.equal;
    if (keep) matched.push_back(row);
  }
  const size_t limit = std::min(Number(query, "limit", kDefaultLimit), kMaxLimit);
  const size_t offset = Number(query, "offset", 0);
  json page = json::array();
  for (size_t i = offset; i < matched.size() && page.size() < limit; ++i) page.push_back(matched[i]);
  return {{"total", rows.size()}, {"num_filtered", matched.size()}, {"offset", offset},
          {"limit", limit}, {"num_after_truncation", page.size()}, {"result", page}};
}

std::string PrometheusText(const json& status, const json& tasks) {
  std::string out;
  auto line = [&out](const std::string& text) { out += text + "\n"; };
  auto label = [](const std::string& value) {
    std::string escaped;
    for (char c : value) {
      if (c == '\\' || c == '"') escaped += '\\';
      if (c == '\n') {
        escaped += "\\n";
        continue;
      }
      escaped += c;
    }
    return escaped;
  };
  std::map<std::string, int> task_states;
  for (const auto& t : tasks) ++task_states[t.value("state", "")];
  line("# HELP ray_tasks Tasks by state (finished and failed ones still in the events table).");
  line("# TYPE ray_tasks gauge");
  for (const auto& [state, n] : task_states) {
    line("ray_tasks{state=\"" + label(state) + "\"} " + std::to_string(n));
  }
  line("# HELP ray_actors Actors by state.");
  line("# TYPE ray_actors gauge");
  const json actors = status.value("actors_by_state", json::object());  // items() needs a named json
  for (const auto& [state, n] : actors.items()) {
    line("ray_actors{state=\"" + label(state) + "\"} " + n.dump());
  }
  line("# HELP ray_object_store_used_bytes Bytes used in each node's object store.");
  line("# TYPE ray_object_store_used_bytes gauge");
  line("# HELP ray_object_store_capacity_bytes Capacity of each node's object store.");
  line("# TYPE ray_object_store_capacity_bytes gauge");
  line("# HELP ray_resources_total Resources of each node.");
  line("# TYPE ray_resources_total gauge");
  line("# HELP ray_resources_used Resources in use on each node.");
  line("# TYPE ray_resources_used gauge");
  for (const auto& node : status.value("nodes", json::array())) {
    if (node.value("state", "") != "ALIVE") continue;
    const std::string id = label(node.value("node_id", ""));
    const json r = node.value("report", json::object());
    const json store = r.value("object_store", json::object());
    line("ray_object_store_used_bytes{node_id=\"" + id + "\"} " + store.value("used_bytes", json(0)).dump());
    line("ray_object_store_capacity_bytes{node_id=\"" + id + "\"} " + store.value("capacity_bytes", json(0)).dump());
    const json total = r.value("resources_total", json::object());
    const json avail = r.value("resources_available", json::object());
    for (const auto& [name, amount] : total.items()) {
      const double used = amount.get<double>() - avail.value(name, amount.get<double>());
      char buf[64];
      snprintf(buf, sizeof buf, "%g", used);
      line("ray_resources_total{node_id=\"" + id + "\",resource=\"" + label(name) + "\"} " + amount.dump());
      line("ray_resources_used{node_id=\"" + id + "\",resource=\"" + label(name) + "\"} " + buf);
    }
  }
  line("# HELP ray_events_dropped Profile events dropped by the GCS's cap.");
  line("# TYPE ray_events_dropped counter");
  line("ray_events_dropped " + status.value("events", json::object()).value("dropped", json(0)).dump());
  return out;
}

}  // namespace ray::dashboard
