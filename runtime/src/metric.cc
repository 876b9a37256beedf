// ray::Counter, Gauge, Histogram, Sum over this process's MetricsRegistry.
#include "ray/api/metric.h"

#include "runtime/src/metrics_registry.h"

namespace ray {

Metric::~Metric() = default;

std::string Metric::GetName() const { return runtime::MetricsRegistry::Instance().Name(id_); }

void Metric::Record(double value, const MetricTags& tags) {
  runtime::MetricsRegistry::Instance().Record(id_, value, tags);
}

Gauge::Gauge(const std::string& name, const std::string& description, const std::string& unit,
             const std::vector<std::string>& tag_keys) {
  id_ = runtime::MetricsRegistry::Instance().Register(metrics::Kind::kGauge, name, description,
                                                      unit, tag_keys, {});
}
void Gauge::Set(double value, const MetricTags& tags) { Record(value, tags); }

Histogram::Histogram(const std::string& name, const std::string& description,
                     const std::string& unit, const std::vector<double> boundaries,
                     const std::vector<std::string>& tag_keys) {
  id_ = runtime::MetricsRegistry::Instance().Register(metrics::Kind::kHistogram, name,
                                                      description, unit, tag_keys, boundaries);
}
void Histogram::Observe(double value, const MetricTags& tags) { Record(value, tags); }

Counter::Counter(const std::string& name, const std::string& description, const std::string& unit,
                 const std::vector<std::string>& tag_keys) {
  id_ = runtime::MetricsRegistry::Instance().Register(metrics::Kind::kCounter, name, description,
                                                      unit, tag_keys, {});
}
void Counter::Inc(double value, const MetricTags& tags) { Record(value, tags); }

Sum::Sum(const std::string& name, const std::string& description, const std::string& unit,
         const std::vector<std::string>& tag_keys) {
  id_ = runtime::MetricsRegistry::Instance().Register(metrics::Kind::kSum, name, description,
                                                      unit, tag_keys, {});
}

}  // namespace ray
