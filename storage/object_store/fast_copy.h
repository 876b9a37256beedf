// Copying large buffers into and out of the object store.
//
// glibc's memcpy of a buffer larger than the last-level cache switches to a
// loop that reads four pages at a time with non-temporal stores; when the
// destination lies a little past the source modulo 4 KiB (1..~512 bytes, which
// is where a msgpack header puts a byte vector's payload), loads alias the
// pending stores and the copy slows down threefold (800 MiB at 3.6 GB/s
// instead of 13 GB/s on the development VM; README, "Performance").
// FastCopy streams with its own non-temporal loop, whose speed does not depend
// on the distance, and splits copies of 32 MiB and more across threads.
#ifndef RAY_STORAGE_OBJECT_STORE_FAST_COPY_H_
#define RAY_STORAGE_OBJECT_STORE_FAST_COPY_H_

#include <cstddef>

namespace ray::storage {

/// Below this size FastCopy is plain memcpy (the destination may be read
/// again soon, from cache).
constexpr size_t kStreamingCopyMin = size_t{16} << 20;
/// Each thread of a parallel copy moves at least this much.
constexpr size_t kCopyBytesPerThread = size_t{16} << 20;
/// At most this many threads share one copy (the caller's included).
constexpr int kMaxCopyThreads = 4;

/// Copies `n` bytes from `src` to `dst`; the ranges must not overlap.
void FastCopy(void* dst, const void* src, size_t n);

/// How many threads FastCopy uses for `n` bytes on this machine.
int CopyThreadsFor(size_t n);

}  // namespace ray::storage

#endif  // RAY_STORAGE_OBJECT_STORE_FAST_COPY_H_
