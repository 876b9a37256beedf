#include "actors/object_manager/object_manager.h"

#include <chrono>
#include <cstring>
#include <deque>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "actors/common/atoms.h"
#include "actors/common/ids.h"
#include "actors/common/protocol.h"
#include "actors/common/safe_behavior.h"
#include "actors/object_manager/om_state.h"

namespace ray::object_manager {
namespace {

using namespace detail;

/// Shared-memory objects (or ones not here: made elsewhere) may have copies
/// in other nodes' stores; small ones live where they were made and at their
/// origin only.
bool MayHaveRemoteCopies(State& st, const std::string& id) {
  if (st.peers.empty()) return false;
  auto it = st.objects.find(id);
  return it == st.objects.end() ||
         it->second.entry.kind == static_cast<uint8_t>(proto::ObjectKind::kShm);
}

caf::behavior Behavior(Self self, std::shared_ptr<storage::ShmStore> store,
                       std::string node_id, caf::actor gcs) {
  self->state.store = std::move(store);
  self->state.node_id = std::move(node_id);
  self->state.gcs = std::move(gcs);
  return safe::Behavior(
      self, "object manager",
      [=](atoms::put, const std::string& bytes) {
        auto entry = proto::Decode<proto::ObjectEntry>(bytes);
        auto& st = self->state;
        auto unsealed = st.unsealed.find(entry.id);
        if (entry.kind > static_cast<uint8_t>(proto::ObjectKind::kError)) {
          throw std::runtime_error("put: unknown object kind " + std::to_string(entry.kind));
        }
        if (entry.kind == static_cast<uint8_t>(proto::ObjectKind::kShm)) {
          // Only what this store allocated (create) can be sealed, and only whole.
          const uint64_t cap = st.store->capacity();
          if (unsealed == st.unsealed.end() || unsealed->second != entry.offset ||
              entry.offset < 0 || static_cast<uint64_t>(entry.offset) > cap ||
              entry.size > cap - static_cast<uint64_t>(entry.offset)) {
            throw std::runtime_error("put: shared-memory object " + ids::Hex(entry.id) +
                                     " was not created here at offset " +
                                     std::to_string(entry.offset));
          }
        }
        if (unsealed != st.unsealed.end() && !st.pulls.count(entry.id)) {
          if (entry.kind != static_cast<uint8_t>(proto::ObjectKind::kShm)) {
            st.store->Free(unsealed->second);  // writer gave up (e.g. an error result)
          }
          st.unsealed.erase(unsealed);
        }
        Seal(self, std::move(entry));
      },
      [=](flush_atom) { Flush(self); },
      [=](atoms::set_raylet, const caf::actor& raylet) {
        if (safe::FromThisProcess(self)) self->state.raylet = raylet;
      },
      [=](atoms::set_gcs, const caf::actor& gcs) {
        if (!safe::FromThisProcess(self)) return;
        // The GCS restarted with an empty directory: report everything here
        // again, and ask again for what is awaited.
        auto& st = self->state;
        st.gcs = gcs;
        if (!st.reporting) return;
        for (const auto& [id, obj] : st.objects) {
          if (!obj.replaceable) Report(self, obj.entry);
        }
        Flush(self);
        std::vector<std::string> wanted(st.wanted.begin(), st.wanted.end());
        st.wanted.clear();
        Locate(self, wanted);
      },
      // -- other nodes ---------------------------------------------------------
      [=](atoms::node_add, const std::string& node_id, const caf::actor& om) {
        auto& st = self->state;
        st.peers[node_id] = om;
        if (st.reporting) return;
        // From now on the GCS must know what is here: report what already is.
        st.reporting = true;
        for (const auto& [id, obj] : st.objects) {
          if (!obj.replaceable) Report(self, obj.entry);
        }
        Flush(self);
      },
      [=](atoms::node_del, const std::string& node_id) {
        auto& st = self->state;
        st.peers.erase(node_id);
        self->send(self, atoms::gone::value, "xfer:" + node_id);
        std::vector<std::string> restart;
        for (const auto& [id, p] : st.pulls) {
          if (p.node == node_id) restart.push_back(id);
        }
        for (const auto& id : restart) {
          auto& p = st.pulls[id];
          if (p.offset >= 0) {
            st.store->Free(p.offset);
            st.unsealed.erase(id);
          }
          st.pulls.erase(id);
          st.wanted.erase(id);
        }
        Locate(self, restart);
      },
      [=](atoms::located, const std::string& bytes) {
        auto& st = self->state;
        for (auto& loc : proto::Decode<std::vector<proto::Location>>(bytes)) {
          st.wanted.erase(loc.id);
          if (IsReady(st, loc.id) || st.pulls.count(loc.id)) continue;
          if (!loc.lost.empty()) {
            if (!st.waiting_on.count(loc.id)) continue;
            if (st.raylet) {
              // Someone waits for it: rebuild it from its lineage (the raylet
              // answers with an error object when it cannot).
              self->send(st.raylet, atoms::rebuild::value, loc.id, loc.lost);
              continue;
            }
            proto::ErrorInfo info{static_cast<uint8_t>(proto::ErrorKind::kLost),
                                  "ObjectLostException",
                                  "object " + ids::Hex(loc.id) + " is lost: " + loc.lost, ""};
            Seal(self, {loc.id, static_cast<uint8_t>(proto::ObjectKind::kError),
                        proto::Encode(info), -1, 0},
                 true);
          } else if (loc.node_id != st.node_id) {
            StartPull(self, loc.id, loc.node_id);
          }
        }
      },
      [=](atoms::pull, const std::string& id, const std::string& requester) -> std::string {
        auto& st = self->state;
        auto it = st.objects.find(id);
        if (it == st.objects.end() || it->second.replaceable) return proto::Encode(proto::ObjectEntry{});
        // Pinned until the requester's pull_end (or its node's death).
        return proto::Encode(EntryFor(st, id, "xfer:" + requester));
      },
      [=](atoms::chunk, const std::string& id, uint64_t offset, uint64_t len) -> std::string {
        auto& st = self->state;
        auto it = st.objects.find(id);
        if (it == st.objects.end() || it->second.entry.kind !=
                static_cast<uint8_t>(proto::ObjectKind::kShm) ||
            offset > it->second.entry.size || len > it->second.entry.size - offset) {
          return std::string();
        }
        return std::string(st.store->At(it->second.entry.offset) + offset, len);
      },
      [=](atoms::pull_end, const std::string& id, const std::string& requester) {
        Unpin(self->state, "xfer:" + requester, id, 1);
        RetryCreates(self->state);
      },
      [=](atoms::create, const std::string& id, uint64_t size) -> caf::result<std::string> {
        auto& st = self->state;
        proto::CreateReply reply;
        if (size > st.store->capacity()) {
          reply.error = "object of " + std::to_string(size) +
                        " bytes is larger than the object store (" +
                        std::to_string(st.store->capacity()) +
                        " bytes); raise RayConfig::object_store_memory";
          return proto::Encode(reply);
        }
        if (st.pending_creates.empty() && TryCreate(st, id, size, &reply)) {
          return proto::Encode(reply);
        }
        // Wait for releases and unpins that may be on their way.
        uint64_t seq = st.next_create++;
        st.pending_creates.push_back({seq, id, size, self->make_response_promise()});
        self->delayed_send(self, kCreateWait, create_timeout_atom::value, seq);
        return caf::delegated<std::string>();
      },
      [=](create_timeout_atom, uint64_t seq) {
        auto& st = self->state;
        for (auto it = st.pending_creates.begin(); it != st.pending_creates.end(); ++it) {
          if (it->seq != seq) continue;
          proto::CreateReply reply;
          reply.error = "object store full: cannot fit " + std::to_string(it->size) +
                        " bytes; " + std::to_string(st.store->free_bytes()) + " of " +
                        std::to_string(st.store->capacity()) +
                        " bytes free and every other object is still referenced or pinned";
          it->promise.deliver(proto::Encode(reply));
          st.pending_creates.erase(it);
          break;
        }
        RetryCreates(st);
      },
      [=](atoms::get, const std::string& bytes) -> caf::result<std::string> {
        auto req = proto::Decode<proto::GetRequest>(bytes);
        auto& st = self->state;
        Waiter w{std::move(req.ids), 0, 0, true, std::move(req.client_id), {}};
        w.needed = w.ids.size();
        w.ready = CountReady(st, w.ids);
        if (w.ready >= w.needed) {
          proto::GetReply reply;
          for (const auto& id : w.ids) reply.entries.push_back(EntryFor(st, id, w.client_id));
          return proto::Encode(reply);
        }
        if (req.timeout_ms == 0) return proto::Encode(proto::GetReply{true, {}});
        return Park(self, std::move(w), req.timeout_ms);
      },
      [=](atoms::wait, const std::string& bytes) -> caf::result<std::string> {
        auto req = proto::Decode<proto::WaitRequest>(bytes);
        auto& st = self->state;
        Waiter w{std::move(req.ids), static_cast<size_t>(req.num_objects), 0, false, {}, {}};
        w.ready = CountReady(st, w.ids);
        if (w.ready >= w.needed || req.timeout_ms == 0) {
          std::string bits;
          for (const auto& id : w.ids) bits.push_back(IsReady(st, id) ? '1' : '0');
          return bits;
        }
        return Park(self, std::move(w), req.timeout_ms);
      },
      [=](timeout_atom, uint64_t wid) {
        auto& st = self->state;
        auto w = st.waiters.find(wid);
        if (w == st.waiters.end()) return;
        Answer(st, w->second, w->second.is_get);
        st.waiters.erase(w);
      },
      [=](atoms::release, const std::string& id) {
        // Copies in other nodes' shared memory become reclaimable too (small
        // objects are never evicted, so their releases stay here).
        if (MayHaveRemoteCopies(self->state, id)) {
          for (const auto& [node, om] : self->state.peers) {
            self->send(om, atoms::release::value, id, true);
          }
        }
        MarkReleased(self->state, id);
      },
      [=](atoms::free_obj, const std::string& id) {
        if (MayHaveRemoteCopies(self->state, id)) {
          for (const auto& [node, om] : self->state.peers) {
            self->send(om, atoms::free_obj::value, id, true);
          }
        }
        FreeObject(self, id);
      },
      [=](atoms::free_obj, const std::string& id, bool) {  // relayed by the owner's node
        auto& st = self->state;
        if (st.objects.count(id)) FreeObject(self, id);
      },
      [=](atoms::release, const std::string& id, bool) {
        auto& st = self->state;
        auto it = st.objects.find(id);
        if (it != st.objects.end()) {
          it->second.released = true;
          RetryCreates(st);
        }
      },
      [=](atoms::unpin, const std::string& client, const std::string& encoded_ids) {
        auto list = proto::Decode<std::vector<std::string>>(encoded_ids);
        for (const auto& id : list) Unpin(self->state, client, id, 1);
        RetryCreates(self->state);
      },
      [=](atoms::gone, const std::string& client) {
        auto& st = self->state;
        auto c = st.pins_by_client.find(client);
        if (c == st.pins_by_client.end()) return;
        auto pins = c->second;
        for (const auto& [id, count] : pins) Unpin(st, client, id, count);
        RetryCreates(st);
      },
      [=](atoms::stats) -> std::string {
        auto& st = self->state;
        uint64_t shm_bytes = 0;
        int pinned = 0;
        for (const auto& [id, obj] : st.objects) {
          shm_bytes += obj.entry.size;
          pinned += obj.pins > 0 ? 1 : 0;
        }
        return "objects=" + std::to_string(st.objects.size()) +
               " shm_bytes=" + std::to_string(shm_bytes) + " pinned=" + std::to_string(pinned) +
               " evicted=" + std::to_string(st.evictions) + " freed=" + std::to_string(st.frees) +
               " pulled_bytes=" + std::to_string(st.pulled_bytes);
      });
}

}  // namespace

caf::actor Spawn(caf::actor_system& system, std::shared_ptr<storage::ShmStore> store,
                 std::string node_id, caf::actor gcs) {
  return system.spawn(Behavior, std::move(store), std::move(node_id), std::move(gcs));
}

}  // namespace ray::object_manager
