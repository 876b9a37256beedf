#include "actors/object_manager/object_manager.h"

#include <chrono>
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

/// How long a create waits for space (releases, unpins) before it fails.
constexpr auto kCreateWait = std::chrono::milliseconds(1000);

struct StoredObject {
  proto::ObjectEntry entry;
  int pins = 0;
  uint64_t last_use = 0;
  bool released = false;  // the owner holds no ObjectRef: evictable under pressure
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

/// Frees least recently used released, unpinned shm objects until `size`
/// bytes can be allocated. Released objects are reclaimed before fresh memory
/// is used: their pages are already mapped, and first-touching fresh pages is
/// the slowest part of a large Put (about 4 s per GiB on the VMs measured).
int64_t AllocateEvicting(State& st, uint64_t size) {
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

/// Registers a Get/Wait that cannot be answered yet; it is answered when its
/// objects arrive (Notify) or at the timeout (timeout_ms < 0: never).
caf::result<std::string> Park(Self self, Waiter w, int64_t timeout_ms) {
  auto& st = self->state;
  w.promise = self->make_response_promise();
  uint64_t wid = st.next_waiter++;
  for (const auto& id : w.ids) {
    if (!IsReady(st, id)) st.waiting_on[id].push_back(wid);
  }
  st.waiters.emplace(wid, std::move(w));
  if (timeout_ms > 0) {
    self->delayed_send(self, std::chrono::milliseconds(timeout_ms), timeout_atom::value, wid);
  }
  return caf::delegated<std::string>();
}

caf::behavior Behavior(Self self, std::shared_ptr<storage::ShmStore> store) {
  self->state.store = std::move(store);
  return {
      [=](atoms::put, const std::string& bytes) {
        auto entry = proto::Decode<proto::ObjectEntry>(bytes);
        auto& st = self->state;
        auto unsealed = st.unsealed.find(entry.id);
        if (unsealed != st.unsealed.end()) {
          if (entry.kind != static_cast<uint8_t>(proto::ObjectKind::kShm)) {
            st.store->Free(unsealed->second);  // writer gave up (e.g. an error result)
          }
          st.unsealed.erase(unsealed);
        }
        if (st.objects.count(entry.id)) {
          // Objects are immutable: a retried task's second result is dropped.
          if (entry.kind == static_cast<uint8_t>(proto::ObjectKind::kShm) &&
              entry.offset != st.objects[entry.id].entry.offset) {
            st.store->Free(entry.offset);
          }
          return;
        }
        st.evicted.erase(entry.id);
        std::string id = entry.id;
        bool released = st.released_early.erase(id) > 0;
        if (entry.kind == static_cast<uint8_t>(proto::ObjectKind::kShm)) st.shm_objects.insert(id);
        st.objects[id] = StoredObject{std::move(entry), 0, ++st.clock, released};
        Notify(st, id);
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
        auto it = st.objects.find(id);
        if (it != st.objects.end()) {
          it->second.released = true;
          RetryCreates(st);
        } else if (!st.evicted.count(id)) {
          st.released_early.insert(id);
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
               " evicted=" + std::to_string(st.evictions);
      },
  };
}

}  // namespace

caf::actor Spawn(caf::actor_system& system, std::shared_ptr<storage::ShmStore> store) {
  return system.spawn(Behavior, std::move(store));
}

}  // namespace ray::object_manager
