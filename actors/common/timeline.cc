#include "actors/common/timeline.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <tuple>
#include <vector>

#include "actors/common/ids.h"

namespace ray::timeline {
namespace {

using nlohmann::json;

// Chrome's reserved colour names, per event type (as Ray's timeline uses them).
const char* DefaultColor(const std::string& type) {
  static const std::map<std::string, const char*> colors = {
      {"task", "rail_response"},
      {"task:deserialize_arguments", "rail_load"},
      {"task:execute", "rail_animation"},
      {"task:store_outputs", "rail_idle"},
      {"worker_idle", "cq_build_abandoned"},
      {"submit_task", "background_memory_dump"},
      {"ray.get", "good"},
      {"ray.put", "terrible"},
      {"ray.wait", "vsync_highlight_color"},
      {"transfer", "cq_build_passed"},
      {"evict", "bad"},
      {"rebuild", "yellow"},
  };
  auto it = colors.find(type);
  return it == colors.end() ? "generic_work" : it->second;
}

std::string Short(const std::string& binary_id) { return ids::Hex(binary_id).substr(0, 8); }

struct Row {
  int pid = 0;
  int tid = 0;
  std::vector<const events::Event*> tasks;  // for worker_idle
};

class Builder {
 public:
  Builder(const events::EventsReply& reply, const Options& options)
      : reply_(reply), options_(options) {
    for (const auto& [node_id, address] : reply.nodes) addresses_[node_id] = address;
  }

  json Build(Summary* summary) {
    for (const auto& stored : reply_.batches) {
      expanded_.push_back(stored.batch.Expand());
      for (const auto& event : expanded_.back()) Add(stored, event);
    }
    for (auto& [key, row] : rows_) AddIdle(row);
    if (summary) {
      summary->spans = spans_;
      summary->dropped = reply_.dropped;
    }
    json out = json::array();
    for (auto& m : metadata_) out.push_back(std::move(m));
    for (auto& e : trace_) out.push_back(std::move(e));
    return out;
  }

 private:
  bool Wanted(const events::Event& event) const {
    return options_.job_id.empty() || event.job_id == options_.job_id;
  }

  int NodePid(const std::string& node_id) {
    auto it = node_pids_.find(node_id);
    if (it != node_pids_.end()) return it->second;
    int pid = static_cast<int>(node_pids_.size()) + 1;
    node_pids_[node_id] = pid;
    auto address = addresses_.find(node_id);
    std::string name = "Node " + (address == addresses_.end() ? "?" : address->second) + " (" +
                       Short(node_id) + ")";
    metadata_.push_back({{"ph", "M"}, {"name", "process_name"}, {"pid", pid}, {"tid", 0},
                         {"args", {{"name", name}}}});
    metadata_.push_back({{"ph", "M"}, {"name", "process_sort_index"}, {"pid", pid}, {"tid", 0},
                         {"args", {{"sort_index", pid}}}});
    return pid;
  }

  Row& RowOf(const events::StoredBatch& stored, const events::Event& event) {
    const auto& batch = stored.batch;
    const bool node_row = event.source == static_cast<uint8_t>(events::Source::kNode) ||
                          batch.component_type == "node";
    // One row per node for its raylet and object manager; one per thread otherwise.
    auto key = node_row ? std::make_tuple(stored.node_id, int32_t{0}, uint32_t{0})
                        : std::make_tuple(stored.node_id, batch.pid, event.tid);
    auto it = rows_.find(key);
    if (it != rows_.end()) return it->second;
    Row row;
    row.pid = NodePid(stored.node_id);
    row.tid = static_cast<int>(rows_.size()) + 1;
    std::string name;
    if (node_row) {
      name = "raylet";
    } else {
      name = (batch.component_type.empty() ? "process" : batch.component_type) + ":" +
             std::to_string(batch.pid);
      if (!batch.component_id.empty()) name += " " + Short(batch.component_id);
      int& threads = threads_of_[{stored.node_id, batch.pid}];
      if (threads++ > 0) name += " thread " + std::to_string(event.tid);
    }
    metadata_.push_back({{"ph", "M"}, {"name", "thread_name"}, {"pid", row.pid},
                         {"tid", row.tid}, {"args", {{"name", name}}}});
    return rows_.emplace(key, row).first->second;
  }

