// User metrics (Ray's api/metric.h): Counter, Gauge, Histogram and Sum, each
// with a name, a description, a unit and the tag keys its records may carry.
// Record them in drivers, tasks and actors; each node adds up its processes'
// values, served as Prometheus text (names prefixed "ray_", a NodeId label on
// every sample) on the dashboard's /metrics and on the node's metrics export
// port (ray start --metrics-export-port). A bad name, a tag key not declared
// or a value that is not finite raises RayException at the call.
#ifndef RAY_API_METRIC_H_
#define RAY_API_METRIC_H_

#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

namespace ray {

using MetricTags = std::unordered_map<std::string, std::string>;

class Metric {
 public:
  virtual ~Metric() = 0;
  std::string GetName() const;
  /// Counter: Inc; Gauge: Set; Histogram: Observe; Sum: adds `value`.
  void Record(double value, const MetricTags& tags);

 protected:
  Metric() = default;
  /// Its id in this process's registry (one per name).
  size_t id_ = 0;
};

/// A value that goes up and down; the node shows the value set last.
class Gauge : public Metric {
 public:
  Gauge(const std::string& name, const std::string& description, const std::string& unit,
        const std::vector<std::string>& tag_keys = {});
  void Set(double value, const MetricTags& tags);
};

/// Counts of values in buckets with the given upper bounds (and +Inf).
class Histogram : public Metric {
 public:
  Histogram(const std::string& name, const std::string& description, const std::string& unit,
            const std::vector<double> boundaries, const std::vector<std::string>& tag_keys = {});
  void Observe(double value, const MetricTags& tags);
};

/// A total that only goes up (Inc takes a positive value).
class Counter : public Metric {
 public:
  Counter(const std::string& name, const std::string& description, const std::string& unit,
          const std::vector<std::string>& tag_keys = {});
  void Inc(double value, const MetricTags& tags);
};

/// A total of the values recorded (any sign), exported as a counter.
class Sum : public Metric {
 public:
  Sum(const std::string& name, const std::string& description, const std::string& unit,
      const std::vector<std::string>& tag_keys = {});
};

}  // namespace ray

#endif  // RAY_API_METRIC_H_
