#include "storage/object_store/shm_store.h"

#include <sys/statfs.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <mutex>
#include <new>
#include <unordered_map>
#include <utility>

#include <boost/interprocess/managed_mapped_file.hpp>
#include <boost/interprocess/managed_shared_memory.hpp>
#include <boost/interprocess/shared_memory_object.hpp>

namespace ray::storage {
namespace {

namespace bip = boost::interprocess;

// Objects start on a cache-line boundary: memcpy into and out of them is fastest there.
constexpr uint64_t kAlignment = 64;
// Allocator bookkeeping (segment header, named-object index, per-block headers and
// alignment padding) lives inside the segment too. The segment is made this much
// larger than `capacity` so that an object of nearly `capacity` bytes still fits;
// the usable capacity is then enforced by counting requested bytes (SegmentHeader::used),
// so `capacity` means what users expect: the sum of object sizes that fit. Each block
// costs up to ~128 bytes of bookkeeping, so with very many tiny objects the segment
// can run out first; Allocate then returns -1 as for any full store.
constexpr uint64_t kFixedOverhead = 64 * 1024;
constexpr uint64_t kOverheadDivisor = 64;
constexpr uint64_t kHugetlbfsMagic = 0x958458f6;
constexpr const char* kHeaderName = "ray_shm_store_header";

// Lives in the segment so that attached processes see the creator's numbers.
struct SegmentHeader {
  uint64_t capacity = 0;
  std::atomic<uint64_t> used{0};  // sum of the sizes of live allocations
};

std::string PathOf(const std::string& name, const std::string& directory) {
  return directory.empty() ? "/dev/shm/" + name : directory + "/" + name;
}

// Fails (returning false) when `bytes` exceed the free space of the filesystem at
// `dir`. tmpfs and files are sparse, so without this check a too-large segment is
// created fine and the process dies of SIGBUS on first touch of a missing page.
bool CheckFreeSpace(const std::string& dir, uint64_t capacity, uint64_t bytes,
                    std::string* error) {
  struct statvfs vfs;
  if (statvfs(dir.c_str(), &vfs) != 0) {
    *error = "cannot stat " + dir + ": " + std::strerror(errno);
    return false;
  }
  const uint64_t available = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  if (bytes > available) {
    *error = "object store capacity of " + std::to_string(capacity) + " bytes (" +
             std::to_string(bytes) + " with allocator overhead) does not fit in " + dir +
             ": only " + std::to_string(available) +
             " bytes are available (lower the object store capacity or free space there)";
    return false;
  }
  return true;
}

// On success sets `*page_size` to the huge page size of the hugetlbfs mount at `dir`.
bool CheckHugetlbfs(const std::string& dir, uint64_t* page_size, std::string* error) {
  struct statfs fs;
  if (dir.empty() || statfs(dir.c_str(), &fs) != 0 ||
      static_cast<uint64_t>(fs.f_type) != kHugetlbfsMagic) {
    *error = "huge_pages requires plasma_directory on a hugetlbfs mount; " +
             (dir.empty() ? std::string("no directory was given") : dir + " is not one");
    return false;
  }
  *page_size = static_cast<uint64_t>(fs.f_bsize);
  return true;
}

}  // namespace

// Exactly one of the two segments is set; both types share the managed-memory API.
struct ShmStore::Impl {
  std::unique_ptr<bip::managed_shared_memory> shm;
  std::unique_ptr<bip::managed_mapped_file> file;
  SegmentHeader* header = nullptr;
  // Creator only: the size charged for each live allocation, by offset. The
  // allocator's own block size is rounded and padded, so it cannot be used.
  std::mutex mutex;
  std::unordered_map<int64_t, uint64_t> sizes;  // guarded by mutex

