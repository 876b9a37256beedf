// User metrics (Ray's api/metric.h: Counter, Gauge, Histogram, Sum) as they
// travel and are served: each process keeps cumulative values per metric and
// tag values and sends its whole Snapshot to its raylet; the raylet merges its
// processes' snapshots (NodeMetrics); the dashboard's /metrics and a node's
// metrics export port render them as Prometheus text (Prometheus).
// Plain C++: no CAF.
#ifndef RAY_ACTORS_COMMON_METRICS_H_
#define RAY_ACTORS_COMMON_METRICS_H_

#include <msgpack.hpp>
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ray::metrics {

enum class Kind : uint8_t { kCounter = 0, kGauge = 1, kHistogram = 2, kSum = 3 };

/// One metric's value for one set of tag values.
struct Series {
  std::vector<std::string> tag_values;  // in the order of Metric::tag_keys ("" when not given)
  double value = 0;                     // counter, sum: the total; gauge: the last value set
  int64_t set_us = 0;                   // gauge: when it was set (µs since the epoch)
  std::vector<uint64_t> buckets;        // histogram: count per boundary, then +Inf (not cumulative)
  double sum = 0;                       // histogram: of the observed values
  uint64_t count = 0;                   // histogram: values observed
  MSGPACK_DEFINE(tag_values, value, set_us, buckets, sum, count);
};

struct Metric {
  uint8_t kind = 0;  // Kind
  std::string name;
  std::string description;
  std::string unit;
  std::vector<std::string> tag_keys;
  std::vector<double> boundaries;  // histogram: upper bounds, increasing
  std::vector<Series> series;
  Kind GetKind() const { return static_cast<Kind>(kind); }
  MSGPACK_DEFINE(kind, name, description, unit, tag_keys, boundaries, series);
};

using Snapshot = std::vector<Metric>;

/// Why `name` cannot be a metric's name (Prometheus: [a-zA-Z_:][a-zA-Z0-9_:]*,
/// not starting "__"); empty when it can.
std::string InvalidName(const std::string& name);
/// Why `key` cannot be a tag key (Prometheus labels: [a-zA-Z_][a-zA-Z0-9_]*,
/// not starting "__"); empty when it can.
std::string InvalidTagKey(const std::string& key);

/// Adds `from` into `into`: counters, sums and histograms add up; a gauge
/// keeps the value set last. Metrics of the same name and another kind, tag
/// keys or boundaries in `from` are skipped (the first definition wins).
void Fold(Snapshot* into, const Snapshot& from, bool with_gauges = true);

/// The metrics of one node: the latest snapshot of each live process, plus
/// what processes that ended had counted (their gauges go with them).
class NodeMetrics {
 public:
  void Update(const std::string& client_id, Snapshot snapshot);
  void Retire(const std::string& client_id);
  Snapshot Merged() const;

 private:
  std::map<std::string, Snapshot> live_;
  Snapshot retired_;
};

nlohmann::json ToJson(const Snapshot& snapshot);
/// Metrics it cannot read are skipped.
Snapshot FromJson(const nlohmann::json& json);

/// The Prometheus text exposition (version 0.0.4) of `snapshot`, names
/// prefixed "ray_" as Ray exports user metrics, each sample also carrying
/// `labels` (e.g. NodeId). Several snapshots of different nodes go in one
/// call, so that each metric has one HELP and TYPE.
std::string Prometheus(const std::vector<std::pair<Snapshot, std::map<std::string, std::string>>>&
                           snapshots);

}  // namespace ray::metrics

#endif  // RAY_ACTORS_COMMON_METRICS_H_
