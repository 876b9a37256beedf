// The GCS's settings, shared by the CAF shell (gcs.h) and the core (gcs_core.h).
#ifndef RAY_ACTORS_GCS_GCS_OPTIONS_H_
#define RAY_ACTORS_GCS_GCS_OPTIONS_H_

#include <cstdint>

namespace ray::gcs {

struct GcsOptions {
  /// A node silent this long is declared dead.
  int64_t heartbeat_timeout_ms = 5000;
  /// Most nodes the cluster accepts (ray start --redis-max-clients); 0: no limit.
  int max_clients = 0;
  /// Cap on the lineage log (bytes of records this GCS wrote); beyond it the
  /// oldest records are evicted first (ray start --redis-max-memory). 0: no cap.
  int64_t max_memory = 0;
  /// Cap on the profile-event table (bytes); oldest events are dropped first.
  /// 0: max_memory, or kDefaultEventsBytes when that is 0 too.
  int64_t events_max_bytes = 0;
  static constexpr int64_t kDefaultEventsBytes = 128 << 20;
  int64_t EventsCap() const {
    if (events_max_bytes > 0) return events_max_bytes;
    return max_memory > 0 ? max_memory : kDefaultEventsBytes;
  }
};

}  // namespace ray::gcs

#endif  // RAY_ACTORS_GCS_GCS_OPTIONS_H_
