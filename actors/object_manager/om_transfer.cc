// This node and the others: location reports to the GCS's object directory,
// serving copies to other nodes, and pulling objects from them in chunks.
#include <algorithm>
#include <cstring>
#include <utility>

#include "actors/common/ids.h"
#include "actors/object_manager/om_core.h"
#include "actors/common/profile_events.h"

namespace ray::object_manager {
namespace {

constexpr auto kShm = static_cast<uint8_t>(proto::ObjectKind::kShm);

/// Pins of a transfer to another node are held by this client name.
std::string TransferClient(const std::string& node) { return "xfer:" + node; }

}  // namespace

// -- the object directory -----------------------------------------------------

void Core::Flush() {
  flush_pending_ = false;
  if (!loc_batch_.empty()) {
    outbox_->AddLocations(loc_batch_);
    loc_batch_.clear();
  }
  if (!freed_batch_.empty()) {  // after the adds: same sender and receiver, in order
    // No reason: freed objects are not "lost" (nobody may ask for them).
    outbox_->RemoveLocations(options_.node_id, freed_batch_, std::string());
    freed_batch_.clear();
  }
}

void Core::FlushSoon() {
  if (flush_pending_) return;
  flush_pending_ = true;
  timer_->After(kFlushDelay, {Timer::Kind::kFlush, 0});
}

void Core::Report(const proto::ObjectEntry& entry) {
  if (!reporting_) return;
  uint64_t size = entry.kind == kShm ? entry.size : entry.data.size();
  loc_batch_.push_back({entry.id, options_.node_id, size, ""});
  // Large objects and puts are reported at once, so the report leaves before
  // the task's result does (same connection, in order): a node that dies right
  // after cannot leave them unknown. Small results also reach their origin
  // inline, so they are batched.
  bool urgent = entry.kind == kShm || ids::IsPut(entry.id);
  if (urgent || loc_batch_.size() >= kFlushBatch) {
    Flush();
  } else {
    FlushSoon();
  }
}

void Core::ReportAll() {
  for (const auto& [id, obj] : objects_) {
    if (!obj.replaceable) Report(obj.entry);
  }
  Flush();
}

void Core::Locate(const std::vector<std::string>& ids) {
  if (!reporting_) return;  // never had another node: everything is made here
  std::vector<std::string> ask;
  for (const auto& id : ids) {
    if (IsReady(id) || unsealed_.count(id) || pulls_.count(id)) continue;
    if (wanted_.insert(id).second) ask.push_back(id);
  }
  if (!ask.empty()) outbox_->Locate(ask);
}

void Core::GcsRestarted() {
  if (!reporting_) return;
  ReportAll();
  std::vector<std::string> wanted(wanted_.begin(), wanted_.end());
  wanted_.clear();
  Locate(wanted);
}

void Core::OnLocated(const std::vector<proto::Location>& locations) {
  for (const auto& loc : locations) {
    wanted_.erase(loc.id);
    if (IsReady(loc.id) || pulls_.count(loc.id)) continue;
    if (loc.lost.empty()) {
      if (loc.node_id != options_.node_id) StartPull(loc.id, loc.node_id);
      continue;
    }
    if (!waiting_on_.count(loc.id)) continue;
    if (raylet_attached_) {
      // Someone waits for it: rebuild it from its lineage (the raylet answers
      // with an error object when it cannot).
      outbox_->Rebuild(loc.id, loc.lost);
      continue;
    }
    SealError(loc.id, proto::ErrorKind::kLost, "ObjectLostException",
              "object " + ids::Hex(loc.id) + " is lost: " + loc.lost);
  }
}

// -- other nodes --------------------------------------------------------------

void Core::AddPeer(const std::string& node) {
  peers_.insert(node);
  if (reporting_) return;
  // From now on the GCS must know what is here: report what already is.
  reporting_ = true;
  ReportAll();
}

void Core::RemovePeer(const std::string& node) {
  peers_.erase(node);
  std::vector<std::string> restart;
  for (const auto& [id, p] : pulls_) {
    if (p.node == node) restart.push_back(id);
  }
  for (const auto& id : restart) {
    DropPull(id);
    wanted_.erase(id);
  }
  Locate(restart);
  ClientGone(TransferClient(node));
}

proto::ObjectEntry Core::ServePull(const std::string& id, const std::string& requester) {
  auto it = objects_.find(id);
  if (it == objects_.end() || it->second.replaceable) return proto::ObjectEntry{};
  // Pinned until the requester's pull_end (or its node's death).
  return EntryFor(id, TransferClient(requester));
}

StatusOr<std::string> Core::ReadChunk(const std::string& id, uint64_t offset,
                                      uint64_t len) const {
  auto it = objects_.find(id);
  if (it == objects_.end() || it->second.entry.kind != kShm) {
    return Status(Errc::kNotFound, "no shared-memory object " + ids::Hex(id) + " here");
  }
  const uint64_t size = it->second.entry.size;
  if (offset > size || len > size - offset) {  // written so that offset + len cannot overflow
    return Status(Errc::kInvalidArgument, "chunk outside object " + ids::Hex(id));
  }
  return std::string(store_->At(it->second.entry.offset) + offset, len);
}

void Core::EndServedPull(const std::string& id, const std::string& requester) {
  UnpinCount(TransferClient(requester), id, 1);
  RetryCreates();
}

// -- pulling from other nodes -------------------------------------------------

/// Forgets a pull and frees its buffer; late replies for it are ignored.
void Core::DropPull(const std::string& id) {
  auto p = pulls_.find(id);
  if (p == pulls_.end()) return;
  if (p->second.offset >= 0) {
    store_->Free(p->second.offset);
    unsealed_.erase(id);
  }
  pulls_.erase(p);
}

/// A transfer failed: forget that source and ask the GCS again.
void Core::Relocate(const std::string& id, const std::string& node, const std::string& why) {
  DropPull(id);
  wanted_.erase(id);
  outbox_->RemoveLocations(node, {id}, "node " + ids::Hex(node) + " could not send it: " + why);
  Locate({id});
}

void Core::StartPull(const std::string& id, const std::string& node) {
  if (IsReady(id) || pulls_.count(id) || !peers_.count(node)) return;
  pulls_[id].node = node;
  pulls_[id].started_us = events::NowMicros();
  outbox_->RequestPull(node, id);
}

void Core::OnPullReply(const std::string& id, const std::string& node, proto::ObjectEntry entry) {
  auto p = pulls_.find(id);
  if (p == pulls_.end() || p->second.node != node || p->second.offset >= 0) return;
  if (entry.id.empty()) {
    Relocate(id, node, "it no longer holds the object");
    return;
  }
  if (entry.id != id || entry.kind > static_cast<uint8_t>(proto::ObjectKind::kError)) {
    Relocate(id, node, "it sent a malformed entry");
    return;
  }
  if (entry.kind != kShm) {
    pulls_.erase(p);
    Seal(std::move(entry));
    return;
  }
  int64_t offset = AllocateEvicting(entry.size);
  if (offset < 0) {
    pulls_.erase(p);
    if (peers_.count(node)) outbox_->EndPull(node, id);
    SealError(id, proto::ErrorKind::kStoreFull, "RayObjectStoreFullException",
              "cannot fetch object " + ids::Hex(id) + " (" + std::to_string(entry.size) +
                  " bytes) from node " + ids::Hex(node) + ": this node's object store is full");
    return;
  }
  p->second.size = entry.size;
  p->second.offset = offset;
  unsealed_[id] = {offset, entry.size};
  PumpChunks(id);
}

void Core::PumpChunks(const std::string& id) {
  auto p = pulls_.find(id);
  if (p == pulls_.end() || !peers_.count(p->second.node)) return;  // RemovePeer restarts it
  Pull& pull = p->second;
  while (pull.inflight.size() < static_cast<size_t>(options_.window) && pull.next < pull.size) {
    uint64_t start = pull.next;
    uint64_t len = std::min(options_.chunk_bytes, pull.size - start);
    pull.next += len;
    pull.inflight[start] = len;
    outbox_->RequestChunk(pull.node, id, start, len);
  }
}

void Core::OnChunk(const std::string& id, const std::string& node, uint64_t offset,
                   const std::string& data) {
  auto p = pulls_.find(id);
  if (p == pulls_.end() || p->second.node != node) return;
  Pull& pull = p->second;
  auto chunk = pull.inflight.find(offset);
  if (chunk == pull.inflight.end()) return;  // not asked for (or already here): stale
  const uint64_t len = chunk->second;
  if (data.size() != len) {
    Relocate(id, node, "short chunk");
    return;
  }
  pull.inflight.erase(chunk);
  pull.received += len;
  char* dest = store_->At(pull.offset) + offset;
  if (pull.received < pull.size) {
    // Ask for the next chunk before copying this one: the request travels
    // while the copy runs.
    PumpChunks(id);
    std::memcpy(dest, data.data(), len);
    return;
  }
  std::memcpy(dest, data.data(), len);
  FinishPull(id);
}

void Core::FinishPull(const std::string& id) {
  auto p = pulls_.find(id);
  proto::ObjectEntry entry;
  entry.id = id;
  entry.kind = kShm;
  entry.offset = p->second.offset;
  entry.size = p->second.size;
  std::string node = std::move(p->second.node);
  pulled_bytes_ += entry.size;
  if (events::Recorder::Instance().enabled()) {
    events::Event event;
    event.type = "transfer";
    event.source = static_cast<uint8_t>(events::Source::kNode);
    event.start_us = p->second.started_us;
    event.end_us = events::NowMicros();
    event.extra = {{"object_id", ids::Hex(id)}, {"bytes", std::to_string(entry.size)},
                   {"from_node", ids::Hex(node)}, {"to_node", ids::Hex(options_.node_id)}};
    events::Recorder::Instance().Record(std::move(event));
  }
  unsealed_.erase(id);
  pulls_.erase(p);
  if (peers_.count(node)) outbox_->EndPull(node, id);
  Seal(std::move(entry));
}

void Core::OnTransferFailed(const std::string& id, const std::string& node,
                            const std::string& why) {
  auto p = pulls_.find(id);
  if (p == pulls_.end() || p->second.node != node) return;
  Relocate(id, node, why);
}

}  // namespace ray::object_manager
