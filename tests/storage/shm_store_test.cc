#include "storage/object_store/shm_store.h"

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace ray::storage {
namespace {

constexpr uint64_t kMiB = 1 << 20;

// A segment name no other process or test uses; removed (shm and file) on destruction.
class ScratchSegment {
 public:
  ScratchSegment()
      : name_("ray_test_" + std::to_string(getpid()) + "_" + std::to_string(next_++)) {}
  ~ScratchSegment() {
    ShmStore::Remove(name_, "");
    ShmStore::Remove(name_, dir_.path());
  }

  std::unique_ptr<ShmStore> Create(uint64_t capacity, const std::string& directory = "") {
    std::string error;
    auto store = ShmStore::Create({name_, capacity, directory, false}, &error);
    EXPECT_NE(store, nullptr) << error;
    return store;
  }

  const std::string& name() const { return name_; }
  /// A temporary directory for the mapped-file variant.
  const std::string& dir() const { return dir_.path(); }

 private:
  static inline int next_ = 0;
  std::string name_;
  TempDir dir_;
};

TEST(ShmStore, ObjectWrittenByOneMappingIsReadByAnother) {
  ScratchSegment seg;
  auto creator = seg.Create(4 * kMiB);
  ASSERT_NE(creator, nullptr);
  const std::string payload("hello\0object", 12);
  const int64_t offset = creator->Allocate(payload.size());
  ASSERT_GE(offset, 0);
  std::memcpy(creator->At(offset), payload.data(), payload.size());

  std::string error;
  auto reader = ShmStore::Attach(seg.name(), "", &error);
  ASSERT_NE(reader, nullptr) << error;
  EXPECT_EQ(std::string(reader->At(offset), payload.size()), payload);
  EXPECT_EQ(reader->capacity(), 4 * kMiB);
  EXPECT_EQ(reader->free_bytes(), 4 * kMiB - payload.size());
}

TEST(ShmStore, AllocationFailsWhenFullAndSucceedsAfterFree) {
  ScratchSegment seg;
  auto store = seg.Create(4 * kMiB);
  ASSERT_NE(store, nullptr);
  std::vector<int64_t> offsets;
  for (int64_t offset; (offset = store->Allocate(kMiB / 2)) >= 0;) offsets.push_back(offset);
  EXPECT_EQ(offsets.size(), 8u);  // allocator bookkeeping does not eat into capacity
  EXPECT_EQ(store->Allocate(kMiB / 2), -1);

  store->Free(offsets.back());
  EXPECT_GE(store->Allocate(kMiB / 2), 0);
}

TEST(ShmStore, CapacityIsUsableNotExceeded) {
  ScratchSegment seg;
  auto store = seg.Create(4 * kMiB);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->capacity(), 4 * kMiB);
  EXPECT_EQ(store->free_bytes(), 4 * kMiB);
  EXPECT_EQ(store->Allocate(4 * kMiB + 1), -1);
  const int64_t offset = store->Allocate(kMiB);
  ASSERT_GE(offset, 0);
  EXPECT_LE(store->free_bytes(), 3 * kMiB);
  store->Free(offset);
  EXPECT_EQ(store->free_bytes(), 4 * kMiB);
}

TEST(ShmStore, ObjectOfNinetyPercentCapacityFits) {
  ScratchSegment seg;
  auto store = seg.Create(64 * kMiB);
  ASSERT_NE(store, nullptr);
  EXPECT_GE(store->Allocate(64 * kMiB / 10 * 9), 0);
}

TEST(ShmStore, ObjectOfWholeCapacityFits) {
  ScratchSegment seg;
  auto store = seg.Create(16 * kMiB);
  ASSERT_NE(store, nullptr);
  EXPECT_GE(store->Allocate(16 * kMiB), 0);
}

TEST(ShmStore, AllocationsAreCacheLineAligned) {
  ScratchSegment seg;
  auto store = seg.Create(kMiB);
  ASSERT_NE(store, nullptr);
  for (uint64_t size : {1, 3, 100, 4097}) {
    const int64_t offset = store->Allocate(size);
    ASSERT_GE(offset, 0);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(store->At(offset)) % 64, 0u) << size;
  }
}

