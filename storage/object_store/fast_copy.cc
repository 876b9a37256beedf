#include "storage/object_store/fast_copy.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace ray::storage {
namespace {

#if defined(__x86_64__)
// Unaligned loads, aligned non-temporal stores, 128 bytes per step.
__attribute__((target("avx2"))) void StreamAvx2(char* dst, const char* src, size_t n) {
  const size_t head = std::min(n, (32 - (reinterpret_cast<uintptr_t>(dst) & 31)) & 31);
  std::memcpy(dst, src, head);
  dst += head;
  src += head;
  n -= head;
  size_t i = 0;
  for (; i + 128 <= n; i += 128) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i + 32));
    const __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i + 64));
    const __m256i d = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i + 96));
    _mm256_stream_si256(reinterpret_cast<__m256i*>(dst + i), a);
    _mm256_stream_si256(reinterpret_cast<__m256i*>(dst + i + 32), b);
    _mm256_stream_si256(reinterpret_cast<__m256i*>(dst + i + 64), c);
    _mm256_stream_si256(reinterpret_cast<__m256i*>(dst + i + 96), d);
  }
  _mm_sfence();  // streaming stores are weakly ordered: publish them before returning
  std::memcpy(dst + i, src + i, n - i);
}

// The same with SSE2, which every x86-64 has.
void StreamSse2(char* dst, const char* src, size_t n) {
  const size_t head = std::min(n, (16 - (reinterpret_cast<uintptr_t>(dst) & 15)) & 15);
  std::memcpy(dst, src, head);
  dst += head;
  src += head;
  n -= head;
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i + 16));
    const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i + 32));
    const __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i + 48));
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst + i), a);
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst + i + 16), b);
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst + i + 32), c);
    _mm_stream_si128(reinterpret_cast<__m128i*>(dst + i + 48), d);
  }
  _mm_sfence();
  std::memcpy(dst + i, src + i, n - i);
}

void Stream(char* dst, const char* src, size_t n) {
  static const bool kHasAvx2 = __builtin_cpu_supports("avx2");
  if (kHasAvx2) {
    StreamAvx2(dst, src, n);
  } else {
    StreamSse2(dst, src, n);
  }
}
#else
void Stream(char* dst, const char* src, size_t n) { std::memcpy(dst, src, n); }
#endif

}  // namespace

int CopyThreadsFor(size_t n) {
  if (n < kStreamingCopyMin) return 1;
  static const int kCores = std::max(1u, std::thread::hardware_concurrency());
  const size_t by_size = std::max<size_t>(1, n / kCopyBytesPerThread);
  return static_cast<int>(std::min<size_t>({by_size, static_cast<size_t>(kCores),
                                            static_cast<size_t>(kMaxCopyThreads)}));
}

void FastCopy(void* dst_ptr, const void* src_ptr, size_t n) {
  auto* dst = static_cast<char*>(dst_ptr);
  const auto* src = static_cast<const char*>(src_ptr);
  const int threads = CopyThreadsFor(n);
  if (n < kStreamingCopyMin) {
    std::memcpy(dst, src, n);
    return;
  }
  if (threads == 1) {
    Stream(dst, src, n);
    return;
  }
  // Whole pages per thread: at most the cache line at each seam is shared.
  const size_t piece = (n / threads + 4095) & ~size_t{4095};
  std::vector<std::thread> helpers;
  helpers.reserve(threads - 1);
  for (int t = 1; t < threads; ++t) {
    const size_t begin = piece * t;
    if (begin >= n) break;
    const size_t len = std::min(piece, n - begin);
    helpers.emplace_back([=] { Stream(dst + begin, src + begin, len); });
  }
  Stream(dst, src, std::min(piece, n));
  for (auto& helper : helpers) helper.join();
}

}  // namespace ray::storage
