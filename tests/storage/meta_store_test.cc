#include "storage/meta/meta_store.h"

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace ray::storage {
namespace {

using Entries = std::vector<std::pair<std::string, std::string>>;

std::unique_ptr<MetaStore> OpenStore(const std::string& dir) {
  std::string error;
  auto store = MetaStore::Open(dir, &error);
  EXPECT_NE(store, nullptr) << error;
  return store;
}

Entries ScanAll(const MetaStore& store, const std::string& table) {
  Entries entries;
  store.Scan(table, [&](const std::string& key, const std::string& value) {
    entries.emplace_back(key, value);
    return true;
  });
  return entries;
}

TEST(MetaStore, GetReturnsWhatPutStored) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->Put("nodes", "n1", "alive"));
  EXPECT_EQ(store->Get("nodes", "n1"), "alive");
  EXPECT_TRUE(store->Put("nodes", "n1", "dead"));
  EXPECT_EQ(store->Get("nodes", "n1"), "dead");
  EXPECT_EQ(store->Get("nodes", "n2"), std::nullopt);
  EXPECT_EQ(store->Get("actors", "n1"), std::nullopt);
}

TEST(MetaStore, DeleteRemovesOnlyThatKey) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_NE(store, nullptr);
  store->Put("t", "a", "1");
  store->Put("t", "b", "2");
  EXPECT_TRUE(store->Delete("t", "a"));
  EXPECT_EQ(store->Get("t", "a"), std::nullopt);
  EXPECT_EQ(store->Get("t", "b"), "2");
  EXPECT_TRUE(store->Delete("t", "missing"));
}

TEST(MetaStore, BinaryKeysAndValuesRoundTrip) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_NE(store, nullptr);
  const std::string key("\0id\xff", 4);
  const std::string value("\0\x01\0", 3);
  store->Put("objects", key, value);
  EXPECT_EQ(store->Get("objects", key), value);
  EXPECT_EQ(ScanAll(*store, "objects"), (Entries{{key, value}}));
}

TEST(MetaStore, ScanSeesOnlyItsOwnTableInKeyOrder) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_NE(store, nullptr);
  // Table "ab" and key "b" of table "a" would collide without the separator.
  store->Put("ab", "x", "other table");
  store->Put("a", "b", "2");
  store->Put("a", "a", "1");
  store->Put("", "z", "empty-named table");
  store->Put("b", "a", "later table");
  EXPECT_EQ(ScanAll(*store, "a"), (Entries{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(ScanAll(*store, "ab"), (Entries{{"x", "other table"}}));
  EXPECT_EQ(ScanAll(*store, "missing"), Entries{});
}

TEST(MetaStore, ScanStopsWhenCallbackReturnsFalse) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_NE(store, nullptr);
  store->PutBatch("t", {{"1", "a"}, {"2", "b"}, {"3", "c"}});
  int calls = 0;
  store->Scan("t", [&](const std::string&, const std::string&) { return ++calls < 2; });
  EXPECT_EQ(calls, 2);
}

TEST(MetaStore, PutBatchWritesEveryEntry) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_NE(store, nullptr);
  std::string error;
  EXPECT_TRUE(store->PutBatch("jobs", {{"j1", "a"}, {"j2", "b"}}, &error)) << error;
  EXPECT_EQ(ScanAll(*store, "jobs"), (Entries{{"j1", "a"}, {"j2", "b"}}));
}

TEST(MetaStore, WriteAppliesPutsAndDeletesAcrossTables) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  ASSERT_NE(store, nullptr);
  store->Put("t1", "old", "x");
  std::string error;
  EXPECT_TRUE(store->Write({{"t1", "new", "1", false}, {"t2", "k", "2", false},
                            {"t1", "old", "", true}},
                           &error))
      << error;
  EXPECT_EQ(ScanAll(*store, "t1"), (Entries{{"new", "1"}}));
  EXPECT_EQ(store->Get("t2", "k"), "2");
}

TEST(MetaStore, DataSurvivesReopen) {
  TempDir dir;
  {
    auto store = OpenStore(dir.path());
    ASSERT_NE(store, nullptr);
    store->Put("nodes", "n1", "alive");
    store->Put("nodes", "n2", "gone");
    store->Delete("nodes", "n2");
  }
  auto store = OpenStore(dir.path());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(ScanAll(*store, "nodes"), (Entries{{"n1", "alive"}}));
}

TEST(MetaStore, SecondOpenOfLockedDirectoryFails) {
  TempDir dir;
  auto first = OpenStore(dir.path());
  ASSERT_NE(first, nullptr);
  std::string error;
  EXPECT_EQ(MetaStore::Open(dir.path(), &error), nullptr);
  EXPECT_NE(error.find("lock"), std::string::npos) << error;
}

TEST(MetaStore, ApproximateSizeCountsOnlyThatTable) {
  TempDir dir;
  {
    auto store = OpenStore(dir.path());
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 1000; ++i) {
      // Incompressible-ish values, so the on-disk size tracks what was written.
      std::string value(1000, static_cast<char>('a' + i % 26));
      for (size_t j = 0; j < value.size(); j += 7) value[j] = static_cast<char>(i * 31 + j);
      store->Put("big", std::to_string(i), value);
    }
    store->Put("small", "k", "v");
  }
  auto store = OpenStore(dir.path());  // reopening flushes the log into a table file
  ASSERT_NE(store, nullptr);
  EXPECT_GT(store->ApproximateSize("big"), 100'000u);
  EXPECT_LT(store->ApproximateSize("small"), 10'000u);
  EXPECT_EQ(store->ApproximateSize("missing"), 0u);
}

}  // namespace
}  // namespace ray::storage