TEST(ShmStore, CreateFailsClearlyWhenCapacityExceedsFreeSpace) {
  ScratchSegment seg;
  std::string error;
  auto store = ShmStore::Create({seg.name(), uint64_t{1} << 50, "", false}, &error);
  EXPECT_EQ(store, nullptr);
  EXPECT_NE(error.find("/dev/shm"), std::string::npos) << error;
  EXPECT_NE(error.find(std::to_string(uint64_t{1} << 50)), std::string::npos) << error;
  EXPECT_NE(error.find("available"), std::string::npos) << error;
  EXPECT_FALSE(std::filesystem::exists("/dev/shm/" + seg.name()));
}

TEST(ShmStore, CreateInDirectoryFailsClearlyWhenCapacityExceedsFreeSpace) {
  ScratchSegment seg;
  std::string error;
  auto store = ShmStore::Create({seg.name(), uint64_t{1} << 50, seg.dir(), false}, &error);
  EXPECT_EQ(store, nullptr);
  EXPECT_NE(error.find(seg.dir()), std::string::npos) << error;
}

TEST(ShmStore, HugePagesWithoutHugetlbfsFails) {
  ScratchSegment seg;
  std::string error;
  auto store = ShmStore::Create({seg.name(), kMiB, seg.dir(), true}, &error);
  EXPECT_EQ(store, nullptr);
  EXPECT_NE(error.find("hugetlbfs"), std::string::npos) << error;
  EXPECT_NE(error.find(seg.dir()), std::string::npos) << error;
}

TEST(ShmStore, HugePagesWithoutDirectoryFails) {
  ScratchSegment seg;
  std::string error;
  EXPECT_EQ(ShmStore::Create({seg.name(), kMiB, "", true}, &error), nullptr);
  EXPECT_NE(error.find("hugetlbfs"), std::string::npos) << error;
}

TEST(ShmStore, DirectoryStoreIsAFileSharedByMappings) {
  ScratchSegment seg;
  auto creator = seg.Create(kMiB, seg.dir());
  ASSERT_NE(creator, nullptr);
  EXPECT_TRUE(std::filesystem::exists(seg.dir() + "/" + seg.name()));
  const int64_t offset = creator->Allocate(6);
  ASSERT_GE(offset, 0);
  std::memcpy(creator->At(offset), "plasma", 6);

  std::string error;
  auto reader = ShmStore::Attach(seg.name(), seg.dir(), &error);
  ASSERT_NE(reader, nullptr) << error;
  EXPECT_EQ(std::string(reader->At(offset), 6), "plasma");

  creator.reset();
  reader.reset();
  ShmStore::Remove(seg.name(), seg.dir());
  EXPECT_FALSE(std::filesystem::exists(seg.dir() + "/" + seg.name()));
}

TEST(ShmStore, RemoveDeletesSegment) {
  ScratchSegment seg;
  auto store = seg.Create(kMiB);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(std::filesystem::exists("/dev/shm/" + seg.name()));
  store.reset();
  ShmStore::Remove(seg.name(), "");
  EXPECT_FALSE(std::filesystem::exists("/dev/shm/" + seg.name()));
  ShmStore::Remove(seg.name(), "");  // removing again is harmless
}

TEST(ShmStore, CreateReplacesStaleSegment) {
  ScratchSegment seg;
  auto stale = seg.Create(kMiB);
  ASSERT_NE(stale, nullptr);
  ASSERT_GE(stale->Allocate(kMiB / 2), 0);
  stale.reset();  // as if the node crashed without removing it

  auto fresh = seg.Create(2 * kMiB);
  ASSERT_NE(fresh, nullptr);
  EXPECT_EQ(fresh->capacity(), 2 * kMiB);
  EXPECT_EQ(fresh->free_bytes(), 2 * kMiB);
}

TEST(ShmStore, AttachToMissingSegmentFails) {
  ScratchSegment seg;
  std::string error;
  EXPECT_EQ(ShmStore::Attach(seg.name(), "", &error), nullptr);
  EXPECT_NE(error.find(seg.name()), std::string::npos) << error;
}

}  // namespace
}  // namespace ray::storage
