// Task, object, actor and worker ids: fixed-size binary strings.
//
// TaskID (16 bytes) = derived from the job and the submitter's task; ObjectID
// (20 bytes) = TaskID + little-endian uint32 index (puts have the top bit set).
#ifndef RAY_ACTORS_COMMON_IDS_H_
#define RAY_ACTORS_COMMON_IDS_H_

#include <cstdint>
#include <string>

namespace ray::ids {

constexpr size_t kTaskIdSize = 16;
constexpr size_t kObjectIdSize = 20;
constexpr uint32_t kPutIndexFlag = 0x80000000u;

/// `n` random bytes (from /dev/urandom-seeded generator).
std::string Random(size_t n);
/// Deterministic 16-byte id from a parent id and a counter.
std::string Derive(const std::string& parent, uint64_t counter);
std::string ObjectId(const std::string& task_id, uint32_t index);
/// The producing task of an object id.
std::string TaskOf(const std::string& object_id);
/// True for ids made by Put (index with kPutIndexFlag): no task produced them.
bool IsPut(const std::string& object_id);
std::string Hex(const std::string& binary);
/// The bytes of lowercase or uppercase hex; false (and `*out` unspecified)
/// on an odd length or a character that is not a hex digit.
bool FromHex(const std::string& hex, std::string* out);

}  // namespace ray::ids

#endif  // RAY_ACTORS_COMMON_IDS_H_
