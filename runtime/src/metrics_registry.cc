#include "runtime/src/metrics_registry.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "ray/api/ray_exception.h"

namespace ray::runtime {
namespace {

const char* KindName(metrics::Kind kind) {
  switch (kind) {
    case metrics::Kind::kCounter: return "Counter";
    case metrics::Kind::kGauge: return "Gauge";
    case metrics::Kind::kHistogram: return "Histogram";
    case metrics::Kind::kSum: return "Sum";
  }
  return "metric";
}

std::string Joined(const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k;
  return out.empty() ? "none" : out;
}

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

MetricsRegistry& MetricsRegistry::Instance() {
  static MetricsRegistry* registry = new MetricsRegistry();  // used until the process exits
  return *registry;
}

size_t MetricsRegistry::Register(metrics::Kind kind, const std::string& name,
                                 const std::string& description, const std::string& unit,
                                 const std::vector<std::string>& tag_keys,
                                 const std::vector<double>& boundaries) {
  const std::string what = std::string("ray::") + KindName(kind) + " '" + name + "': ";
  if (std::string why = metrics::InvalidName(name); !why.empty()) throw RayException(what + why);
  for (size_t i = 0; i < tag_keys.size(); ++i) {
    if (std::string why = metrics::InvalidTagKey(tag_keys[i]); !why.empty()) {
      throw RayException(what + why);
    }
    if (std::find(tag_keys.begin(), tag_keys.begin() + i, tag_keys[i]) != tag_keys.begin() + i) {
      throw RayException(what + "tag key '" + tag_keys[i] + "' is declared twice");
    }
  }
  if (kind == metrics::Kind::kHistogram) {
    if (boundaries.empty()) throw RayException(what + "a histogram needs at least one boundary");
    for (size_t i = 0; i < boundaries.size(); ++i) {
      if (!std::isfinite(boundaries[i]) || (i > 0 && boundaries[i] <= boundaries[i - 1])) {
        throw RayException(what + "histogram boundaries must be finite and strictly increasing");
      }
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t id = 0; id < metrics_.size(); ++id) {
    const metrics::Metric& m = metrics_[id];
    if (m.name != name) continue;
    if (m.GetKind() != kind || m.tag_keys != tag_keys ||
        (kind == metrics::Kind::kHistogram && m.boundaries != boundaries)) {
      throw RayException(what + "a " + KindName(m.GetKind()) + " of this name with tag keys (" +
                         Joined(m.tag_keys) + ") exists already in this process");
    }
    return id;
  }
  metrics::Metric m;
  m.kind = static_cast<uint8_t>(kind);
  m.name = name;
  m.description = description;
  m.unit = unit;
  m.tag_keys = tag_keys;
  if (kind == metrics::Kind::kHistogram) m.boundaries = boundaries;
  metrics_.push_back(std::move(m));
  index_.emplace_back();
  return metrics_.size() - 1;
}

void MetricsRegistry::Record(size_t id, double value,
                             const std::unordered_map<std::string, std::string>& tags) {
  std::lock_guard<std::mutex> lock(mu_);
  metrics::Metric& m = metrics_.at(id);
  const metrics::Kind kind = m.GetKind();
  if (!std::isfinite(value)) {
    throw RayException(std::string("ray::") + KindName(kind) + " '" + m.name +
                       "': a value must be finite");
  }
  if (kind == metrics::Kind::kCounter && value <= 0) {
    throw RayException("ray::Counter '" + m.name + "': Inc needs a positive value, not " +
                       std::to_string(value));
  }
  std::vector<std::string> values(m.tag_keys.size());
  for (const auto& [key, tag] : tags) {
    auto at = std::find(m.tag_keys.begin(), m.tag_keys.end(), key);
    if (at == m.tag_keys.end()) {
      throw RayException(std::string("ray::") + KindName(kind) + " '" + m.name + "': tag key '" +
                         key + "' was not declared (declared: " + Joined(m.tag_keys) + ")");
    }
    values[at - m.tag_keys.begin()] = tag;
  }
  std::string key;
  for (const auto& v : values) key += v + '\0';
  auto [slot, fresh] = index_[id].emplace(key, m.series.size());
  if (fresh) {
    metrics::Series series;
    series.tag_values = std::move(values);
    if (kind == metrics::Kind::kHistogram) series.buckets.assign(m.boundaries.size() + 1, 0);
    m.series.push_back(std::move(series));
  }
  metrics::Series& s = m.series[slot->second];
  switch (kind) {
    case metrics::Kind::kCounter:
    case metrics::Kind::kSum:
      s.value += value;
      break;
    case metrics::Kind::kGauge:
      s.value = value;
      s.set_us = NowUs();
      break;
    case metrics::Kind::kHistogram: {
      // Prometheus buckets hold the values up to and including their bound.
      auto bound = std::lower_bound(m.boundaries.begin(), m.boundaries.end(), value);
      ++s.buckets[bound - m.boundaries.begin()];
      s.sum += value;
      ++s.count;
      break;
    }
  }
  changed_ = true;
}

std::string MetricsRegistry::Name(size_t id) const {
  std::lock_guard<std::mutex> lock(mu_);
  return metrics_.at(id).name;
}

std::optional<metrics::Snapshot> MetricsRegistry::Take(bool changed_only) {
  std::lock_guard<std::mutex> lock(mu_);
  if (changed_only && !changed_) return std::nullopt;
  changed_ = false;
  return metrics_;
}

}  // namespace ray::runtime
