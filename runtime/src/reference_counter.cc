#include "runtime/src/reference_counter.h"

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <utility>

#include "actors/common/ids.h"
#include "runtime/src/buffers.h"
#include "runtime/src/errors.h"

namespace ray::runtime {

ReferenceCounter::ReferenceCounter(ObjectOutbox* outbox, PushedResults::Options push)
    : outbox_(outbox), pushed_(push) {}

// -- refs and ownership --------------------------------------------------------

void ReferenceCounter::AddLocalReference(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  ++ref_counts_[id];
}

void ReferenceCounter::RemoveLocalReference(const std::string& id) {
  bool may_free = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = ref_counts_.find(id);
    if (it == ref_counts_.end() || --it->second > 0) return;
    ref_counts_.erase(it);
    local_objects_.erase(id);
    known_ready_.erase(id);
    pushed_.Settle(id);
    pushed_errors_.erase(id);
    if (owned_.erase(id) == 0) return;  // borrowed refs do not decide
    may_free = nested_.erase(id) == 0;
    // Never given to the store (a direct call's result, or one on its way):
    // nothing to release.
    if (unshared_.erase(id) || (direct_pending_.count(id) && !share_on_arrival_.count(id))) {
      return;
    }
  }
  // The runtime sends it through the raylet, not straight to the store: a
  // task submitted with this ref before it was dropped then pins it at the
  // store before it is released.
  outbox_->Release(id, may_free);
}

void ReferenceCounter::NoteNestedRef(const std::string& id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!owned_.count(id)) return;
    nested_.insert(id);
  }
  Share({id});  // another process may read it now
}

void ReferenceCounter::MarkOwned(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  owned_.insert(id);
}

void ReferenceCounter::MarkSubmitted(const std::vector<std::string>& return_ids,
                                     bool await_push) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& id : return_ids) {
    owned_.insert(id);
    if (await_push) pushed_.Await(id);
  }
}

// -- values and readiness kept here ----------------------------------------------

void ReferenceCounter::CacheLocally(const std::string& id, Buffer buffer) {
  std::lock_guard<std::mutex> lock(mu_);
  local_objects_.emplace(id, std::move(buffer));
}

bool ReferenceCounter::GetCached(const std::vector<std::string>& ids,
                                 std::vector<Buffer>* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  out->clear();
  out->reserve(ids.size());
  for (const auto& id : ids) {
    auto it = local_objects_.find(id);
    if (it == local_objects_.end()) return false;
    out->push_back(it->second);
  }
  return true;
}

void ReferenceCounter::KeepRead(const std::string& id, const Buffer& buffer) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ref_counts_.count(id)) local_objects_.emplace(id, buffer);
}

void ReferenceCounter::NoteReady(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ref_counts_.count(id)) known_ready_.insert(id);
}

int ReferenceCounter::SplitKnownReady(const std::vector<const std::string*>& ids,
                                      std::vector<bool>* ready,
                                      std::vector<std::string>* unknown,
                                      std::vector<size_t>* unknown_at) const {
  int known = 0;
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (known_ready_.count(*ids[i]) || local_objects_.count(*ids[i])) {
      (*ready)[i] = true;
      ++known;
    } else {
      unknown->push_back(*ids[i]);
      unknown_at->push_back(i);
    }
  }
  return known;
}

void ReferenceCounter::NoteWaitReady(const std::vector<std::string>& ids,
                                     const std::string& bits) {
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t j = 0; j < ids.size() && j < bits.size(); ++j) {
    if (bits[j] == '1' && ref_counts_.count(ids[j])) known_ready_.insert(ids[j]);
  }
}

// -- results arriving -------------------------------------------------------------

void ReferenceCounter::KeepResults(std::vector<proto::ObjectEntry> entries, bool owner_only) {
  std::vector<proto::ObjectEntry> puts;  // owner-only results whose refs were shared meanwhile
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& e : entries) KeepOne(e, owner_only, &puts);
    pushed_.Notify();
  }
  for (const auto& e : puts) outbox_->Put(e);
}

