// Persistent cluster metadata: named tables of key/value strings in LevelDB.
//
// Keys are stored as "<table>\x00<key>" so each table is a contiguous range and
// can be scanned on its own. With shards > 1 the tables are spread over that
// many LevelDB databases (<directory>/shard-<i>): a table lives wholly in one
// shard, chosen by the part of its name before the first '_' (so "lineage" and
// "lineage_obj" share one), and a multi-table Write is atomic per shard. The GCS actor is the only user; it is single
// threaded, but the class is safe to call from several threads.
#ifndef RAY_STORAGE_META_META_STORE_H_
#define RAY_STORAGE_META_META_STORE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ray::storage {

class MetaStore {
 public:
  MetaStore(const MetaStore&) = delete;
  MetaStore& operator=(const MetaStore&) = delete;
  ~MetaStore();

  /// Opens (creating if missing) the LevelDB database in `directory`.
  /// Returns nullptr and sets `*error` on failure (e.g. directory locked by another process).
  static std::unique_ptr<MetaStore> Open(const std::string& directory, std::string* error,
                                         int shards = 1);
  int shards() const;

  /// Returns false and sets `*error` on an I/O error.
  bool Put(const std::string& table, const std::string& key, const std::string& value,
           std::string* error = nullptr);
  std::optional<std::string> Get(const std::string& table, const std::string& key) const;
  bool Delete(const std::string& table, const std::string& key, std::string* error = nullptr);
  /// Writes all entries of one table atomically (one LevelDB WriteBatch, unsynced).
  bool PutBatch(const std::string& table,
                const std::vector<std::pair<std::string, std::string>>& entries,
                std::string* error = nullptr);
  /// One change in a multi-table batch (see Write).
  struct Mutation {
    std::string table;
    std::string key;
    std::string value;  // ignored when is_delete
    bool is_delete = false;
  };
  /// Applies all mutations, across any tables, atomically (one LevelDB WriteBatch, unsynced).
  bool Write(const std::vector<Mutation>& mutations, std::string* error = nullptr);
  /// Calls `fn(key, value)` for each entry of `table` in key order; stops when fn returns false.
  void Scan(const std::string& table,
            const std::function<bool(const std::string&, const std::string&)>& fn) const;
  /// Approximate bytes on disk used by `table`.
  uint64_t ApproximateSize(const std::string& table) const;

 private:
  struct Impl;
  explicit MetaStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ray::storage

#endif  // RAY_STORAGE_META_META_STORE_H_
