// This process's user metrics (ray::Counter, Gauge, Histogram, Sum): their
// definitions and cumulative values per tag values, checked as they are
// recorded. The Session sends the Snapshot to the node's raylet about once a
// second when it changed (actors/common/metrics.h says what happens there).
// Plain C++: no CAF. Thread-safe.
#ifndef RAY_RUNTIME_SRC_METRICS_REGISTRY_H_
#define RAY_RUNTIME_SRC_METRICS_REGISTRY_H_

#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/common/metrics.h"

namespace ray::runtime {

class MetricsRegistry {
 public:
  static MetricsRegistry& Instance();

  /// The id of the metric so defined: new, or the one registered before with
  /// the same definition (a metric made again in each task is the same one).
  /// Throws RayException naming what is wrong: the name, a tag key, the
  /// boundaries (histograms: finite, strictly increasing, at least one), or a
  /// name registered before as another kind or with other tag keys or boundaries.
  size_t Register(metrics::Kind kind, const std::string& name, const std::string& description,
                  const std::string& unit, const std::vector<std::string>& tag_keys,
                  const std::vector<double>& boundaries);
  /// Counter: adds `value` (> 0); sum: adds it; gauge: sets it; histogram:
  /// observes it. Throws RayException for a tag key the metric did not
  /// declare, or a value that is not finite (or a counter's that is not positive).
  void Record(size_t id, double value, const std::unordered_map<std::string, std::string>& tags);
  std::string Name(size_t id) const;

  /// Every metric's values; `changed_only`: nullopt when nothing was recorded
  /// since the last such call.
  std::optional<metrics::Snapshot> Take(bool changed_only);

 private:
  mutable std::mutex mu_;
  metrics::Snapshot metrics_;                                  // GUARDED_BY(mu_)
  std::vector<std::unordered_map<std::string, size_t>> index_;  // GUARDED_BY(mu_) tags -> series
  bool changed_ = false;                                       // GUARDED_BY(mu_)
};

}  // namespace ray::runtime

#endif  // RAY_RUNTIME_SRC_METRICS_REGISTRY_H_
