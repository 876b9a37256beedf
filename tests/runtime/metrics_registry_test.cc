// A process's metrics (runtime/src/metrics_registry.h): definitions checked,
// records checked against them, values as Prometheus will show them.
#include "runtime/src/metrics_registry.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

#include "ray/api/ray_exception.h"

namespace ray::runtime {
namespace {

using metrics::Kind;

std::string Refusal(const std::function<void()>& call) {
  try {
    call();
  } catch (const RayException& e) {
    return e.what();
  }
  return "";
}

const metrics::Metric& Find(const metrics::Snapshot& s, const std::string& name) {
  for (const auto& m : s) {
    if (m.name == name) return m;
  }
  static metrics::Metric none;
  return none;
}

TEST(MetricsRegistry, RecordsAddUpPerTagValuesAndTheSameDefinitionIsTheSameMetric) {
  auto& r = MetricsRegistry::Instance();
  size_t id = r.Register(Kind::kCounter, "reg_served", "d", "u", {"route", "code"}, {});
  EXPECT_EQ(r.Register(Kind::kCounter, "reg_served", "d", "u", {"route", "code"}, {}), id);
  r.Record(id, 1, {{"route", "a"}, {"code", "200"}});
  r.Record(id, 2, {{"code", "200"}, {"route", "a"}});
  r.Record(id, 1, {{"route", "b"}});  // a declared key may be left out: ""
  auto snapshot = r.Take(false);
  ASSERT_TRUE(snapshot);
  const auto& m = Find(*snapshot, "reg_served");
  ASSERT_EQ(m.series.size(), 2u);
  EXPECT_EQ(m.series[0].tag_values, (std::vector<std::string>{"a", "200"}));
  EXPECT_EQ(m.series[0].value, 3);
  EXPECT_EQ(m.series[1].tag_values, (std::vector<std::string>{"b", ""}));
  EXPECT_FALSE(r.Take(true)) << "nothing was recorded since";
  r.Record(id, 1, {});
  EXPECT_TRUE(r.Take(true));
}

TEST(MetricsRegistry, AnUndeclaredTagKeyABadValueOrAConflictingDefinitionIsAnError) {
  auto& r = MetricsRegistry::Instance();
  size_t id = r.Register(Kind::kCounter, "reg_checked", "", "", {"route"}, {});
  EXPECT_NE(Refusal([&] { r.Record(id, 1, {{"user", "x"}}); })
                .find("tag key 'user' was not declared (declared: route)"),
            std::string::npos);
  EXPECT_NE(Refusal([&] { r.Record(id, -1, {}); }).find("positive"), std::string::npos);
  EXPECT_NE(Refusal([&] { r.Record(id, NAN, {}); }).find("finite"), std::string::npos);
  EXPECT_NE(Refusal([&] { r.Register(Kind::kGauge, "reg_checked", "", "", {"route"}, {}); })
                .find("a Counter of this name"),
            std::string::npos);
  EXPECT_NE(Refusal([&] { r.Register(Kind::kGauge, "bad-name", "", "", {}, {}); })
                .find("metric name 'bad-name'"),
            std::string::npos);
  EXPECT_NE(Refusal([&] { r.Register(Kind::kGauge, "reg_ok", "", "", {"a", "a"}, {}); })
                .find("declared twice"),
            std::string::npos);
  EXPECT_NE(Refusal([&] { r.Register(Kind::kHistogram, "reg_h", "", "", {}, {2, 1}); })
                .find("strictly increasing"),
            std::string::npos);
  EXPECT_NE(Refusal([&] { r.Register(Kind::kHistogram, "reg_h", "", "", {}, {}); })
                .find("at least one boundary"),
            std::string::npos);
}

TEST(MetricsRegistry, HistogramsCountAValueInTheFirstBucketThatHoldsItAndGaugesKeepTheLast) {
  auto& r = MetricsRegistry::Instance();
  size_t h = r.Register(Kind::kHistogram, "reg_latency", "", "s", {}, {0.5, 1});
  for (double v : {0.1, 0.5, 0.7, 1.0, 3.0}) r.Record(h, v, {});
  size_t g = r.Register(Kind::kGauge, "reg_depth", "", "", {}, {});
  r.Record(g, 5, {});
  r.Record(g, 2, {});
  auto snapshot = *r.Take(false);
  const auto& hist = Find(snapshot, "reg_latency").series.at(0);
  EXPECT_EQ(hist.buckets, (std::vector<uint64_t>{2, 2, 1}));  // <=0.5, <=1, +Inf
  EXPECT_EQ(hist.count, 5u);
  EXPECT_DOUBLE_EQ(hist.sum, 5.3);
  EXPECT_EQ(Find(snapshot, "reg_depth").series.at(0).value, 2);
}

}  // namespace
}  // namespace ray::runtime
