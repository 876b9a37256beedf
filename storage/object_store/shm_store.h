// Shared-memory object store: one Boost.Interprocess segment per node.
//
// The node's object manager creates the segment (ShmStore::Create) and is the
// only allocator. Other processes on the host (workers, drivers) attach to it
// (ShmStore::Attach) and read sealed objects in place, or write into a buffer
// that the object manager allocated for them. Offsets, not pointers, cross
// process boundaries, since each process maps the segment at its own address.
#ifndef RAY_STORAGE_OBJECT_STORE_SHM_STORE_H_
#define RAY_STORAGE_OBJECT_STORE_SHM_STORE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace ray::storage {

struct ShmStoreOptions {
  /// Segment name; must be unique per node on the host (e.g. "ray_<session>_<node>").
  std::string name;
  /// Capacity in bytes of the segment.
  uint64_t capacity = 0;
  /// Where the segment lives. Empty: POSIX shared memory (/dev/shm). Otherwise a
  /// file `<directory>/<name>` mapped with managed_mapped_file.
  std::string directory;
  /// Requires `directory` on a hugetlbfs mount; Create fails with a message saying so otherwise.
  bool huge_pages = false;
};

class ShmStore {
 public:
  ShmStore(const ShmStore&) = delete;
  ShmStore& operator=(const ShmStore&) = delete;
  ~ShmStore();

  /// Creates the segment, replacing a stale one of the same name. On failure
  /// returns nullptr and sets `*error` to a message that names the cause (no
  /// space left in /dev/shm or the directory, huge_pages without hugetlbfs, ...).
  static std::unique_ptr<ShmStore> Create(const ShmStoreOptions& options, std::string* error);

  /// Opens an existing segment read-write (the creator's options name + directory).
  static std::unique_ptr<ShmStore> Attach(const std::string& name, const std::string& directory,
                                          std::string* error);

  /// Removes the segment (or file) from the system. Safe when it does not exist.
  static void Remove(const std::string& name, const std::string& directory);

  /// Allocates `size` bytes; returns the offset or -1 when the segment has no
  /// contiguous room (the caller may evict and retry). Creator only.
  int64_t Allocate(uint64_t size);
  /// Frees an offset returned by Allocate. Creator only.
  void Free(int64_t offset);

  /// Address of `offset` in this process's mapping.
  char* At(int64_t offset) const;

  uint64_t capacity() const;
  /// Bytes currently free in the segment (allocator's view).
  uint64_t free_bytes() const;
  const std::string& name() const { return name_; }
  const std::string& directory() const { return directory_; }

 private:
  struct Impl;
  ShmStore(std::unique_ptr<Impl> impl, std::string name, std::string directory);
  std::unique_ptr<Impl> impl_;
  std::string name_;
  std::string directory_;
};

}  // namespace ray::storage

#endif  // RAY_STORAGE_OBJECT_STORE_SHM_STORE_H_
