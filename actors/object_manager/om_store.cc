// The object table: sealing, pins, allocation with LRU reclaim of released
// objects, creates waiting for space, releases and frees.
#include <algorithm>
#include <utility>

#include "actors/common/ids.h"
#include "actors/common/profile_events.h"
#include "actors/object_manager/om_core.h"

namespace ray::object_manager {
namespace {

constexpr auto kShm = static_cast<uint8_t>(proto::ObjectKind::kShm);

}  // namespace

Core::Core(CoreOptions options, std::shared_ptr<storage::ShmStore> store, Outbox* outbox,
           Timer* timer)
    : options_(std::move(options)), store_(std::move(store)), outbox_(outbox), timer_(timer) {}

bool Core::IsReady(const std::string& id) const {
  return objects_.count(id) > 0 || evicted_.count(id) > 0;
}

size_t Core::CountReady(const std::vector<std::string>& ids) const {
  size_t n = 0;
  for (const auto& id : ids) n += IsReady(id) ? 1 : 0;
  return n;
}

int Core::PinsOf(const std::string& id) const {
  auto it = objects_.find(id);
  return it == objects_.end() ? 0 : it->second.pins;
}

proto::ObjectEntry Core::EntryFor(const std::string& id, const std::string& client) {
  auto it = objects_.find(id);
  if (it == objects_.end()) {
    proto::ErrorInfo info{static_cast<uint8_t>(proto::ErrorKind::kLost), "ObjectLostException",
                          "object " + ids::Hex(id) +
                              " was evicted from the object store under memory pressure "
                              "and is no longer available",
                          ""};
    return {id, static_cast<uint8_t>(proto::ObjectKind::kError), proto::Encode(info), -1, 0};
  }
  it->second.last_use = ++clock_;
  if (it->second.entry.kind == kShm && !client.empty()) {
    ++it->second.pins;
    ++pins_by_client_[client][id];
  }
  return it->second.entry;
}

// A client releases only pins it holds: a stray or repeated unpin cannot
// take another reader's pin away.
void Core::UnpinCount(const std::string& client, const std::string& id, int count) {
  auto c = pins_by_client_.find(client);
  if (c == pins_by_client_.end()) return;
  auto p = c->second.find(id);
  if (p == c->second.end()) return;
  const int released = std::min(count, p->second);
  p->second -= released;
  if (p->second <= 0) c->second.erase(p);
  if (c->second.empty()) pins_by_client_.erase(c);
  auto it = objects_.find(id);
  if (it != objects_.end()) it->second.pins = std::max(0, it->second.pins - released);
}

Status Core::Put(proto::ObjectEntry entry) {
  if (entry.kind > static_cast<uint8_t>(proto::ObjectKind::kError)) {
    return Status(Errc::kInvalidArgument,
                  "put: unknown object kind " + std::to_string(entry.kind));
  }
  auto unsealed = unsealed_.find(entry.id);
  if (entry.kind == kShm) {
    // Only what this store allocated (create) can be sealed, and only within
    // that allocation. (Offsets count from the segment's start, where the
    // allocator keeps its header: they are not bounded by the capacity.)
    if (unsealed == unsealed_.end() || unsealed->second.offset != entry.offset ||
        entry.size > unsealed->second.size) {
      return Status(Errc::kInvalidArgument, "put: shared-memory object " + ids::Hex(entry.id) +
                                                " was not created here at offset " +
                                                std::to_string(entry.offset));
    }
  }
  if (unsealed != unsealed_.end() && !pulls_.count(entry.id)) {
    if (entry.kind != kShm) store_->Free(unsealed->second.offset);  // writer gave up (an error)
    unsealed_.erase(unsealed);
  }
  Seal(std::move(entry));
  return Status::Ok();
}

void Core::Seal(proto::ObjectEntry entry, bool replaceable) {
  auto existing = objects_.find(entry.id);
  if (existing != objects_.end()) {
    if (!existing->second.replaceable) {
      // Objects are immutable: a retried task's second result is dropped.
      if (entry.kind == kShm && entry.offset != existing->second.entry.offset) {
        store_->Free(entry.offset);
      }
      return;
    }
    objects_.erase(existing);  // a real copy replaces a "lost" answer
  }
  evicted_.erase(entry.id);
  wanted_.erase(entry.id);
  std::string id = entry.id;
  bool released = released_early_.erase(id) > 0;
  if (entry.kind == kShm) shm_objects_.insert(id);
  if (!replaceable) Report(entry);
  objects_[id] = StoredObject{std::move(entry), 0, ++clock_, released, replaceable};
  Notify(id);  // waiters get their copies (or pins) first
  if (free_on_seal_.erase(id)) FreeObject(id);
}

void Core::SealError(const std::string& id, proto::ErrorKind kind, const char* type,
                     std::string message) {
  proto::ErrorInfo info{static_cast<uint8_t>(kind), type, std::move(message), ""};
  Seal({id, static_cast<uint8_t>(proto::ObjectKind::kError), proto::Encode(info), -1, 0}, true);
}

const std::string* Core::LeastRecentlyUsedEvictable() const {
  const std::string* victim = nullptr;
  uint64_t oldest = UINT64_MAX;
  for (const auto& id : shm_objects_) {
    const StoredObject& obj = objects_.at(id);
    if (obj.pins == 0 && obj.released && obj.last_use < oldest) {
      oldest = obj.last_use;
      victim = &id;
    }
  }
  return victim;
}

// Released objects are reclaimed before fresh memory is used: their pages are
// already mapped, and first-touching fresh pages is the slowest part of a
// large Put (about 4 s per GiB on the VMs measured).
int64_t Core::AllocateEvicting(uint64_t size) {
  uint64_t reclaimable = 0;
  for (const auto& id : shm_objects_) {
    const StoredObject& obj = objects_.at(id);
    if (obj.pins == 0 && obj.released) reclaimable += obj.entry.size;
  }
  std::vector<std::string> evicted_now;
  const int64_t started_us = events::NowMicros();
  const uint64_t evictions_before = evictions_;
  int64_t offset = reclaimable >= size ? -1 : store_->Allocate(size);
  while (offset < 0) {
    const std::string* victim = LeastRecentlyUsedEvictable();
    if (!victim) {
      offset = store_->Allocate(size);  // nothing left to reclaim: fresh memory
      break;
    }
    std::string id = *victim;
    store_->Free(objects_.at(id).entry.offset);
    if (reporting_) evicted_now.push_back(id);
    objects_.erase(id);
    shm_objects_.erase(id);
    evicted_.insert(id);
    ++evictions_;
    offset = store_->Allocate(size);
  }
  if (evictions_ > evictions_before && events::Recorder::Instance().enabled()) {
    // This store does not spill to disk: it evicts released, unpinned objects (LRU).
    events::Event event;
    event.type = "evict";
    event.source = static_cast<uint8_t>(events::Source::kNode);
    event.start_us = started_us;
    event.end_us = events::NowMicros();
    event.value = static_cast<int64_t>(evictions_ - evictions_before);
    event.extra = {{"for_bytes", std::to_string(size)}};
    events::Recorder::Instance().Record(event);
  }
  if (!evicted_now.empty()) {  // the GCS forgets this node's copies
    outbox_->RemoveLocations(options_.node_id, evicted_now,
                             "evicted from its node's object store under memory pressure");
  }
  return offset;
}

int64_t Core::TryCreate(const std::string& id, uint64_t size) {
  auto old = unsealed_.find(id);
  if (old != unsealed_.end()) {  // an earlier attempt died while writing
    store_->Free(old->second.offset);
    unsealed_.erase(old);
  }
  int64_t offset = AllocateEvicting(size);
  if (offset >= 0) unsealed_[id] = {offset, size};
  return offset;
}

std::optional<StatusOr<int64_t>> Core::Create(uint64_t token, const std::string& id,
                                              uint64_t size) {
  if (size > store_->capacity()) {
    return StatusOr<int64_t>(Status(
        Errc::kResourceExhausted,
        "object of " + std::to_string(size) + " bytes is larger than the object store (" +
            std::to_string(store_->capacity()) + " bytes); raise RayConfig::object_store_memory"));
  }
  if (pending_creates_.empty()) {
    int64_t offset = TryCreate(id, size);
    if (offset >= 0) return StatusOr<int64_t>(offset);
  }
  // Wait for releases and unpins that may be on their way.
  pending_creates_.push_back({token, id, size});
  timer_->After(options_.create_wait, {Timer::Kind::kCreate, token});
  return std::nullopt;
}

void Core::RetryCreates() {
  while (!pending_creates_.empty()) {
    const PendingCreate& p = pending_creates_.front();
    int64_t offset = TryCreate(p.id, p.size);
    if (offset < 0) return;
    uint64_t token = p.token;
    pending_creates_.pop_front();
    outbox_->AnswerCreate(token, offset);
  }
}

void Core::OnCreateTimeout(uint64_t token) {
  for (auto it = pending_creates_.begin(); it != pending_creates_.end(); ++it) {
    if (it->token != token) continue;
    Status full(Errc::kResourceExhausted,
                "object store full: cannot fit " + std::to_string(it->size) + " bytes; " +
                    std::to_string(store_->free_bytes()) + " of " +
                    std::to_string(store_->capacity()) +
                    " bytes free and every other object is still referenced or pinned");
    pending_creates_.erase(it);
    outbox_->AnswerCreate(token, full);
    break;
  }
  RetryCreates();
}

void Core::MarkReleased(const std::string& id) {
  auto it = objects_.find(id);
  if (it != objects_.end()) {
    it->second.released = true;
    RetryCreates();
  } else if (!evicted_.count(id)) {
    released_early_.insert(id);
  }
}

void Core::FreeObject(const std::string& id) {
  released_early_.erase(id);
  auto it = objects_.find(id);
  if (it == objects_.end()) {
    // Not here yet (its task still runs, or its Put is on the way): freed when
    // it is sealed. An evicted object's tombstone is no longer needed: nobody
    // can ask for it.
    if (evicted_.erase(id) == 0) free_on_seal_.insert(id);
    return;
  }
  StoredObject& obj = it->second;
  if (obj.pins > 0) {  // a reader still holds a view of it: evictable once unpinned
    obj.released = true;
    return;
  }
  if (obj.entry.kind == kShm) {
    store_->Free(obj.entry.offset);
    shm_objects_.erase(id);
  }
  if (reporting_ && !obj.replaceable) {
    freed_batch_.push_back(id);
    FlushSoon();
  }
  objects_.erase(it);
  ++frees_;
  RetryCreates();
}

/// Shared-memory objects (or ones not here: made elsewhere) may have copies
/// in other nodes' stores; small ones live where they were made and at their
/// origin only.
bool Core::MayHaveRemoteCopies(const std::string& id) const {
  if (peers_.empty()) return false;
  auto it = objects_.find(id);
  return it == objects_.end() || it->second.entry.kind == kShm;
}

void Core::Release(const std::string& id) {
  // Copies in other nodes' shared memory become reclaimable too (small
  // objects are never evicted, so their releases stay here).
  if (MayHaveRemoteCopies(id)) {
    for (const auto& node : peers_) outbox_->RelayRelease(node, id);
  }
  MarkReleased(id);
}

void Core::ReleaseRelayed(const std::string& id) {
  auto it = objects_.find(id);
  if (it == objects_.end()) return;
  it->second.released = true;
  RetryCreates();
}

void Core::Free(const std::string& id) {
  if (MayHaveRemoteCopies(id)) {
    for (const auto& node : peers_) outbox_->RelayFree(node, id);
  }
  FreeObject(id);
}

void Core::FreeRelayed(const std::string& id) {
  if (objects_.count(id)) FreeObject(id);
}

void Core::Unpin(const std::string& client, const std::vector<std::string>& ids) {
  for (const auto& id : ids) UnpinCount(client, id, 1);
  RetryCreates();
}

void Core::ClientGone(const std::string& client) {
  auto c = pins_by_client_.find(client);
  if (c == pins_by_client_.end()) return;
  auto pins = c->second;
  for (const auto& [id, count] : pins) UnpinCount(client, id, count);
  RetryCreates();
}

std::string Core::Stats() const {
  uint64_t shm_bytes = 0;
  int pinned = 0;
  for (const auto& [id, obj] : objects_) {
    shm_bytes += obj.entry.size;
    pinned += obj.pins > 0 ? 1 : 0;
  }
  return "objects=" + std::to_string(objects_.size()) + " shm_bytes=" +
         std::to_string(shm_bytes) + " pinned=" + std::to_string(pinned) +
         " evicted=" + std::to_string(evictions_) + " freed=" + std::to_string(frees_) +
         " pulled_bytes=" + std::to_string(pulled_bytes_);
}

void Core::OnTimer(Timer::Event event) {
  switch (event.kind) {
    case Timer::Kind::kWaiter: OnWaiterTimeout(event.token); break;
    case Timer::Kind::kCreate: OnCreateTimeout(event.token); break;
    case Timer::Kind::kFlush: Flush(); break;
  }
}

}  // namespace ray::object_manager
