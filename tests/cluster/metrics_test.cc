// User metrics end to end on a real raynode: recorded in a driver, a task and
// an actor, added up by the node, and read back over HTTP from the node's
// metrics export port and from the dashboard's /metrics.
#include <gtest/gtest.h>
#include <httplib.h>
#include <ray/api.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "tests/cluster/node_process.h"
#include "tests/common/wait_until.h"

namespace {

using ray::test::WaitUntil;

int CountInTask(int n) {
  ray::Counter served("cl_requests", "requests served", "requests", {"where"});
  for (int i = 0; i < n; ++i) served.Inc(1, {{"where", "task"}});
  return n;
}

class Meter {
 public:
  static Meter* Create() { return new Meter(); }
  int SetDepth(double v) {
    depth_.Set(v, {});
    return 0;
  }
  int Observe(double seconds) {
    latency_.Observe(seconds, {{"op", "get"}});
    return 0;
  }

 private:
  ray::Gauge depth_{"cl_depth", "queue depth", "items"};
  ray::Histogram latency_{"cl_latency", "call latency", "s", {0.1, 1}, {"op"}};
};

RAY_REMOTE(CountInTask, Meter::Create, &Meter::SetDepth, &Meter::Observe);

/// The body of GET url+path, or "" when it does not answer 200.
std::string Fetch(const std::string& url, const std::string& path, const std::string& token = "",
                  int* status = nullptr) {
  httplib::Client client(url);
  client.set_connection_timeout(2);
  client.set_read_timeout(10);
  httplib::Headers headers;
  if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
  auto res = client.Get(path.c_str(), headers);
  if (status != nullptr) *status = res ? res->status : -1;
  return res && res->status == 200 ? res->body : "";
}

std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

TEST(MetricsTest, DriverTaskAndActorMetricsAreServedOnTheNodePortAndTheDashboard) {
  ray::test::NodeProcess node;
  const std::string webui_file = std::string(getenv("HOME")) + "/webui";
  ASSERT_TRUE(node.Start({"--num-cpus", "2", "--object-store-memory", "100000000",
                          "--metrics-export-port", "0", "--include-webui", "--dashboard-port",
                          "0", "--webui-file", webui_file}))
      << node.log();
  std::smatch found;
  const std::regex line(R"(metrics at (http://[0-9.]+:[0-9]+)/metrics)");
  std::string log;
  ASSERT_TRUE(WaitUntil([&] {
    log = node.log();
    return std::regex_search(log, found, line);
  })) << log;
  const std::string metrics_url = found[1];
  ray::RayConfig config;
  config.address = node.address();
  ray::Init(config);
  ray::Counter served("cl_requests", "requests served", "requests", {"where"});
  served.Inc(2, {{"where", "driver"}});
  EXPECT_THROW(served.Inc(1, {{"who", "x"}}), ray::RayException) << "an undeclared tag key";
  EXPECT_THROW(ray::Gauge("cl-bad", "", ""), ray::RayException) << "a bad name";
  EXPECT_EQ(*ray::Get(ray::Task(CountInTask).Remote(3)), 3);
  auto meter = ray::Actor(Meter::Create).Remote();
  ray::Get(meter.Task(&Meter::SetDepth).Remote(7.0));
  ray::Get(meter.Task(&Meter::Observe).Remote(0.5));
  const std::vector<std::regex> expected = {
      std::regex(R"(# TYPE ray_cl_requests counter)"),
      std::regex(R"(ray_cl_requests\{where="driver",NodeId="[0-9a-f]+"\} 2\n)"),
      std::regex(R"(ray_cl_requests\{where="task",NodeId="[0-9a-f]+"\} 3\n)"),
      std::regex(R"(ray_cl_depth\{NodeId="[0-9a-f]+"\} 7\n)"),
      std::regex(R"(ray_cl_latency_bucket\{op="get",NodeId="[0-9a-f]+",le="1"\} 1\n)"),
      std::regex(R"(ray_cl_latency_count\{op="get",NodeId="[0-9a-f]+"\} 1\n)")};
  auto has_all = [&](const std::string& text) {
    for (const auto& re : expected) {
      if (!std::regex_search(text, re)) return false;
    }
    return true;
  };
  std::string text;
  EXPECT_TRUE(WaitUntil([&] { return has_all(text = Fetch(metrics_url, "/metrics")); },
                        std::chrono::seconds(10)))
      << text;
  int status = 0;
  Fetch(metrics_url, "/anything", "", &status);
  EXPECT_EQ(status, 404);
  // The dashboard shows them too, to whoever has the token.
  const std::string dashboard = FirstLine(webui_file);
  std::ifstream token_file(std::string(getenv("HOME")) + "/.ray/auth_token");
  std::string token;
  std::getline(token_file, token);
  ASSERT_FALSE(dashboard.empty());
  EXPECT_TRUE(WaitUntil([&] { return has_all(text = Fetch(dashboard, "/metrics", token)); },
                        std::chrono::seconds(10)))
      << text;
  Fetch(dashboard, "/metrics", "", &status);
  EXPECT_EQ(status, 401);
  ray::Shutdown();
  node.Stop();
}

}  // namespace
