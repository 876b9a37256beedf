// The dashboard's lists and figures, made from the GCS's reports and events.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>

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

json WorkerRows(const json& report) { return PerNode(report, "workers"); }

/// The value a filter compares: the row's field, as text.
std::string JsonField(const json& row, const std::string& key) {
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

json PageOf(size_t matched, size_t total, const std::map<std::string, std::string>& query,
            const std::function<json(size_t)>& row) {
  const size_t limit = std::min(Number(query, "limit", kDefaultLimit), kMaxLimit);
  const size_t offset = Number(query, "offset", 0);
  json page = json::array();
  for (size_t i = offset; i < matched && page.size() < limit; ++i) page.push_back(row(i));
  return {{"total", total}, {"num_filtered", matched}, {"offset", offset},
          {"limit", limit}, {"num_after_truncation", page.size()}, {"result", page}};
}

}  // namespace

json PerNode(const json& report, const std::string& list) {
  json rows = json::array();
  for (const auto& node : report.value("nodes", json::array())) {
    for (auto item : node.value("report", json::object()).value(list, json::array())) {
      item["node_id"] = node.value("node_id", "");
      rows.push_back(std::move(item));
    }
  }
  return rows;
}

json Rows(const std::string& kind, const json& report) {
  if (kind == "nodes") return NodeRows(report);
  if (kind == "workers") return WorkerRows(report);
  if (kind == "objects") return PerNode(report, "objects");
  if (kind == "placement_groups") return report.value("placement_groups", json::array());
  if (kind == "actors") {
    // The worker process hosting each live actor, from the nodes' workers.
    std::map<std::string, json> pids;
    for (const auto& w : WorkerRows(report)) {
      if (!w.value("actor_id", "").empty()) pids[w["actor_id"]] = w.value("pid", 0);
    }
    json rows = report.value("actors", json::array());
    for (auto& actor : rows) {
      auto it = pids.find(actor.value("actor_id", ""));
      if (it != pids.end()) actor["pid"] = it->second;
    }
    return rows;
  }
  return json::array();
}

TaskTable::TaskTable(const std::string& events_bytes, const json& status) {
  // Running now: what the nodes' workers run.
  for (const auto& w : WorkerRows(status)) {
    if (w.value("task_id", "").empty()) continue;
    running_.push_back({{"task_id", w["task_id"]}, {"name", w.value("function", "")},
                        {"state", "RUNNING"}, {"job_id", w.value("job_id", "")},
                        {"actor_id", w.value("actor_id", "")}, {"node_id", w["node_id"]},
                        {"worker_pid", w.value("pid", 0)}});
  }
  if (events_bytes.empty()) return;
  reply_ = proto::Decode<events::EventsReply>(events_bytes);
  // Finished ones, from the events: indices into the batches, no copies.
  for (uint32_t b = 0; b < reply_.batches.size(); ++b) {
    const auto& batch = reply_.batches[b].batch;
    for (uint32_t i = 0; i < batch.events.size(); ++i) {
      const auto& w = batch.events[i];
      if (w.type >= batch.strings.size() || batch.strings[w.type] != "task") continue;
      bool failed = false;
      for (const auto& [key, value] : w.extra) failed |= key == "error_type";
      done_.push_back({b, i, batch.base_us + w.start + w.duration, failed});
    }
  }
  // Most recent first.
  std::stable_sort(done_.begin(), done_.end(),
                   [](const Done& a, const Done& b) { return a.end_us > b.end_us; });
}

std::string TaskTable::Text(const Done& d, uint32_t index) const {
  const auto& strings = reply_.batches[d.batch].batch.strings;
  return index < strings.size() ? strings[index] : std::string();
}

std::string TaskTable::Field(size_t row, const std::string& key) const {
  if (row < running_.size()) return JsonField(running_[row], key);
  const Done& d = done_[row - running_.size()];
  const auto& stored = reply_.batches[d.batch];
  const auto& w = stored.batch.events[d.index];
  if (key == "state") return d.failed ? "FAILED" : "FINISHED";
  if (key == "name" || key == "function") return Text(d, w.function);
  if (key == "job_id") return ids::Hex(Text(d, w.job));
  if (key == "actor_id") return ids::Hex(Text(d, w.actor));
  if (key == "node_id") return ids::Hex(stored.node_id);
  if (key == "task_id") return ids::Hex(w.task_id);
  if (key == "worker_pid") return std::to_string(stored.batch.pid);
  return "";
}

