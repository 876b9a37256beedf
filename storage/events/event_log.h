// The GCS's table of profile events (`ray timeline`): records appended in
// order and kept under a byte cap, oldest dropped first, with a count of the
// events dropped that survives restarts.
//
// Layout in the MetaStore: table "events", key = 8-byte big-endian sequence
// number, value = 4-byte little-endian event count + the payload (an encoded
// events::StoredBatch, opaque here); table "events_meta", key "dropped" =
// decimal count of events evicted so far. Both tables share a shard.
#ifndef RAY_STORAGE_EVENTS_EVENT_LOG_H_
#define RAY_STORAGE_EVENTS_EVENT_LOG_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include "storage/meta/meta_store.h"

namespace ray::storage {

class EventLog {
 public:
  /// `store` must outlive the log; reads what an earlier run left.
  /// `max_bytes` caps the payload bytes kept (0: no cap).
  EventLog(MetaStore* store, uint64_t max_bytes);

  /// Appends one record holding `events` events, then drops the oldest
  /// records while the total is over the cap (a record larger than the cap
  /// is dropped at once). Returns false and sets `*error` on an I/O error.
  bool Append(const std::string& payload, uint32_t events, std::string* error = nullptr);
  /// Calls fn(payload) oldest first; stops when fn returns false.
  void Scan(const std::function<bool(const std::string&)>& fn) const;

  uint64_t bytes() const { return bytes_; }
  uint64_t records() const { return index_.size(); }
  /// Events dropped by the cap, over the table's lifetime.
  uint64_t dropped() const { return dropped_; }

  static constexpr const char* kTable = "events";
  static constexpr const char* kMetaTable = "events_meta";

 private:
  struct Entry {
    uint64_t seq;
    uint64_t bytes;
    uint32_t events;
  };
  bool EvictOverCap(std::string* error);

  MetaStore* store_;
  uint64_t max_bytes_;
  std::deque<Entry> index_;  // oldest first
  uint64_t next_seq_ = 0;
  uint64_t bytes_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace ray::storage

#endif  // RAY_STORAGE_EVENTS_EVENT_LOG_H_