  template <typename Fn>
  auto Visit(Fn&& fn) const {
    return shm ? fn(*shm) : fn(*file);
  }
};

ShmStore::ShmStore(std::unique_ptr<Impl> impl, std::string name, std::string directory)
    : impl_(std::move(impl)), name_(std::move(name)), directory_(std::move(directory)) {}

ShmStore::~ShmStore() = default;

std::unique_ptr<ShmStore> ShmStore::Create(const ShmStoreOptions& options, std::string* error) {
  std::string ignored;
  if (error == nullptr) error = &ignored;
  if (options.name.empty() || options.capacity == 0) {
    *error = "object store needs a name and a non-zero capacity";
    return nullptr;
  }
  if (options.capacity > std::numeric_limits<uint64_t>::max() / 4) {
    *error = "object store capacity " + std::to_string(options.capacity) + " is too large";
    return nullptr;
  }
  uint64_t segment_bytes =
      options.capacity + kFixedOverhead + options.capacity / kOverheadDivisor;
  if (options.huge_pages) {
    uint64_t page = 0;
    if (!CheckHugetlbfs(options.directory, &page, error)) return nullptr;
    // A hugetlbfs file must be a whole number of huge pages long.
    if (page > 0) segment_bytes = (segment_bytes + page - 1) / page * page;
  }
  // A stale segment of the same name (a crashed node) still holds its space.
  Remove(options.name, options.directory);
  const std::string fs_dir = options.directory.empty() ? "/dev/shm" : options.directory;
  if (!CheckFreeSpace(fs_dir, options.capacity, segment_bytes, error)) return nullptr;

  auto impl = std::make_unique<Impl>();
  try {
    // 0600: the cluster's objects are for its own user's processes only.
    const bip::permissions owner_only(0600);
    if (options.directory.empty()) {
      impl->shm = std::make_unique<bip::managed_shared_memory>(
          bip::create_only, options.name.c_str(), segment_bytes, nullptr, owner_only);
    } else {
      impl->file = std::make_unique<bip::managed_mapped_file>(
          bip::create_only, PathOf(options.name, options.directory).c_str(), segment_bytes,
          nullptr, owner_only);
    }
    impl->header = impl->Visit(
        [](auto& segment) { return segment.template construct<SegmentHeader>(kHeaderName)(); });
    impl->header->capacity = options.capacity;
  } catch (const std::exception& e) {
    *error = "cannot create object store " + PathOf(options.name, options.directory) + " of " +
             std::to_string(segment_bytes) + " bytes: " + e.what();
    impl.reset();
    Remove(options.name, options.directory);
    return nullptr;
  }
  return std::unique_ptr<ShmStore>(
      new ShmStore(std::move(impl), options.name, options.directory));
}

std::unique_ptr<ShmStore> ShmStore::Attach(const std::string& name, const std::string& directory,
                                           std::string* error) {
  std::string ignored;
  if (error == nullptr) error = &ignored;
  auto impl = std::make_unique<Impl>();
  try {
    if (directory.empty()) {
      impl->shm = std::make_unique<bip::managed_shared_memory>(bip::open_only, name.c_str());
    } else {
      impl->file = std::make_unique<bip::managed_mapped_file>(
          bip::open_only, PathOf(name, directory).c_str());
    }
    impl->header = impl->Visit(
        [](auto& segment) { return segment.template find<SegmentHeader>(kHeaderName).first; });
  } catch (const std::exception& e) {
    *error = "cannot attach to object store " + PathOf(name, directory) + ": " + e.what();
    return nullptr;
  }
  if (impl->header == nullptr) {
    *error = PathOf(name, directory) + " is not an object store segment";
    return nullptr;
  }
  return std::unique_ptr<ShmStore>(new ShmStore(std::move(impl), name, directory));
}

void ShmStore::Remove(const std::string& name, const std::string& directory) {
  if (directory.empty()) {
    bip::shared_memory_object::remove(name.c_str());
  } else {
    std::remove(PathOf(name, directory).c_str());
  }
}

int64_t ShmStore::Allocate(uint64_t size) {
  SegmentHeader* header = impl_->header;
  std::lock_guard<std::mutex> lock(impl_->mutex);
  if (size == 0 || size > header->capacity - header->used.load()) return -1;
  const int64_t offset = impl_->Visit([&](auto& segment) -> int64_t {
    void* ptr = segment.allocate_aligned(size, kAlignment, std::nothrow);
    return ptr == nullptr ? -1 : static_cast<int64_t>(segment.get_handle_from_address(ptr));
  });
  if (offset < 0) return -1;
  header->used += size;
  impl_->sizes[offset] = size;
  return offset;
}

void ShmStore::Free(int64_t offset) {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  auto it = impl_->sizes.find(offset);
  if (it == impl_->sizes.end()) return;  // not ours, or already freed
  impl_->header->used -= it->second;
  impl_->sizes.erase(it);
  impl_->Visit([&](auto& segment) {
    segment.deallocate(segment.get_address_from_handle(offset));
    return 0;
  });
}

char* ShmStore::At(int64_t offset) const {
  return impl_->Visit([&](auto& segment) {
    return static_cast<char*>(segment.get_address_from_handle(offset));
  });
}

uint64_t ShmStore::capacity() const { return impl_->header->capacity; }

uint64_t ShmStore::free_bytes() const {
  const uint64_t by_count = impl_->header->capacity - impl_->header->used.load();
  const uint64_t by_allocator =
      impl_->Visit([](auto& segment) { return static_cast<uint64_t>(segment.get_free_memory()); });
  return std::min(by_count, by_allocator);
}

}  // namespace ray::storage
