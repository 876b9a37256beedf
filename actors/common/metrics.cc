#include "actors/common/metrics.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace ray::metrics {
namespace {

using json = nlohmann::json;

bool NameChar(char c, bool first, bool colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

std::string Invalid(const std::string& what, const std::string& text, bool colon) {
  if (text.empty()) return what + " must not be empty";
  if (text.rfind("__", 0) == 0) return what + " '" + text + "' starts with \"__\", which is reserved";
  for (size_t i = 0; i < text.size(); ++i) {
    if (!NameChar(text[i], i == 0, colon)) {
      return what + " '" + text + "' has '" + std::string(1, text[i]) + "' at " +
             std::to_string(i) + "; it must match " +
             (colon ? "[a-zA-Z_:][a-zA-Z0-9_:]*" : "[a-zA-Z_][a-zA-Z0-9_]*");
    }
  }
  return "";
}

bool SameShape(const Metric& a, const Metric& b) {
  return a.kind == b.kind && a.tag_keys == b.tag_keys && a.boundaries == b.boundaries;
}

void FoldSeries(Kind kind, Series* into, const Series& from) {
  switch (kind) {
    case Kind::kCounter:
    case Kind::kSum:
      into->value += from.value;
      break;
    case Kind::kGauge:
      if (from.set_us >= into->set_us) {
        into->value = from.value;
        into->set_us = from.set_us;
      }
      break;
    case Kind::kHistogram:
      if (into->buckets.size() < from.buckets.size()) into->buckets.resize(from.buckets.size());
      for (size_t i = 0; i < from.buckets.size(); ++i) into->buckets[i] += from.buckets[i];
      into->sum += from.sum;
      into->count += from.count;
      break;
  }
}

std::string Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

std::string Escape(const std::string& s, bool help) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '"' && !help) out += "\\\"";
    else out += c;
  }
  return out;
}

/// `{k="v",...}` of the labels, or "" when there are none.
std::string Labels(const std::vector<std::pair<std::string, std::string>>& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ",";
    out += labels[i].first + "=\"" + Escape(labels[i].second, false) + "\"";
  }
  return out + "}";
}

}  // namespace

std::string InvalidName(const std::string& name) { return Invalid("metric name", name, true); }
std::string InvalidTagKey(const std::string& key) { return Invalid("tag key", key, false); }

void Fold(Snapshot* into, const Snapshot& from, bool with_gauges) {
  for (const Metric& m : from) {
    if (!with_gauges && m.GetKind() == Kind::kGauge) continue;
    auto mine = std::find_if(into->begin(), into->end(),
                             [&](const Metric& x) { return x.name == m.name; });
    if (mine == into->end()) {
      into->push_back(m);
      continue;
    }
    if (!SameShape(*mine, m)) continue;
    for (const Series& s : m.series) {
      auto same = std::find_if(mine->series.begin(), mine->series.end(),
                               [&](const Series& x) { return x.tag_values == s.tag_values; });
      if (same == mine->series.end()) {
        mine->series.push_back(s);
      } else {
        FoldSeries(m.GetKind(), &*same, s);
      }
    }
  }
}

void NodeMetrics::Update(const std::string& client_id, Snapshot snapshot) {
  live_[client_id] = std::move(snapshot);
}

void NodeMetrics::Retire(const std::string& client_id) {
  auto it = live_.find(client_id);
  if (it == live_.end()) return;
  Fold(&retired_, it->second, /*with_gauges=*/false);
  live_.erase(it);
}

Snapshot NodeMetrics::Merged() const {
  Snapshot out = retired_;
  for (const auto& [client, snapshot] : live_) Fold(&out, snapshot);
  return out;
}

json ToJson(const Snapshot& snapshot) {
  json out = json::array();
  for (const Metric& m : snapshot) {
    json series = json::array();
    for (const Series& s : m.series) {
      series.push_back({{"tags", s.tag_values}, {"value", s.value}, {"set_us", s.set_us},
                        {"buckets", s.buckets}, {"sum", s.sum}, {"count", s.count}});
    }
    out.push_back({{"kind", m.kind}, {"name", m.name}, {"description", m.description},
                   {"unit", m.unit}, {"tag_keys", m.tag_keys}, {"boundaries", m.boundaries},
                   {"series", std::move(series)}});
  }
  return out;
}

