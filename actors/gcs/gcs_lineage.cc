#include "actors/gcs/gcs_lineage.h"

#include <cstdlib>

#include "actors/common/ids.h"

namespace ray::gcs {

storage::LineageRecord ToLineageRecord(const proto::TaskSpec& spec) {
  storage::LineageRecord r;
  r.task_id = spec.task_id;
  r.function = spec.function;
  r.actor_id = spec.actor_id;
  r.job_id = spec.job_id;
  r.max_retries = spec.max_retries;
  for (const auto& a : spec.args) r.args.push_back({a.is_ref, a.object_id, a.value});
  r.return_ids = spec.return_ids;
  for (const auto& [name, amount] : spec.resources) {
    r.resources += name + "=" + std::to_string(amount) + ";";
  }
  return r;
}

proto::TaskSpec FromLineageRecord(const storage::LineageRecord& r) {
  proto::TaskSpec spec;
  spec.task_id = r.task_id;
  spec.job_id = r.job_id;
  spec.function = r.function;
  spec.actor_id = r.actor_id;
  spec.kind = static_cast<uint8_t>(r.actor_id.empty() ? proto::TaskKind::kNormal
                                                      : proto::TaskKind::kActorMethod);
  for (const auto& a : r.args) spec.args.push_back({a.is_ref, a.object_id, a.value});
  spec.return_ids = r.return_ids;
  spec.max_retries = r.max_retries;
  spec.name = r.function;
  size_t start = 0;
  while (start < r.resources.size()) {  // "name=amount;..."
    size_t eq = r.resources.find('=', start), end = r.resources.find(';', start);
    if (eq == std::string::npos || end == std::string::npos || eq > end) break;
    spec.resources[r.resources.substr(start, eq - start)] =
        std::strtod(r.resources.substr(eq + 1, end - eq - 1).c_str(), nullptr);
    start = end + 1;
  }
  return spec;
}

LineageTable::LineageTable(storage::MetaStore* store, int64_t max_memory)
    : log_(store), max_memory_(max_memory) {}

Status LineageTable::Append(const std::vector<storage::LineageRecord>& records) {
  std::string error;
  if (!log_.Append(records, &error)) {
    return Status(Errc::kIoError, "lineage append of " + std::to_string(records.size()) +
                                      " task(s) failed: " + error);
  }
  tasks_ += records.size();
  Track(records);
  if (max_memory_ <= 0) return Status::Ok();
  for (const auto& r : records) Measure(r);
  return Evict();
}

void LineageTable::Track(const std::vector<storage::LineageRecord>& records) {
  for (const auto& r : records) {
    // Actor creations return nothing and stay; a retried task is counted once.
    if (r.return_ids.empty() || live_.count(r.task_id)) continue;
    LiveTask t;
    t.unreleased = static_cast<int>(r.return_ids.size());
    t.returns = r.return_ids;
    for (const auto& a : r.args) {
      if (!a.is_ref || ids::IsPut(a.object_id)) continue;
      auto p = live_.find(ids::TaskOf(a.object_id));
      if (p == live_.end()) continue;
      ++p->second.dependents;
      t.producers.push_back(p->first);
    }
    live_.emplace(r.task_id, std::move(t));
  }
}

Status LineageTable::Release(const std::vector<std::string>& object_ids) {
  std::vector<std::string> work;
  for (const auto& id : object_ids) {
    if (ids::IsPut(id)) continue;
    auto t = live_.find(ids::TaskOf(id));
    if (t == live_.end()) continue;
    if (--t->second.unreleased <= 0 && t->second.dependents <= 0) work.push_back(t->first);
  }
  std::vector<std::pair<std::string, std::vector<std::string>>> erase;
  while (!work.empty()) {
    std::string task_id = std::move(work.back());
    work.pop_back();
    auto t = live_.find(task_id);
    if (t == live_.end()) continue;
    for (const auto& p : t->second.producers) {
      auto producer = live_.find(p);
      if (producer == live_.end()) continue;
      if (--producer->second.dependents <= 0 && producer->second.unreleased <= 0) {
        work.push_back(p);
      }
    }
    erase.emplace_back(task_id, std::move(t->second.returns));
    live_.erase(t);
  }
  for (const auto& [task_id, returns] : erase) Unmeasure(task_id);
  collected_ += erase.size();
  std::string error;
  if (!log_.EraseKnown(erase, &error)) {
    return Status(Errc::kIoError, "lineage garbage collection of " + std::to_string(erase.size()) +
                                      " task(s) failed: " + error);
  }
  return Status::Ok();
}

std::optional<storage::LineageRecord> LineageTable::Producer(const std::string& object_id) const {
  return log_.GetProducer(object_id);
}

void LineageTable::Measure(const storage::LineageRecord& record) {
  size_t bytes = storage::EncodeLineageRecord(record).size();
  auto [it, fresh] = sized_.try_emplace(record.task_id, Sized{bytes, next_seq_});
  if (fresh) {
    order_.emplace_back(record.task_id, next_seq_++);
  } else {
    // A retry rewrites the same record: count it once, at its first age.
    memory_ -= it->second.bytes;
    it->second.bytes = bytes;
  }
  memory_ += bytes;
}

void LineageTable::Unmeasure(const std::string& task_id) {
  auto it = sized_.find(task_id);
  if (it == sized_.end()) return;
  memory_ -= it->second.bytes;
  sized_.erase(it);  // its entry in order_ is now stale
}

Status LineageTable::Evict() {
  Status result;
  while (memory_ > static_cast<uint64_t>(max_memory_) && !order_.empty()) {
    auto [task_id, seq] = std::move(order_.front());
    order_.pop_front();
    auto it = sized_.find(task_id);
    if (it == sized_.end() || it->second.seq != seq) continue;
    memory_ -= it->second.bytes;
    sized_.erase(it);
    ++evicted_;
    std::string error;
    if (!log_.Erase(task_id, &error) && result.ok()) {
      result = Status(Errc::kIoError, "lineage eviction of task " + ids::Hex(task_id) +
                                          " failed: " + error);
    }
  }
  return result;
}

}  // namespace ray::gcs