  json Args(const events::Event& event, std::string* name, std::string* cname) const {
    json args = json::object();
    if (!event.task_id.empty()) args["task_id"] = ids::Hex(event.task_id);
    if (!event.job_id.empty()) args["job_id"] = ids::Hex(event.job_id);
    if (!event.actor_id.empty()) args["actor_id"] = ids::Hex(event.actor_id);
    if (!event.function.empty()) args["function_name"] = event.function;
    if (event.type == "task") args["attempt"] = event.attempt;
    if (event.value >= 0) args[event.type == "ray.put" ? "bytes" : "num_objects"] = event.value;
    for (const auto& [key, value] : event.extra) {
      if (key == "name") *name = value;
      else if (key == "cname") *cname = value;
      args[key] = value;
    }
    return args;
  }

  void Span(const Row& row, const std::string& cat, const std::string& name,
            const std::string& cname, int64_t start, int64_t end, json args) {
    trace_.push_back({{"ph", "X"}, {"cat", cat}, {"name", name}, {"pid", row.pid},
                      {"tid", row.tid}, {"ts", start}, {"dur", std::max<int64_t>(0, end - start)},
                      {"cname", cname}, {"args", std::move(args)}});
    ++spans_;
  }

  void Add(const events::StoredBatch& stored, const events::Event& event) {
    if (!Wanted(event)) return;
    Row& row = RowOf(stored, event);
    std::string name = event.type == "task" && !event.function.empty() ? event.function
                                                                       : event.type;
    std::string cname = DefaultColor(event.type);
    json args = Args(event, &name, &cname);
    const int64_t end = std::max(event.start_us, event.end_us);
    Span(row, event.type, name, cname, event.start_us, end, args);
    if (event.type != "task") return;
    row.tasks.push_back(&event);
    // The phases, clamped so each lies inside its task.
    const int64_t args_end = std::clamp(event.args_end_us, event.start_us, end);
    const int64_t exec_end = std::clamp(event.exec_end_us, args_end, end);
    json phase_args = {{"task_id", args.value("task_id", "")}};
    Span(row, "task:deserialize_arguments", "task:deserialize_arguments",
         DefaultColor("task:deserialize_arguments"), event.start_us, args_end, phase_args);
    Span(row, "task:execute", "task:execute", DefaultColor("task:execute"), args_end, exec_end,
         phase_args);
    Span(row, "task:store_outputs", "task:store_outputs", DefaultColor("task:store_outputs"),
         exec_end, end, phase_args);
  }

  // A worker is idle between the end of one task and the start of the next.
  void AddIdle(Row& row) {
    std::sort(row.tasks.begin(), row.tasks.end(),
              [](const events::Event* a, const events::Event* b) { return a->start_us < b->start_us; });
    for (size_t i = 1; i < row.tasks.size(); ++i) {
      int64_t from = row.tasks[i - 1]->end_us;
      int64_t to = row.tasks[i]->start_us;
      if (to > from) Span(row, "worker_idle", "worker_idle", DefaultColor("worker_idle"), from, to, json::object());
    }
  }

  const events::EventsReply& reply_;
  const Options& options_;
  std::map<std::string, std::string> addresses_;
  std::map<std::string, int> node_pids_;
  std::map<std::tuple<std::string, int32_t, uint32_t>, Row> rows_;
  std::map<std::pair<std::string, int32_t>, int> threads_of_;
  std::vector<std::vector<events::Event>> expanded_;  // what rows' task pointers point at
  std::vector<json> metadata_;
  std::vector<json> trace_;
  size_t spans_ = 0;
};

}  // namespace

std::string ChromeTrace(const events::EventsReply& reply, const Options& options,
                        Summary* summary) {
  return Builder(reply, options).Build(summary).dump();
}

}  // namespace ray::timeline
