// The GCS's part of the task lineage: the log in the store, which records
// are still needed (garbage collection), and the cap on the log's size
// (eviction, oldest first). Plain C++; owned by gcs::Core.
#ifndef RAY_ACTORS_GCS_GCS_LINEAGE_H_
#define RAY_ACTORS_GCS_GCS_LINEAGE_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actors/common/protocol.h"
#include "actors/common/status.h"
#include "storage/lineage/lineage_log.h"
#include "storage/meta/meta_store.h"

namespace ray::gcs {

/// The lineage record of a task spec, and back (a normal task's record holds
/// enough to run it again).
storage::LineageRecord ToLineageRecord(const proto::TaskSpec& spec);
proto::TaskSpec FromLineageRecord(const storage::LineageRecord& record);

class LineageTable {
 public:
  /// `store` must outlive the table. `max_memory`: GcsOptions::max_memory.
  LineageTable(storage::MetaStore* store, int64_t max_memory);
  LineageTable(const LineageTable&) = delete;
  LineageTable& operator=(const LineageTable&) = delete;

  /// Logs the records in one batch, tracks them for collection and, under a
  /// cap, evicts the oldest records beyond it. Nothing is tracked when the
  /// batch could not be written.
  Status Append(const std::vector<storage::LineageRecord>& records);
  /// Owners dropped these objects: the records no live object can need any
  /// more are erased, following the arguments back (a chain goes at once
  /// when its last result is dropped).
  Status Release(const std::vector<std::string>& object_ids);
  /// The logged task that produced `object_id`.
  std::optional<storage::LineageRecord> Producer(const std::string& object_id) const;

  // -- figures for stats --
  uint64_t tasks() const { return tasks_; }
  uint64_t collected() const { return collected_; }
  uint64_t evicted() const { return evicted_; }
  size_t live() const { return live_.size(); }
  /// Bytes of records counted against the cap (0 without a cap).
  uint64_t memory() const { return memory_; }
  uint64_t ApproximateBytes() const { return log_.ApproximateBytes(); }

 private:
  /// A task whose record is still needed: its results are referenced by
  /// their owner, or a needed task takes them as arguments.
  struct LiveTask {
    int unreleased = 0;                  // return objects the owner still holds
    int dependents = 0;                  // live tasks that take its results
    std::vector<std::string> producers;  // live tasks whose results it takes
    std::vector<std::string> returns;
  };
  /// A record counted against the cap; `seq` tells its entry in `order_`
  /// from a stale one left by an earlier record of the same task.
  struct Sized {
    size_t bytes = 0;
    uint64_t seq = 0;
  };

  void Track(const std::vector<storage::LineageRecord>& records);
  void Measure(const storage::LineageRecord& record);
  void Unmeasure(const std::string& task_id);
  Status Evict();

  storage::LineageLog log_;
  const int64_t max_memory_;
  std::unordered_map<std::string, LiveTask> live_;
  // Records counted against the cap, oldest first; an entry whose seq no
  // longer matches `sized_` was collected or rewritten and is skipped.
  std::deque<std::pair<std::string, uint64_t>> order_;
  std::unordered_map<std::string, Sized> sized_;
  uint64_t next_seq_ = 0;
  uint64_t memory_ = 0;
  uint64_t tasks_ = 0;
  uint64_t collected_ = 0;
  uint64_t evicted_ = 0;
};

}  // namespace ray::gcs

#endif  // RAY_ACTORS_GCS_GCS_LINEAGE_H_
