// FastCopy must copy every byte exactly, whatever the sizes and the relative
// alignment of source and destination (the streaming loop, its head and tail,
// and the split across threads all have edges).
#include "storage/object_store/fast_copy.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace ray::storage {
namespace {

std::vector<char> Pattern(size_t n) {
  std::vector<char> v(n);
  uint32_t x = 2463534242u;
  for (auto& c : v) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return v;
}

void CheckCopy(size_t n, size_t src_offset, size_t dst_offset) {
  const std::vector<char> src = Pattern(n + src_offset);
  std::vector<char> dst(n + dst_offset + 64, '\x5a');
  FastCopy(dst.data() + dst_offset, src.data() + src_offset, n);
  ASSERT_EQ(0, std::memcmp(dst.data() + dst_offset, src.data() + src_offset, n))
      << "n=" << n << " src+" << src_offset << " dst+" << dst_offset;
  // Nothing written outside the destination range.
  for (size_t i = 0; i < dst_offset; ++i) ASSERT_EQ(dst[i], '\x5a');
  for (size_t i = dst_offset + n; i < dst.size(); ++i) ASSERT_EQ(dst[i], '\x5a');
}

TEST(FastCopyTest, SmallCopiesAreExact) {
  for (size_t n : {0, 1, 63, 64, 127, 128, 4095, 4097, 100000}) CheckCopy(n, 3, 5);
}

TEST(FastCopyTest, StreamingCopiesAreExactAtEveryAlignment) {
  // Just above the streaming threshold, not a multiple of 128, odd offsets on
  // both sides (a msgpack header puts a payload 5 bytes into an object).
  const size_t n = kStreamingCopyMin + 12345;
  for (size_t src_offset : {0, 16}) {
    for (size_t dst_offset : {0, 1, 5, 31, 69}) CheckCopy(n, src_offset, dst_offset);
  }
}

TEST(FastCopyTest, ParallelCopyCoversTheWholeRange) {
  const size_t n = kCopyBytesPerThread * kMaxCopyThreads + 777;
  CheckCopy(n, 7, 5);
}

TEST(FastCopyTest, ThreadCountFollowsSize) {
  EXPECT_EQ(CopyThreadsFor(1 << 20), 1);
  EXPECT_EQ(CopyThreadsFor(kStreamingCopyMin - 1), 1);
  EXPECT_GE(CopyThreadsFor(size_t{1} << 30), 1);
  EXPECT_LE(CopyThreadsFor(size_t{1} << 30), kMaxCopyThreads);
}

}  // namespace
}  // namespace ray::storage
