#include "actors/common/ids.h"

#include <random>

namespace ray::ids {
namespace {

uint64_t Mix(uint64_t x) {  // splitmix64 finalizer: good avalanche, cheap
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

void PutU64(std::string* out, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i) (*out)[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

}  // namespace

std::string Random(size_t n) {
  thread_local std::mt19937_64 gen(std::random_device{}());
  std::string out(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = gen();
    for (size_t j = 0; j < 8 && i + j < n; ++j) out[i + j] = static_cast<char>(v >> (8 * j));
  }
  return out;
}

std::string Derive(const std::string& parent, uint64_t counter) {
  uint64_t h1 = 0xcbf29ce484222325ull, h2 = 0x84222325cbf29ce4ull;
  for (unsigned char c : parent) {
    h1 = (h1 ^ c) * 0x100000001b3ull;
    h2 = Mix(h2 ^ c);
  }
  std::string out(kTaskIdSize, '\0');
  PutU64(&out, 0, Mix(h1 ^ Mix(counter)));
  PutU64(&out, 8, Mix(h2 + counter * 0x9e3779b97f4a7c15ull));
  return out;
}

std::string ObjectId(const std::string& task_id, uint32_t index) {
  std::string out = task_id.substr(0, kTaskIdSize);
  out.resize(kTaskIdSize);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((index >> (8 * i)) & 0xff));
  return out;
}

std::string TaskOf(const std::string& object_id) { return object_id.substr(0, kTaskIdSize); }

bool IsPut(const std::string& object_id) {
  // The index is little-endian after the task id: its top bit is in the last byte.
  return object_id.size() == kObjectIdSize &&
         (static_cast<uint8_t>(object_id.back()) & (kPutIndexFlag >> 24)) != 0;
}

std::string Hex(const std::string& binary) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(binary.size() * 2);
  for (unsigned char c : binary) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

bool FromHex(const std::string& hex, std::string* out) {
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return false;
  out->clear();
  out->reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = digit(hex[i]), lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi << 4 | lo));
  }
  return true;
}

}  // namespace ray::ids
