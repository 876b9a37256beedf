// User metrics as a node keeps and serves them (actors/common/metrics.h):
// processes' snapshots added up, ended processes' counts kept, and the
// Prometheus text exposition. Plain data: no processes.
#include "actors/common/metrics.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace ray::metrics {
namespace {

Metric Make(Kind kind, const std::string& name, std::vector<std::string> keys = {},
            std::vector<double> boundaries = {}) {
  Metric m;
  m.kind = static_cast<uint8_t>(kind);
  m.name = name;
  m.description = "what it counts";
  m.unit = "requests";
  m.tag_keys = std::move(keys);
  m.boundaries = std::move(boundaries);
  return m;
}

Series Value(std::vector<std::string> tags, double value, int64_t set_us = 0) {
  Series s;
  s.tag_values = std::move(tags);
  s.value = value;
  s.set_us = set_us;
  return s;
}

TEST(NodeMetrics, CountersAddUpOverProcessesAndStayWhenAProcessEndsButGaugesGo) {
  NodeMetrics node;
  Metric served = Make(Kind::kCounter, "served", {"route"});
  served.series = {Value({"a"}, 2), Value({"b"}, 1)};
  Metric queue = Make(Kind::kGauge, "queue");
  queue.series = {Value({}, 7, 100)};
  node.Update("worker-1", {served, queue});
  served.series = {Value({"a"}, 3)};
  queue.series = {Value({}, 4, 200)};
  node.Update("worker-2", {served, queue});
  Snapshot merged = node.Merged();
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_EQ(merged[0].series[0].value, 5) << "route=a over both processes";
  EXPECT_EQ(merged[0].series[1].value, 1);
  EXPECT_EQ(merged[1].series[0].value, 4) << "a gauge shows the value set last";
  // A later snapshot of the same process replaces its earlier one.
  served.series = {Value({"a"}, 4)};
  node.Update("worker-2", {served, queue});
  EXPECT_EQ(node.Merged()[0].series[0].value, 6);
  node.Retire("worker-2");
  merged = node.Merged();
  EXPECT_EQ(merged[0].series[0].value, 6) << "what an ended process counted was lost";
  EXPECT_EQ(merged[1].series[0].value, 7) << "an ended process's gauge stayed";
}

TEST(Prometheus, EachFamilyOnceAcrossNodesWithNodeLabelsAndCumulativeBuckets) {
  Metric served = Make(Kind::kCounter, "served", {"route"});
  served.series = {Value({"a\"b"}, 2)};
  Metric latency = Make(Kind::kHistogram, "latency", {}, {0.1, 1});
  Series h;
  h.buckets = {1, 2, 3};
  h.sum = 9.5;
  h.count = 6;
  latency.series = {h};
  std::string text = Prometheus({{{served, latency}, {{"NodeId", "aa"}}},
                                 {{served}, {{"NodeId", "bb"}}}});
  EXPECT_NE(text.find("# HELP ray_served what it counts [requests]\n# TYPE ray_served counter\n"),
            std::string::npos) << text;
  EXPECT_EQ(text.find("# TYPE ray_served"), text.rfind("# TYPE ray_served")) << text;
  EXPECT_NE(text.find("ray_served{route=\"a\\\"b\",NodeId=\"aa\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("ray_served{route=\"a\\\"b\",NodeId=\"bb\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE ray_latency histogram\n"), std::string::npos) << text;
  EXPECT_NE(text.find("ray_latency_bucket{NodeId=\"aa\",le=\"0.10000000000000001\"} 1\n"),
            std::string::npos) << text;
  EXPECT_NE(text.find("ray_latency_bucket{NodeId=\"aa\",le=\"1\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("ray_latency_bucket{NodeId=\"aa\",le=\"+Inf\"} 6\n"), std::string::npos) << text;
  EXPECT_NE(text.find("ray_latency_sum{NodeId=\"aa\"} 9.5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("ray_latency_count{NodeId=\"aa\"} 6\n"), std::string::npos) << text;
}

TEST(Prometheus, SnapshotsSurviveTheirJsonForm) {
  Metric m = Make(Kind::kSum, "bytes", {"dir"});
  m.series = {Value({"in"}, -3.5)};
  Snapshot back = FromJson(ToJson({m}));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].name, "bytes");
  EXPECT_EQ(back[0].GetKind(), Kind::kSum);
  EXPECT_EQ(back[0].series[0].value, -3.5);
  EXPECT_TRUE(FromJson(nlohmann::json::parse(R"([{"kind": 9}])")).empty());
}

TEST(MetricNames, FollowPrometheusRules) {
  EXPECT_EQ(InvalidName("requests_total"), "");
  EXPECT_EQ(InvalidName("app:latency"), "");
  EXPECT_NE(InvalidName("9lives"), "");
  EXPECT_NE(InvalidName("has-dash"), "");
  EXPECT_NE(InvalidName("__reserved"), "");
  EXPECT_NE(InvalidName(""), "");
  EXPECT_EQ(InvalidTagKey("route"), "");
  EXPECT_NE(InvalidTagKey("a:b"), "") << "labels take no colon";
}

}  // namespace
}  // namespace ray::metrics
