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

namespace ray::object_manager {
namespace {

using timeout_atom = caf::atom_constant<caf::atom("om_tmo")>;
using create_timeout_atom = caf::atom_constant<caf::atom("om_ctmo")>;
using flush_atom = caf::atom_constant<caf::atom("om_flush")>;

/// Transfers between nodes: chunk size and chunks in flight per object. CAF
/// 0.17 has no backpressure and serializes on one thread, so the receiver
/// paces the sender by requesting chunks and keeping at most kWindow pending.
/// 4 MiB x 4 measured best on loopback (1.48 GB/s steady; 2/4, 4/2, 8/2, 8/4,
/// 16/4 and 16/16 were slower).
constexpr uint64_t kChunkBytes = 4 << 20;
constexpr int kWindow = 4;
constexpr auto kTransferTimeout = std::chrono::seconds(60);

/// How long a create waits for space (releases, unpins) before it fails.
constexpr auto kCreateWait = std::chrono::milliseconds(1000);

struct StoredObject {
  proto::ObjectEntry entry;
  int pins = 0;
  uint64_t last_use = 0;
  bool released = false;  // the owner holds no ObjectRef: evictable under pressure
  bool replaceable = false;  // a "lost" error that a later real copy replaces
};

/// An object being copied here from another node.
struct Pull {
  std::string node;        // source node
  uint64_t size = 0;
  int64_t offset = -1;     // in this node's segment
  uint64_t next = 0;       // next byte to request
  uint64_t received = 0;
  int outstanding = 0;
};

struct Waiter {
  std::vector<std::string> ids;
  size_t needed = 0;  // objects that must be ready
  size_t ready = 0;   // ready so far (each id counted once per occurrence)
  bool is_get = true;
  std::string client_id;
  caf::response_promise promise;
};

struct PendingCreate {
  uint64_t seq;
  std::string id;
  uint64_t size;
  caf::response_promise promise;
};

struct State {
  std::shared_ptr<storage::ShmStore> store;
  std::string node_id;
  caf::actor gcs;
  caf::actor raylet;  // asked to rebuild lost objects
  std::unordered_map<std::string, caf::actor> peers;  // other nodes' object managers
  bool reporting = false;         // locations go to the GCS (once another node exists)
  std::vector<proto::Location> loc_batch;
  bool flush_pending = false;
  std::unordered_set<std::string> wanted;  // asked the GCS where they are
  std::unordered_map<std::string, Pull> pulls;
  uint64_t pulled_bytes = 0;
  std::deque<PendingCreate> pending_creates;  // waiting for space, in arrival order
  uint64_t next_create = 1;
  std::unordered_map<std::string, StoredObject> objects;
  /// The shm objects among `objects` (each >= 100 KiB, so few): eviction scans
  /// only these, not the (possibly millions of) small objects.
  std::unordered_set<std::string> shm_objects;
  std::unordered_map<std::string, int64_t> unsealed;  // id -> offset being written
  std::unordered_set<std::string> evicted;
  std::unordered_set<std::string> released_early;  // released before the object arrived
  std::unordered_map<uint64_t, Waiter> waiters;
  std::unordered_map<std::string, std::vector<uint64_t>> waiting_on;
  std::unordered_map<std::string, std::unordered_map<std::string, int>> pins_by_client;
  uint64_t next_waiter = 1;
  uint64_t clock = 0;
  uint64_t evictions = 0;
  static inline const char* name = "object_manager";
};

using Self = caf::stateful_actor<State>*;

bool IsReady(State& st, const std::string& id) {
  return st.objects.count(id) > 0 || st.evicted.count(id) > 0;
}

proto::ObjectEntry EntryFor(State& st, const std::string& id, const std::string& client) {
  auto it = st.objects.find(id);
  if (it == st.objects.end()) {
    proto::ErrorInfo info{static_cast<uint8_t>(proto::ErrorKind::kLost), "ObjectLostException",
                          "object " + ids::Hex(id) +
                              " was evicted from the object store under memory pressure "
                              "and is no longer available",
                          ""};
    return {id, static_cast<uint8_t>(proto::ObjectKind::kError), proto::Encode(info), -1, 0};
  }
  it->second.last_use = ++st.clock;
  if (it->second.entry.kind == static_cast<uint8_t>(proto::ObjectKind::kShm) && !client.empty()) {
    ++it->second.pins;
    ++st.pins_by_client[client][id];
  }
  return it->second.entry;
}

size_t CountReady(State& st, const std::vector<std::string>& ids) {
  size_t n = 0;
  for (const auto& id : ids) n += IsReady(st, id) ? 1 : 0;
  return n;
}

void Answer(State& st, Waiter& w, bool timed_out) {
  if (w.is_get) {
    proto::GetReply reply;
    reply.timed_out = timed_out;
    if (!timed_out) {
      reply.entries.reserve(w.ids.size());
      for (const auto& id : w.ids) reply.entries.push_back(EntryFor(st, id, w.client_id));
    }
    w.promise.deliver(proto::Encode(reply));
  } else {
    std::string bits;
    for (const auto& id : w.ids) bits.push_back(IsReady(st, id) ? '1' : '0');
    w.promise.deliver(bits);
  }
}

void Unpin(State& st, const std::string& client, const std::string& id, int count) {
  auto it = st.objects.find(id);
  if (it != st.objects.end()) it->second.pins = std::max(0, it->second.pins - count);
  auto c = st.pins_by_client.find(client);
  if (c == st.pins_by_client.end()) return;
  auto p = c->second.find(id);
  if (p == c->second.end()) return;
  p->second -= count;
  if (p->second <= 0) c->second.erase(p);
  if (c->second.empty()) st.pins_by_client.erase(c);
}

void Notify(State& st, const std::string& id) {
  auto it = st.waiting_on.find(id);
  if (it == st.waiting_on.end()) return;
  std::vector<uint64_t> ws = std::move(it->second);
  st.waiting_on.erase(it);
  for (uint64_t wid : ws) {
    auto w = st.waiters.find(wid);
    if (w == st.waiters.end()) continue;
    if (++w->second.ready >= w->second.needed) {
      Answer(st, w->second, false);
      st.waiters.erase(w);
    }
  }
}

int64_t AllocateEvicting(State& st, uint64_t size);
void RetryCreates(State& st);

void Flush(Self self) {
  auto& st = self->state;
  st.flush_pending = false;
  if (st.loc_batch.empty()) return;
  self->send(st.gcs, atoms::loc_add::value, st.node_id, proto::Encode(st.loc_batch));
  st.loc_batch.clear();
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
  bool urgent = entry.kind == static_cast<uint8_t>(proto::ObjectKind::kShm) ||
                (entry.id.size() == ids::kObjectIdSize &&
                 (static_cast<uint8_t>(entry.id.back()) & 0x80) != 0);
  if (urgent || st.loc_batch.size() >= 256) {
    Flush(self);
  } else if (!st.flush_pending) {
    st.flush_pending = true;
    self->delayed_send(self, std::chrono::milliseconds(2), flush_atom::value);
  }
}

/// Stores a sealed object and answers whoever waits for it.
void Seal(Self self, proto::ObjectEntry entry, bool replaceable = false) {
  auto& st = self->state;
  auto existing = st.objects.find(entry.id);
  if (existing != st.objects.end()) {
    if (!existing->second.replaceable) {
      // Objects are immutable: a retried task's second result is dropped.
      if (entry.kind == static_cast<uint8_t>(proto::ObjectKind::kShm) &&
          entry.offset != existing->second.entry.offset) {
        st.store->Free(entry.offset);
      }
      return;
    }
    st.objects.erase(existing);  // a real copy replaces a "lost" answer
  }
  st.evicted.erase(entry.id);
  st.wanted.erase(entry.id);
  std::string id = entry.id;
  bool released = st.released_early.erase(id) > 0;
  if (entry.kind == static_cast<uint8_t>(proto::ObjectKind::kShm)) st.shm_objects.insert(id);
  if (!replaceable) Report(self, entry);
  st.objects[id] = StoredObject{std::move(entry), 0, ++st.clock, released, replaceable};
  Notify(st, id);
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

void StartPull(Self self, const std::string& id, const std::string& node);

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
            [=](const std::string& data) {
              auto& st = self->state;
              auto p = st.pulls.find(id);
              if (p == st.pulls.end() || p->second.node != node) return;
              if (data.size() != len) {
                Relocate(self, id, node, "short chunk");
                return;
              }
              std::memcpy(st.store->At(p->second.offset) + start, data.data(), len);
              --p->second.outstanding;
              p->second.received += len;
              if (p->second.received < p->second.size) {
                PumpChunks(self, id);
                return;
              }
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
            },
            [=](caf::error& err) {
              auto p = self->state.pulls.find(id);
              if (p == self->state.pulls.end() || p->second.node != node) return;
              Relocate(self, id, node, self->system().render(err));
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
          [=](const std::string& bytes) {
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
          },
          [=](caf::error& err) {
            auto p = self->state.pulls.find(id);
            if (p == self->state.pulls.end() || p->second.node != node) return;
            Relocate(self, id, node, self->system().render(err));
          });
}

/// Frees least recently used released, unpinned shm objects until `size`
/// bytes can be allocated. Released objects are reclaimed before fresh memory
/// is used: their pages are already mapped, and first-touching fresh pages is
/// the slowest part of a large Put (about 4 s per GiB on the VMs measured).
int64_t AllocateEvicting(State& st, uint64_t size) {
  std::vector<std::string> evicted_now;
  struct ReportEvictions {  // the GCS forgets this node's copy
    State& st;
    std::vector<std::string>& ids;
    ~ReportEvictions() {
      if (ids.empty()) return;
      caf::anon_send(st.gcs, atoms::loc_del::value, st.node_id, proto::Encode(ids),
                     std::string("evicted from its node's object store under memory pressure"));
    }
  } report{st, evicted_now};
  auto evictable = [](const StoredObject& obj) { return obj.pins == 0 && obj.released; };
  uint64_t reclaimable = 0;
  for (const auto& id : st.shm_objects) {
    const StoredObject& obj = st.objects.at(id);
    if (evictable(obj)) reclaimable += obj.entry.size;
  }
  int64_t offset = reclaimable >= size ? -1 : st.store->Allocate(size);
  while (offset < 0) {
    const std::string* victim = nullptr;
    uint64_t oldest = UINT64_MAX;
    for (const auto& id : st.shm_objects) {
      const StoredObject& obj = st.objects.at(id);
      if (evictable(obj) && obj.last_use < oldest) {
        oldest = obj.last_use;
        victim = &id;
      }
    }
    if (!victim) return st.store->Allocate(size);  // nothing left to reclaim: fresh memory
    std::string id = *victim;
    st.store->Free(st.objects.at(id).entry.offset);
    if (st.reporting) evicted_now.push_back(id);
    st.objects.erase(id);
    st.shm_objects.erase(id);
    st.evicted.insert(id);
    ++st.evictions;
    offset = st.store->Allocate(size);
  }
  return offset;
}

/// Allocates room for `id`; false when there is none even after eviction.
bool TryCreate(State& st, const std::string& id, uint64_t size, proto::CreateReply* reply) {
  auto old = st.unsealed.find(id);
  if (old != st.unsealed.end()) {  // an earlier attempt died while writing
    st.store->Free(old->second);
    st.unsealed.erase(old);
  }
  reply->offset = AllocateEvicting(st, size);
  if (reply->offset < 0) return false;
  st.unsealed[id] = reply->offset;
  return true;
}

/// Serves waiting creates, oldest first, while they fit.
void RetryCreates(State& st) {
  while (!st.pending_creates.empty()) {
    auto& p = st.pending_creates.front();
    proto::CreateReply reply;
    if (!TryCreate(st, p.id, p.size, &reply)) return;
    p.promise.deliver(proto::Encode(reply));
    st.pending_creates.pop_front();
  }
}

/// The owner dropped its last ObjectRef: the object may be reclaimed.
void MarkReleased(State& st, const std::string& id) {
  auto it = st.objects.find(id);
  if (it != st.objects.end()) {
    it->second.released = true;
    RetryCreates(st);
  } else if (!st.evicted.count(id)) {
    st.released_early.insert(id);
  }
}

/// Registers a Get/Wait that cannot be answered yet; it is answered when its
/// objects arrive (Notify) or at the timeout (timeout_ms < 0: never).
caf::result<std::string> Park(Self self, Waiter w, int64_t timeout_ms) {
  auto& st = self->state;
  w.promise = self->make_response_promise();
  uint64_t wid = st.next_waiter++;
  for (const auto& id : w.ids) {
    if (!IsReady(st, id)) st.waiting_on[id].push_back(wid);
  }
  std::vector<std::string> missing;
  if (st.reporting) {
    for (const auto& id : w.ids) {
      if (!IsReady(st, id)) missing.push_back(id);
    }
  }
  st.waiters.emplace(wid, std::move(w));
  Locate(self, missing);
  if (timeout_ms > 0) {
    self->delayed_send(self, std::chrono::milliseconds(timeout_ms), timeout_atom::value, wid);
  }
  return caf::delegated<std::string>();
}

caf::behavior Behavior(Self self, std::shared_ptr<storage::ShmStore> store,
                       std::string node_id, caf::actor gcs) {
  self->state.store = std::move(store);
  self->state.node_id = std::move(node_id);
  self->state.gcs = std::move(gcs);
  return {
      [=](atoms::put, const std::string& bytes) {
        auto entry = proto::Decode<proto::ObjectEntry>(bytes);
        auto& st = self->state;
        auto unsealed = st.unsealed.find(entry.id);
        if (unsealed != st.unsealed.end() && !st.pulls.count(entry.id)) {
          if (entry.kind != static_cast<uint8_t>(proto::ObjectKind::kShm)) {
            st.store->Free(unsealed->second);  // writer gave up (e.g. an error result)
          }
          st.unsealed.erase(unsealed);
        }
        Seal(self, std::move(entry));
      },
      [=](flush_atom) { Flush(self); },
      [=](atoms::set_raylet, const caf::actor& raylet) { self->state.raylet = raylet; },
      [=](atoms::set_gcs, const caf::actor& gcs) {
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
            offset + len > it->second.entry.size) {
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
        auto& st = self->state;
        // Copies in other nodes' shared memory become reclaimable too (small
        // objects are never evicted, so their releases stay here).
        auto it = st.objects.find(id);
        if (!st.peers.empty() &&
            (it == st.objects.end() ||
             it->second.entry.kind == static_cast<uint8_t>(proto::ObjectKind::kShm))) {
          for (const auto& [node, om] : st.peers) self->send(om, atoms::release::value, id, true);
        }
        MarkReleased(st, id);
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
               " evicted=" + std::to_string(st.evictions) +
               " pulled_bytes=" + std::to_string(st.pulled_bytes);
      },
  };
}

}  // namespace

caf::actor Spawn(caf::actor_system& system, std::shared_ptr<storage::ShmStore> store,
                 std::string node_id, caf::actor gcs) {
  return system.spawn(Behavior, std::move(store), std::move(node_id), std::move(gcs));
}

}  // namespace ray::object_manager
