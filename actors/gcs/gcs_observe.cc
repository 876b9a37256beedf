// The GCS's part of observability: the profile-event table, and the
// cluster reports of `ray status`, `memory`, `stack` and `logs` built from
// the nodes' reports and the GCS's own tables (schema: docs/cli.md).
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

#include "actors/common/ids.h"
#include "actors/common/profile_events.h"
#include "actors/gcs/gcs_core.h"

namespace ray::gcs {
namespace {

using nlohmann::json;

constexpr const char* kActorTable = "actors";

json NodeJson(const proto::NodeRecord& record, bool alive, const std::string& reason) {
  json node = {{"node_id", ids::Hex(record.node_id)},
               {"address", record.address},
               {"is_head", record.is_head},
               {"state", alive ? "ALIVE" : "DEAD"},
               {"resources_total", record.total},
               {"resources_available", record.available}};
  if (!alive) node["death_reason"] = reason;
  return node;
}

}  // namespace

nlohmann::json Core::PlacementGroupsJson() const {
  json out = json::array();
  for (const auto& g : placement_.All()) {
    json bundles = json::array();
    for (size_t i = 0; i < g.bundles.size(); ++i) {
      bundles.push_back({{"bundle_index", i}, {"unit_resources", g.bundles[i]},
                         {"node_id", g.bundle_nodes.size() > i && !g.bundle_nodes[i].empty()
                                         ? ids::Hex(g.bundle_nodes[i])
                                         : ""}});
    }
    out.push_back({{"placement_group_id", ids::Hex(g.id)}, {"name", g.name},
                   {"ray_namespace", g.ray_namespace}, {"creator_job_id", ids::Hex(g.job_id)},
                   {"strategy", proto::StrategyName(g.Strategy())},
                   {"state", proto::StateName(g.State())}, {"bundles", std::move(bundles)},
                   {"pending_reason", g.pending_reason}});
  }
  return out;
}

nlohmann::json Core::JobsJson() const {
  json jobs = json::array();
  store_->Scan("jobs_times", [&](const std::string& job_id, const std::string& bytes) {
    std::pair<int64_t, int64_t> times{0, 0};
    try {
      times = proto::Decode<std::pair<int64_t, int64_t>>(bytes);
    } catch (const std::exception&) {
      return true;
    }
    json job = {{"job_id", ids::Hex(job_id)}, {"state", times.second ? "FINISHED" : "RUNNING"},
                {"start_time_ms", times.first}};
    if (times.second) job["end_time_ms"] = times.second;
    if (auto info = store_->Get("jobs_info", job_id)) {
      try {
        auto decoded = proto::Decode<proto::JobInfo>(*info);
        job["driver_node_id"] = ids::Hex(decoded.driver_node);
        job["entrypoint"] = decoded.executable;
      } catch (const std::exception&) {
      }
    }
    jobs.push_back(std::move(job));
    return true;
  });
  return jobs;
}

void Core::AnnotateObjects(nlohmann::json* report) const {
  // Who refers to each object, over every node's processes.
  std::map<std::string, json> holders;
  for (const auto& node : (*report)["nodes"]) {
    if (!node.contains("report") || !node["report"].contains("processes")) continue;
    for (const auto& process : node["report"]["processes"]) {
      if (!process.is_object() || !process.contains("refs")) continue;
      for (const auto& ref : process["refs"]) {
        if (!ref.is_object() || !ref.contains("object_id")) continue;
        holders[ref["object_id"].dump()].push_back(
            {{"node_id", node.value("node_id", "")}, {"pid", process.value("pid", 0)},
             {"component", process.value("component", "")},
             {"local_refs", ref.value("local_refs", 0)}, {"owned", ref.value("owned", false)},
             {"nested", ref.value("nested", false)}});
      }
    }
  }
  for (auto& node : (*report)["nodes"]) {
    if (!node.contains("report") || !node["report"].contains("objects")) continue;
    for (auto& object : node["report"]["objects"]) {
      if (!object.contains("object_id") || !object["object_id"].is_string()) continue;
      json refs = holders.count(object["object_id"].dump()) ? holders[object["object_id"].dump()]
                                                             : json::array();
      int count = 0;
      for (const auto& h : refs) count += h.value("local_refs", 0);
      object["ref_count"] = count;
      object["references"] = refs;
      for (const auto& h : refs) {
        if (h.value("owned", false)) object["owner_process"] = h;
      }
      std::string id;
      if (!ids::FromHex(object["object_id"].get<std::string>(), &id)) continue;
      if (ids::IsPut(id)) {
        object["made_by"] = "ray::Put";
      } else if (auto spec = LineageOf(id)) {
        object["made_by"] = spec->function;
        object["job_id"] = ids::Hex(spec->job_id);
        object["owner"] = ids::Hex(spec->caller_id);
      }
    }
  }
}

Status Core::AddEvents(const std::string& node_id, uint32_t count, const std::string& batch) {
  // Stored as an encoded StoredBatch without decoding the batch: a msgpack
  // array of [node id, batch], the batch's bytes appended as they came.
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  packer.pack_array(2);
  packer.pack(node_id);
  std::string value(buffer.data(), buffer.size());
  value += batch;
  std::string error;
  if (!events_.Append(value, count, &error)) {
    return Logged(Status(Errc::kIoError, "cannot store profile events: " + error));
  }
  return Status::Ok();
}

std::string Core::QueryEvents(const std::string& job_id) const {
  events::EventsReply reply;
  uint64_t dropped_by_processes = 0;
  events_.Scan([&](const std::string& value) {
    events::StoredBatch stored;
    try {
      stored = proto::Decode<events::StoredBatch>(value);
    } catch (const std::exception&) {
      return true;  // a malformed batch from a bad client: skipped, not fatal
    }
    dropped_by_processes += stored.batch.dropped;
    if (!job_id.empty()) {
      stored.batch.KeepJob(job_id);
      if (stored.batch.events.empty()) return true;
    }
    reply.batches.push_back(std::move(stored));
    return true;
  });
  for (const auto& [id, member] : nodes_) reply.nodes.emplace_back(id, member.record.address);
  for (const auto& [id, dead] : dead_nodes_) reply.nodes.emplace_back(id, dead.record.address);
  reply.dropped = events_.dropped() + dropped_by_processes;
  return proto::Encode(reply);
}

std::vector<std::string> Core::ObserveTargets(const std::string& args) const {
  json parsed = json::parse(args.empty() ? "{}" : args, nullptr, false);
  std::string node;
  if (parsed.is_object() && parsed.contains("node") && parsed["node"].is_string()) {
    node = parsed["node"].get<std::string>();
  }
  std::vector<std::string> out;
  for (const auto& [id, member] : nodes_) {
    if (node.empty() || member.record.address == node || ids::Hex(id).rfind(node, 0) == 0) {
      out.push_back(id);
    }
  }
  return out;
}

std::string Core::Report(const std::string& kind, const std::vector<NodeReport>& reports) const {
  std::map<std::string, json> by_node;
  for (const auto& report : reports) {
    json parsed = json::object();
    if (!report.json.empty()) {
      parsed = json::parse(report.json, nullptr, false);
      if (parsed.is_discarded()) parsed = {{"error", "the node's report is not JSON"}};
    } else {
      parsed = {{"error", report.error.empty() ? "no answer" : report.error}};
    }
    by_node[report.node_id] = std::move(parsed);
  }
  json nodes = json::array();
  for (const auto& [id, member] : nodes_) {
    json node = NodeJson(member.record, true, "");
    auto it = by_node.find(id);
    node["report"] = it == by_node.end() ? json{{"error", "not asked"}} : it->second;
    nodes.push_back(std::move(node));
  }
  for (const auto& [id, dead] : dead_nodes_) nodes.push_back(NodeJson(dead.record, false, dead.reason));
  json out = {{"kind", kind}, {"nodes", std::move(nodes)}};
  if (kind == "status") {
    json actors = json::array();
    std::map<std::string, int> by_state;
    store_->Scan(kActorTable, [&](const std::string&, const std::string& bytes) {
      proto::ActorInfo info;
      try {
        info = proto::Decode<proto::ActorInfo>(bytes);
      } catch (const std::exception&) {
        return true;
      }
      ++by_state[info.state];
      actors.push_back({{"actor_id", ids::Hex(info.actor_id)}, {"name", info.name},
                        {"class_name", info.factory}, {"state", info.state},
                        {"job_id", ids::Hex(info.job_id)}, {"restarts", info.restarts},
                        {"node_id", ids::Hex(info.node_id)}, {"death_cause", info.death_cause},
                        {"ray_namespace", info.ray_namespace},
                        {"lifetime", info.detached ? "DETACHED" : "NON_DETACHED"}});
      return true;
    });
    out["actors"] = std::move(actors);
    out["placement_groups"] = PlacementGroupsJson();
    out["jobs"] = JobsJson();
    out["actors_by_state"] = by_state;
    // The autoscaler's last report, when one runs (tools/ray/autoscaler.h).
    json autoscaler = json::parse(autoscaler_report_, nullptr, false);
    if (!autoscaler_report_.empty() && autoscaler.is_object()) out["autoscaler"] = std::move(autoscaler);
    out["events"] = {{"records", events_.records()}, {"bytes", events_.bytes()},
                     {"dropped", events_.dropped()},
                     {"cap_bytes", options_.EventsCap()}};
  }
  if (kind == "memory") {
    try {
      AnnotateObjects(&out);
    } catch (const std::exception& e) {
      // A node's report of the wrong shape: shown as it came, with why it was not joined.
      out["error"] = std::string("could not join the nodes' reports: ") + e.what();
    }
  }
  return out.dump();
}

}  // namespace ray::gcs