Snapshot FromJson(const json& j) {
  Snapshot out;
  if (!j.is_array()) return out;
  for (const auto& m : j) {
    try {
      Metric metric;
      metric.kind = m.at("kind").get<uint8_t>();
      metric.name = m.at("name").get<std::string>();
      metric.description = m.at("description").get<std::string>();
      metric.unit = m.at("unit").get<std::string>();
      metric.tag_keys = m.at("tag_keys").get<std::vector<std::string>>();
      metric.boundaries = m.at("boundaries").get<std::vector<double>>();
      for (const auto& s : m.at("series")) {
        Series series;
        series.tag_values = s.at("tags").get<std::vector<std::string>>();
        series.value = s.at("value").get<double>();
        series.set_us = s.at("set_us").get<int64_t>();
        series.buckets = s.at("buckets").get<std::vector<uint64_t>>();
        series.sum = s.at("sum").get<double>();
        series.count = s.at("count").get<uint64_t>();
        metric.series.push_back(std::move(series));
      }
      if (metric.kind <= static_cast<uint8_t>(Kind::kSum)) out.push_back(std::move(metric));
    } catch (const std::exception&) {
      // skipped: not one this code wrote
    }
  }
  return out;
}

std::string Prometheus(
    const std::vector<std::pair<Snapshot, std::map<std::string, std::string>>>& snapshots) {
  // name -> (definition, samples with their extra labels)
  std::map<std::string, std::pair<const Metric*, std::vector<std::pair<const Series*,
                                                                     const std::map<std::string, std::string>*>>>>
      families;
  for (const auto& [snapshot, labels] : snapshots) {
    for (const Metric& m : snapshot) {
      auto& family = families[m.name];
      if (family.first == nullptr) family.first = &m;
      if (!SameShape(*family.first, m)) continue;
      for (const Series& s : m.series) family.second.emplace_back(&s, &labels);
    }
  }
  std::ostringstream out;
  for (const auto& [name, family] : families) {
    const Metric& m = *family.first;
    const std::string full = "ray_" + name;
    static const char* kTypes[] = {"counter", "gauge", "histogram", "counter"};
    std::string help = m.description;
    if (!m.unit.empty()) help += (help.empty() ? "" : " ") + std::string("[") + m.unit + "]";
    out << "# HELP " << full << " " << Escape(help, true) << "\n";
    out << "# TYPE " << full << " " << kTypes[std::min<uint8_t>(m.kind, 3)] << "\n";
    for (const auto& [series, extra] : family.second) {
      std::vector<std::pair<std::string, std::string>> labels;
      for (size_t i = 0; i < m.tag_keys.size(); ++i) {
        labels.emplace_back(m.tag_keys[i], i < series->tag_values.size() ? series->tag_values[i] : "");
      }
      for (const auto& [k, v] : *extra) labels.emplace_back(k, v);
      if (m.GetKind() != Kind::kHistogram) {
        out << full << Labels(labels) << " " << Number(series->value) << "\n";
        continue;
      }
      uint64_t cumulative = 0;
      for (size_t i = 0; i <= m.boundaries.size(); ++i) {
        cumulative += i < series->buckets.size() ? series->buckets[i] : 0;
        auto with_le = labels;
        with_le.emplace_back("le", i < m.boundaries.size() ? Number(m.boundaries[i]) : "+Inf");
        out << full << "_bucket" << Labels(with_le) << " " << cumulative << "\n";
      }
      out << full << "_sum" << Labels(labels) << " " << Number(series->sum) << "\n";
      out << full << "_count" << Labels(labels) << " " << series->count << "\n";
    }
  }
  return out.str();
}

}  // namespace ray::metrics
