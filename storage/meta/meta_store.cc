#include "storage/meta/meta_store.h"

#include <cassert>
#include <filesystem>
#include <map>

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

namespace ray::storage {
namespace {

// "<table>\0<key>": the separator sorts below every other byte, so table "a" is
// the range ["a\0", "a\1") and never overlaps table "ab" ("ab\0...").
std::string TableKey(const std::string& table, const std::string& key) {
  assert(table.find('\0') == std::string::npos);
  std::string full;
  full.reserve(table.size() + 1 + key.size());
  full.append(table).push_back('\0');
  full.append(key);
  return full;
}

bool Check(const leveldb::Status& status, std::string* error) {
  if (status.ok()) return true;
  if (error != nullptr) *error = status.ToString();
  return false;
}

}  // namespace

struct MetaStore::Impl {
  std::vector<std::unique_ptr<leveldb::DB>> dbs;
  leveldb::DB* For(const std::string& table) const {
    if (dbs.size() == 1) return dbs[0].get();
    std::string group = table.substr(0, table.find('_'));
    return dbs[std::hash<std::string>{}(group) % dbs.size()].get();
  }
};

MetaStore::MetaStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MetaStore::~MetaStore() = default;

std::unique_ptr<MetaStore> MetaStore::Open(const std::string& directory, std::string* error,
                                           int shards) {
  if (shards < 1) {
    if (error != nullptr) *error = "the number of shards must be at least 1";
    return nullptr;
  }
  leveldb::Options options;
  options.create_if_missing = true;
  auto impl = std::make_unique<Impl>();
  for (int i = 0; i < shards; ++i) {
    std::string path = directory;
    if (shards > 1) {
      std::error_code ec;
      std::filesystem::create_directories(directory, ec);  // LevelDB reports a failure below
      path += "/shard-" + std::to_string(i);
    }
    leveldb::DB* db = nullptr;
    if (!Check(leveldb::DB::Open(options, path, &db), error)) return nullptr;
    impl->dbs.emplace_back(db);
  }
  return std::unique_ptr<MetaStore>(new MetaStore(std::move(impl)));
}

int MetaStore::shards() const { return static_cast<int>(impl_->dbs.size()); }

// Writes are unsynced: a process crash loses nothing (the OS holds the log), a
// machine crash may lose the last writes, which the GCS can tolerate.
bool MetaStore::Put(const std::string& table, const std::string& key, const std::string& value,
                    std::string* error) {
  return Check(impl_->For(table)->Put(leveldb::WriteOptions(), TableKey(table, key), value),
               error);
}

std::optional<std::string> MetaStore::Get(const std::string& table,
                                          const std::string& key) const {
  std::string value;
  if (!impl_->For(table)->Get(leveldb::ReadOptions(), TableKey(table, key), &value).ok()) {
    return std::nullopt;
  }
  return value;
}

bool MetaStore::Delete(const std::string& table, const std::string& key, std::string* error) {
  return Check(impl_->For(table)->Delete(leveldb::WriteOptions(), TableKey(table, key)), error);
}

bool MetaStore::PutBatch(const std::string& table,
                         const std::vector<std::pair<std::string, std::string>>& entries,
                         std::string* error) {
  leveldb::WriteBatch batch;
  for (const auto& [key, value] : entries) batch.Put(TableKey(table, key), value);
  return Check(impl_->For(table)->Write(leveldb::WriteOptions(), &batch), error);
}

bool MetaStore::Write(const std::vector<Mutation>& mutations, std::string* error) {
  std::map<leveldb::DB*, leveldb::WriteBatch> batches;  // one atomic batch per shard
  for (const Mutation& m : mutations) {
    leveldb::WriteBatch& batch = batches[impl_->For(m.table)];
    if (m.is_delete) {
      batch.Delete(TableKey(m.table, m.key));
    } else {
      batch.Put(TableKey(m.table, m.key), m.value);
    }
  }
  for (auto& [db, batch] : batches) {
    if (!Check(db->Write(leveldb::WriteOptions(), &batch), error)) return false;
  }
  return true;
}

void MetaStore::Scan(const std::string& table,
                     const std::function<bool(const std::string&, const std::string&)>& fn) const {
  const std::string prefix = TableKey(table, "");
  std::unique_ptr<leveldb::Iterator> it(impl_->For(table)->NewIterator(leveldb::ReadOptions()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    leveldb::Slice key = it->key();
    key.remove_prefix(prefix.size());
    if (!fn(key.ToString(), it->value().ToString())) break;
  }
}

uint64_t MetaStore::ApproximateSize(const std::string& table) const {
  const std::string start = TableKey(table, "");
  std::string limit = start;
  limit.back() = '\1';  // first key past every "<table>\0..." key
  leveldb::Range range(start, limit);
  uint64_t size = 0;
  impl_->For(table)->GetApproximateSizes(&range, 1, &size);
  return size;
}

}  // namespace ray::storage
