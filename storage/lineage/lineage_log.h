// The task lineage log: every task that produces objects is appended here
// before it runs, so that lost objects can be rebuilt by replaying it.
// Record format: see FORMAT.md beside this file.
#ifndef RAY_STORAGE_LINEAGE_LINEAGE_LOG_H_
#define RAY_STORAGE_LINEAGE_LINEAGE_LOG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "storage/meta/meta_store.h"

namespace ray::storage {

/// One argument of a logged task: an inline value, or the id of an object.
struct LineageArg {
  bool is_ref = false;
  std::string object_id;  // binary id when is_ref
  std::string value;      // serialized value otherwise
};

struct LineageRecord {
  std::string task_id;              // binary
  std::string function;             // registered function name
  std::string actor_id;             // empty for normal tasks
  std::vector<LineageArg> args;
  std::vector<std::string> return_ids;
  std::string job_id;
  int32_t max_retries = 0;
  std::string resources;            // "name=amount;..." as submitted
};

/// Encodes/decodes a record (versioned binary format, see FORMAT.md).
std::string EncodeLineageRecord(const LineageRecord& record);
/// Returns false on a truncated or unknown-version record.
bool DecodeLineageRecord(const std::string& bytes, LineageRecord* record);

class LineageLog {
 public:
  /// `store` must outlive the log.
  explicit LineageLog(MetaStore* store) : store_(store) {}

  /// Appends records in one atomic batch; each return id is indexed to its task.
  bool Append(const std::vector<LineageRecord>& records, std::string* error = nullptr);
  std::optional<LineageRecord> GetTask(const std::string& task_id) const;
  /// The task that produced `object_id`, if logged.
  std::optional<LineageRecord> GetProducer(const std::string& object_id) const;
  /// Removes a task and its return-id index entries.
  bool Erase(const std::string& task_id, std::string* error = nullptr);
  /// Removes tasks whose return ids the caller knows, in one atomic batch
  /// (garbage collection: no reads).
  bool EraseKnown(const std::vector<std::pair<std::string, std::vector<std::string>>>& tasks,
                  std::string* error = nullptr);
  uint64_t ApproximateBytes() const;

  static constexpr const char* kTaskTable = "lineage";
  static constexpr const char* kObjectTable = "lineage_obj";

 private:
  MetaStore* store_;
};

}  // namespace ray::storage

#endif  // RAY_STORAGE_LINEAGE_LINEAGE_LOG_H_
