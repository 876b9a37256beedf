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
};

}  // namespace ray::gcs

#endif  // RAY_ACTORS_GCS_GCS_OPTIONS_H_
