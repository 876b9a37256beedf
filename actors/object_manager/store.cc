// The object manager: the object table, Get/Wait waiters, and allocation in
// this node's segment (LRU reclaim of released, unpinned objects).
#include "actors/object_manager/om_state.h"

#include <algorithm>
#include <cstring>

#include "actors/common/atoms.h"
#include "actors/common/ids.h"
#include "actors/common/protocol.h"

namespace ray::object_manager::detail {

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

/// Stores a sealed object and answers whoever waits for it.
void Seal(Self self, proto::ObjectEntry entry, bool replaceable) {
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
  Notify(st, id);  // waiters get their copies (or pins) first
  if (st.free_on_seal.erase(id)) FreeObject(self, id);
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

void FreeObject(Self self, const std::string& id) {
  auto& st = self->state;
  st.released_early.erase(id);
  auto it = st.objects.find(id);
  if (it == st.objects.end()) {
    // Not here yet (its task still runs, or its Put is on the way): freed when
    // it is sealed. An evicted object's tombstone is no longer needed: nobody
    // can ask for it.
    if (st.evicted.erase(id) == 0) st.free_on_seal.insert(id);
    return;
  }
  StoredObject& obj = it->second;
  if (obj.pins > 0) {  // a reader still holds a view of it: evictable once unpinned
    obj.released = true;
    return;
  }
  if (obj.entry.kind == static_cast<uint8_t>(proto::ObjectKind::kShm)) {
    st.store->Free(obj.entry.offset);
    st.shm_objects.erase(id);
  }
  if (st.reporting && !obj.replaceable) {
    st.freed_batch.push_back(id);
    FlushSoon(self);
  }
  st.objects.erase(it);
  ++st.frees;
  RetryCreates(st);
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

}  // namespace ray::object_manager::detail
