// gcs::Core: node membership, heartbeats and the object directory, which
// loses a node's copies when the node dies.
#include <algorithm>
#include <utility>

#include "actors/common/ids.h"
#include "actors/common/logging.h"
#include "actors/gcs/gcs_core.h"

namespace ray::gcs {
namespace {

constexpr const char* kNodeTable = "nodes";

}  // namespace

// -- membership -------------------------------------------------------------------

Status Core::RegisterNode(proto::NodeRecord record, bool reachable) {
  if (options_.max_clients > 0 && static_cast<int>(nodes_.size()) >= options_.max_clients) {
    return Status(Errc::kResourceExhausted,
                  "the cluster already has " + std::to_string(nodes_.size()) +
                      " nodes, its limit (ray start --redis-max-clients=" +
                      std::to_string(options_.max_clients) + ")");
  }
  if (nodes_.count(record.node_id)) {
    return Status(Errc::kAlreadyExists, "a node with this id is already registered");
  }
  if (!reachable) {
    return Status(Errc::kInvalidArgument, "a node registers with its raylet and object manager");
  }
  record.available = record.total;
  for (const auto& [id, member] : nodes_) {
    outbox_->NodeAdded(id, record);
    outbox_->NodeAdded(record.node_id, member.record);
  }
  // The table is for inspection; membership itself lives in memory, so a
  // failed write costs a log line, not the node.
  std::string error;
  if (!store_->Put(kNodeTable, record.node_id, proto::Encode(record), &error)) {
    Logged(Status(Errc::kIoError, "cannot store node " + ids::Hex(record.node_id) + ": " + error));
  }
  dead_nodes_.erase(record.node_id);
  nodes_[record.node_id] = Member{record, clock_->Now()};
  if (!record.is_head) {
    RAY_LOG(Info) << "node " << ids::Hex(record.node_id) << " (" << record.address << ") joined; "
                  << nodes_.size() << " node(s)";
  }
  return Status::Ok();
}

StatusOr<std::vector<proto::NodeRecord>> Core::Heartbeat(const std::string& node_id,
                                                         std::map<std::string, double> available) {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) {
    return Status(Errc::kRemovedFromCluster,
                  "node " + ids::Hex(node_id) + " is not in the cluster (declared dead)");
  }
  it->second.last_heartbeat = clock_->Now();
  it->second.record.available = std::move(available);
  std::map<std::string, proto::Bundle> free, totals;
  for (const auto& [id, member] : nodes_) {
    free[id] = member.record.available;
    totals[id] = member.record.total;
  }
  placement_.OnNodes(free, totals);
  return Nodes();
}

std::vector<proto::NodeRecord> Core::Nodes() const {
  std::vector<proto::NodeRecord> out;
  out.reserve(nodes_.size());
  for (const auto& [id, member] : nodes_) {
    out.push_back(member.record);
    // Its placement groups' bundles are resources of its own (Ray's names).
    for (const auto& [name, amount] : placement_.GroupResources(id)) out.back().total[name] += amount;
  }
  return out;
}

bool Core::NodeDisconnected(const std::string& node_id) {
  if (!nodes_.count(node_id)) return false;
  RemoveNode(node_id, "lost the connection to its raylet");
  return true;
}

std::vector<std::string> Core::CheckHeartbeats() {
  auto limit = std::chrono::milliseconds(options_.heartbeat_timeout_ms);
  auto now = clock_->Now();
  std::vector<std::string> silent;
  for (const auto& [id, member] : nodes_) {
    // The head's raylet shares the GCS's process: it cannot hang apart from it.
    if (!member.record.is_head && now - member.last_heartbeat > limit) silent.push_back(id);
  }
  for (const auto& id : silent) {
    RemoveNode(id, "no heartbeat for " + std::to_string(options_.heartbeat_timeout_ms) +
                       " ms (hung or unreachable)");
  }
  return silent;
}

std::chrono::milliseconds Core::heartbeat_check_interval() const {
  return std::chrono::milliseconds(std::max<int64_t>(10, options_.heartbeat_timeout_ms / 10));
}

void Core::RemoveNode(const std::string& node_id, const std::string& reason) {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) return;
  proto::NodeRecord record = std::move(it->second.record);
  nodes_.erase(it);
  dead_nodes_[node_id] = DeadNode{record, reason};
  if (record.is_head) {
    RAY_LOG(Debug) << "head node " << ids::Hex(node_id) << " left: " << reason;
  } else {
    RAY_LOG(Warning) << "node " << ids::Hex(node_id) << " (" << record.address
                     << ") removed from the cluster: " << reason;
  }
  std::string error;
  if (!store_->Delete(kNodeTable, node_id, &error)) {
    Logged(Status(Errc::kIoError, "cannot delete node " + ids::Hex(node_id) + ": " + error));
  }
  for (const auto& [id, member] : nodes_) outbox_->NodeRemoved(id, node_id, reason);
  placement_.OnNodeRemoved(node_id);
  directory_.DropNode(node_id, "its only copy was on node " + ids::Hex(node_id) + " (" +
                                   record.address + "), which died: " + reason);
}

// -- object directory -----------------------------------------------------------------

void Core::AddLocations(const std::string& node_id, std::vector<proto::Location> found) {
  if (!nodes_.count(node_id)) return;
  Deliver(directory_.Add(node_id, std::move(found)));
}

void Core::RemoveLocations(const std::string& node_id, const std::vector<std::string>& ids,
                           const std::string& why) {
  directory_.Remove(node_id, ids, why);
}

void Core::Locate(const std::vector<std::string>& ids, SubscriberId sub) {
  auto now = directory_.Locate(ids, sub);
  if (!now.empty()) outbox_->Located(sub, now);
}

void Core::Resubscribe(const std::vector<std::string>& ids, SubscriberId sub) {
  auto now = directory_.Resubscribe(ids, sub);
  if (!now.empty()) outbox_->Located(sub, now);
}

std::vector<proto::Location> Core::LocationsNow(const std::vector<std::string>& ids) const {
  return directory_.AllCopies(ids);
}

void Core::Deliver(const Answers& answers) {
  for (const auto& [sub, found] : answers) outbox_->Located(sub, found);
}

}  // namespace ray::gcs
