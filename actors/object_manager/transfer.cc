// The object manager and other nodes: reporting locations to the GCS's object
// directory, and pulling objects from other nodes in chunks.
#include "actors/object_manager/om_state.h"

#include <algorithm>
#include <cstring>

#include "actors/common/atoms.h"
#include "actors/common/ids.h"
#include "actors/common/net.h"
#include "actors/common/protocol.h"
#include "actors/common/safe_behavior.h"

namespace ray::object_manager::detail {

void Flush(Self self) {
  auto& st = self->state;
  st.flush_pending = false;
  if (!st.loc_batch.empty()) {
    self->send(st.gcs, atoms::loc_add::value, st.node_id, proto::Encode(st.loc_batch));
    st.loc_batch.clear();
  }
  if (!st.freed_batch.empty()) {  // after the adds: same sender and receiver, in order
    // No reason: freed objects are not "lost" (nobody may ask for them).
    self->send(st.gcs, atoms::loc_del::value, st.node_id, proto::Encode(st.freed_batch),
               std::string());
    st.freed_batch.clear();
  }
}

void Report(Self self, const proto::ObjectEntry& entry) {
  auto& st = self->state;
  if (!st.reporting) return;
  uint64_t size = entry.kind == static_cast<uint8_t>(proto::ObjectKind::kShm) ? entry.size
                                                                              : entry.data.size();
  st.loc_batch.push_back({entry.id, st.node_id, size, ""});
  // Large objects and puts are reported at once, so the report leaves before
  // the task's result does (same connection, in order): a node that dies right
  // after cannot leave them unknown. Small results also reach their origin
  // inline, so they are batched.
  bool urgent =
      entry.kind == static_cast<uint8_t>(proto::ObjectKind::kShm) || ids::IsPut(entry.id);
  if (urgent || st.loc_batch.size() >= 256) {
    Flush(self);
  } else {
    FlushSoon(self);
  }
}

void FlushSoon(Self self) {
  auto& st = self->state;
  if (st.flush_pending) return;
  st.flush_pending = true;
  self->delayed_send(self, std::chrono::milliseconds(2), flush_atom::value);
}

/// Asks the GCS where objects missing here are (only with other nodes around).
void Locate(Self self, const std::vector<std::string>& ids) {
  auto& st = self->state;
  if (!st.reporting) return;  // never had another node: everything is made here
  std::vector<std::string> ask;
  for (const auto& id : ids) {
    if (IsReady(st, id) || st.unsealed.count(id) || st.pulls.count(id)) continue;
    if (st.wanted.insert(id).second) ask.push_back(id);
  }
  if (!ask.empty()) {
    self->send(st.gcs, atoms::locate::value, proto::Encode(ask),
               caf::actor_cast<caf::actor>(self));
  }
}

/// A transfer failed: forget that source and ask the GCS again.
void Relocate(Self self, const std::string& id, const std::string& node, const std::string& why) {
  auto& st = self->state;
  auto p = st.pulls.find(id);
  if (p != st.pulls.end()) {
    if (p->second.offset >= 0) {
      st.store->Free(p->second.offset);
      st.unsealed.erase(id);
    }
    st.pulls.erase(p);
  }
  st.wanted.erase(id);
  self->send(st.gcs, atoms::loc_del::value, node, proto::Encode(std::vector<std::string>{id}),
             "node " + ids::Hex(node) + " could not send it: " + why);
  Locate(self, {id});
}

void PumpChunks(Self self, const std::string& id) {
  auto& st = self->state;
  auto p = st.pulls.find(id);
  if (p == st.pulls.end()) return;
  auto peer = st.peers.find(p->second.node);
  if (peer == st.peers.end()) return;  // node_del restarts it
  while (p->second.outstanding < kWindow && p->second.next < p->second.size) {
    uint64_t start = p->second.next;
    uint64_t len = std::min(kChunkBytes, p->second.size - start);
    p->second.next += len;
    ++p->second.outstanding;
    std::string node = p->second.node;
    self->request(peer->second, kTransferTimeout, atoms::chunk::value, id, start, len)
        .then(
            safe::Guard(self, "object manager", [=](const std::string& data) {
              auto& st = self->state;
              auto p = st.pulls.find(id);
              if (p == st.pulls.end() || p->second.node != node) return;
              if (data.size() != len) {
                Relocate(self, id, node, "short chunk");
                return;
              }
              // Ask for the next chunk before copying this one: the request
              // travels while the copy runs.
              --p->second.outstanding;
              p->second.received += len;
              const int64_t offset = p->second.offset;
              if (p->second.received < p->second.size) {
                PumpChunks(self, id);
                std::memcpy(st.store->At(offset) + start, data.data(), len);
                return;
              }
              std::memcpy(st.store->At(offset) + start, data.data(), len);
              proto::ObjectEntry entry;
              entry.id = id;
              entry.kind = static_cast<uint8_t>(proto::ObjectKind::kShm);
              entry.offset = p->second.offset;
              entry.size = p->second.size;
              st.pulled_bytes += entry.size;
              st.unsealed.erase(id);
              st.pulls.erase(p);
              auto src = st.peers.find(node);
              if (src != st.peers.end()) self->send(src->second, atoms::pull_end::value, id, st.node_id);
              Seal(self, std::move(entry));
            }),
            [=](caf::error& err) {
              auto p = self->state.pulls.find(id);
              if (p == self->state.pulls.end() || p->second.node != node) return;
              Relocate(self, id, node, net::Describe(err));
            });
  }
}

void StartPull(Self self, const std::string& id, const std::string& node) {
  auto& st = self->state;
  if (IsReady(st, id) || st.pulls.count(id)) return;
  auto peer = st.peers.find(node);
  if (peer == st.peers.end()) return;
  st.pulls[id].node = node;
  self->request(peer->second, kTransferTimeout, atoms::pull::value, id, st.node_id)
      .then(
          safe::Guard(self, "object manager", [=](const std::string& bytes) {
            auto& st = self->state;
            auto p = st.pulls.find(id);
            if (p == st.pulls.end() || p->second.node != node) return;
            auto entry = proto::Decode<proto::ObjectEntry>(bytes);
            if (entry.id.empty()) {
              Relocate(self, id, node, "it no longer holds the object");
              return;
            }
            if (entry.kind != static_cast<uint8_t>(proto::ObjectKind::kShm)) {
              st.pulls.erase(p);
              Seal(self, std::move(entry));
              return;
            }
            int64_t offset = AllocateEvicting(st, entry.size);
            if (offset < 0) {
              st.pulls.erase(p);
              auto src = st.peers.find(node);
              if (src != st.peers.end()) self->send(src->second, atoms::pull_end::value, id, st.node_id);
              proto::ErrorInfo info{static_cast<uint8_t>(proto::ErrorKind::kStoreFull),
                                    "RayObjectStoreFullException",
                                    "cannot fetch object " + ids::Hex(id) + " (" +
                                        std::to_string(entry.size) + " bytes) from node " +
                                        ids::Hex(node) + ": this node's object store is full",
                                    ""};
              Seal(self, {id, static_cast<uint8_t>(proto::ObjectKind::kError),
                          proto::Encode(info), -1, 0},
                   true);
              return;
            }
            p->second.size = entry.size;
            p->second.offset = offset;
            st.unsealed[id] = offset;
            PumpChunks(self, id);
          }),
          [=](caf::error& err) {
            auto p = self->state.pulls.find(id);
            if (p == self->state.pulls.end() || p->second.node != node) return;
            Relocate(self, id, node, net::Describe(err));
          });
}

}  // namespace ray::object_manager::detail