void ReferenceCounter::KeepOne(proto::ObjectEntry& e, bool owner_only,
                               std::vector<proto::ObjectEntry>* puts) {
  pushed_.Settle(e.id);
  bool share_now = false;
  if (owner_only) {
    direct_pending_.erase(e.id);
    share_now = share_on_arrival_.erase(e.id) > 0;
    if (share_now) puts->push_back(e);
  }
  // Dropped already: nothing to keep (owned_ covers a reply that comes before
  // the caller has made its ObjectRef).
  if (!ref_counts_.count(e.id) && !owned_.count(e.id)) return;
  known_ready_.insert(e.id);
  if (owner_only && !share_now) unshared_.insert(e.id);
  switch (static_cast<proto::ObjectKind>(e.kind)) {
    case proto::ObjectKind::kInline:
      local_objects_.emplace(e.id, std::make_shared<InlineBuffer>(std::move(e.data)));
      break;
    case proto::ObjectKind::kError:
      pushed_errors_.emplace(e.id, std::move(e.data));
      break;
    case proto::ObjectKind::kShm:  // read (and pinned) through the object manager
      break;
  }
}

bool ReferenceCounter::Arrived(const std::string& id) const {
  return local_objects_.count(id) || pushed_errors_.count(id) || known_ready_.count(id);
}

bool ReferenceCounter::GetPushed(const std::vector<std::string>& ids, int64_t* timeout_ms,
                                 std::vector<Buffer>* out) {
  std::unique_lock<std::mutex> lock(mu_);
  for (const auto& id : ids) {
    if (!Arrived(id) && !pushed_.Awaits(id)) return false;  // not a push we expect
  }
  if (!pushed_.Wait(lock, ids, timeout_ms)) return false;
  for (const auto& id : ids) {  // the first error in the order asked, as from the store
    auto e = pushed_errors_.find(id);
    if (e != pushed_errors_.end()) {
      auto info = proto::Decode<proto::ErrorInfo>(e->second);
      lock.unlock();
      ThrowError(info);
    }
  }
  out->clear();
  for (const auto& id : ids) {
    auto it = local_objects_.find(id);
    if (it == local_objects_.end()) return false;  // in shared memory (or dropped)
    out->push_back(it->second);
  }
  return true;
}

void ReferenceCounter::Share(const std::vector<std::string>& ids) {
  std::vector<proto::ObjectEntry> puts;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (unshared_.empty() && direct_pending_.empty()) return;
    for (const auto& id : ids) {
      if (unshared_.erase(id)) {
        if (auto v = local_objects_.find(id); v != local_objects_.end()) {
          puts.push_back({id, static_cast<uint8_t>(proto::ObjectKind::kInline),
                          std::string(v->second->data(), v->second->size()), -1, 0});
        } else if (auto e = pushed_errors_.find(id); e != pushed_errors_.end()) {
          puts.push_back({id, static_cast<uint8_t>(proto::ObjectKind::kError), e->second, -1, 0});
        }
      } else if (direct_pending_.count(id)) {
        share_on_arrival_.insert(id);
      }
    }
  }
  for (const auto& e : puts) outbox_->Put(e);
}

// -- direct actor calls -------------------------------------------------------------

void ReferenceCounter::MarkDirectPending(const std::vector<std::string>& return_ids) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& id : return_ids) direct_pending_.insert(id);
}

void ReferenceCounter::TakeBackDirectReturns(const std::vector<std::string>& return_ids,
                                             std::vector<std::string>* unreferenced) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& id : return_ids) {
    direct_pending_.erase(id);
    share_on_arrival_.erase(id);
    if (!ref_counts_.count(id) && !owned_.count(id)) unreferenced->push_back(id);
  }
}

std::string ReferenceCounter::ReportJson(size_t limit) const {
  nlohmann::json refs = nlohmann::json::array();
  std::lock_guard<std::mutex> lock(mu_);
  std::unordered_set<std::string> ids(owned_.begin(), owned_.end());
  for (const auto& [id, count] : ref_counts_) ids.insert(id);
  for (const auto& id : ids) {
    if (refs.size() >= limit) break;
    auto count = ref_counts_.find(id);
    refs.push_back({{"object_id", ids::Hex(id)},
                    {"local_refs", count == ref_counts_.end() ? 0 : count->second},
                    {"owned", owned_.count(id) > 0},
                    {"nested", nested_.count(id) > 0}});
  }
  return nlohmann::json{{"pid", static_cast<int>(getpid())}, {"refs", refs}, {"total", ids.size()}}
      .dump();
}

}  // namespace ray::runtime