json TaskTable::Row(size_t row) const {
  if (row < running_.size()) return running_[row];
  const Done& d = done_[row - running_.size()];
  const auto& stored = reply_.batches[d.batch];
  const auto& w = stored.batch.events[d.index];
  const int64_t start_us = stored.batch.base_us + w.start;
  json out = {{"task_id", ids::Hex(w.task_id)},       {"name", Text(d, w.function)},
              {"state", d.failed ? "FAILED" : "FINISHED"}, {"job_id", ids::Hex(Text(d, w.job))},
              {"actor_id", ids::Hex(Text(d, w.actor))}, {"node_id", ids::Hex(stored.node_id)},
              {"worker_pid", stored.batch.pid},        {"attempt", w.attempt},
              {"start_time_ms", start_us / 1000},      {"end_time_ms", d.end_us / 1000},
              {"duration_ms", w.duration / 1000.0}};
  for (const auto& [key, value] : w.extra) {
    if (key == "error_type" || key == "error_message") out[key] = value;
  }
  return out;
}

json TaskTable::Rows() const {
  json rows = json::array();
  for (size_t i = 0; i < size(); ++i) rows.push_back(Row(i));
  return rows;
}

json TaskTable::Page(const std::map<std::string, std::string>& query) const {
  const std::vector<Filter> filters = Filters(query);
  std::vector<size_t> matched;
  for (size_t row = 0; row < size(); ++row) {
    bool keep = true;
    for (const auto& f : filters) keep = keep && (Field(row, f.key) == f.value) == f.equal;
    if (keep) matched.push_back(row);
  }
  return PageOf(matched.size(), size(), query, [&](size_t i) { return Row(matched[i]); });
}

std::map<std::string, std::map<std::string, int>> TaskTable::CountsBy(const std::string& key) const {
  std::map<std::string, std::map<std::string, int>> counts;
  for (size_t row = 0; row < size(); ++row) ++counts[Field(row, key)][Field(row, "state")];
  return counts;
}

json JobRows(const TaskTable& tasks, const json& status) {
  std::map<std::string, json> jobs;
  // What the GCS keeps of each job (its state and times survive restarts), then the tasks' counts.
  for (const auto& job : status.value("jobs", json::array())) {
    if (job.contains("job_id") && job["job_id"].is_string()) jobs[job["job_id"]] = job;
  }
  for (size_t row = 0; row < tasks.size(); ++row) {
    const std::string id = tasks.Field(row, "job_id");
    if (id.empty()) continue;
    const std::string state = tasks.Field(row, "state");
    json& job = jobs[id];
    job["job_id"] = id;
    job["num_tasks"] = job.value("num_tasks", 0) + 1;
    job["num_failed"] = job.value("num_failed", 0) + (state == "FAILED" ? 1 : 0);
    job["num_running"] = job.value("num_running", 0) + (state == "RUNNING" ? 1 : 0);
    if (auto times = tasks.Times(row)) {
      const int64_t start = times->first / 1000, end = times->second / 1000;
      job["first_task_ms"] = std::min(job.value("first_task_ms", start), start);
      job["last_task_ms"] = std::max(job.value("last_task_ms", end), end);
    }
  }
  json rows = json::array();
  for (auto& [id, job] : jobs) {
    for (const char* count : {"num_tasks", "num_failed", "num_running"}) {
      if (!job.contains(count)) job[count] = 0;
    }
    rows.push_back(std::move(job));
  }
  return rows;
}

std::optional<std::pair<int64_t, int64_t>> TaskTable::Times(size_t row) const {
  if (row < running_.size()) return std::nullopt;
  const Done& d = done_[row - running_.size()];
  const auto& batch = reply_.batches[d.batch].batch;
  return std::make_pair(batch.base_us + batch.events[d.index].start, d.end_us);
}

json Page(const json& rows, const std::map<std::string, std::string>& query) {
  const std::vector<Filter> filters = Filters(query);
  std::vector<size_t> matched;
  for (size_t i = 0; i < rows.size(); ++i) {
    bool keep = true;
    for (const auto& f : filters) keep = keep && (JsonField(rows[i], f.key) == f.value) == f.equal;
    if (keep) matched.push_back(i);
  }
  return PageOf(matched.size(), rows.size(), query, [&](size_t i) { return rows[matched[i]]; });
}

std::string PrometheusText(const json& status, const TaskTable& tasks) {
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
  for (size_t row = 0; row < tasks.size(); ++row) ++task_states[tasks.Field(row, "state")];
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
