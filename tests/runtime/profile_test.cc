// ray::Profile spans and ray::Timeline, on an embedded cluster (real worker
// processes) and in local mode.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <ray/api.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

namespace {

using nlohmann::json;
using ::testing::HasSubstr;

int SpanThenThrow(int x) {
  auto span = ray::Profile("risky", {{"name", "risky step"}});
  span.SetAttribute("x", std::to_string(x));
  if (x > 0) throw std::invalid_argument("x must not be positive");
  return x;
}

int SpanInTask() {
  auto span = ray::Profile("in_task");
  return static_cast<int>(getpid());
}

RAY_REMOTE(SpanThenThrow, SpanInTask);

json ReadTrace(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return json::parse(ss.str());
}

std::vector<json> Spans(const json& trace, const std::string& cat) {
  std::vector<json> out;
  for (const auto& e : trace) {
    if (e["ph"] == "X" && e["cat"] == cat) out.push_back(e);
  }
  return out;
}

std::string TracePath(const char* name) {
  return "/tmp/ray-profile-test-" + std::to_string(getpid()) + "-" + name + ".json";
}

TEST(ProfileTest, SpansInTasksAndTheDriverAppearInTheTimelineWithTheirExceptions) {
  ray::Init();
  EXPECT_THROW(ray::Get(ray::Task(SpanThenThrow).Remote(1)), ray::RayTaskException);
  int pid = *ray::Get(ray::Task(SpanInTask).Remote());
  {
    auto span = ray::Profile("driver_step", {{"cname", "olive"}});
    span.SetAttribute("rows", "1");
    span.SetAttribute("rows", "2");  // replaces
  }
  const std::string path = ray::Timeline(TracePath("cluster"));
  ray::Shutdown();
  json trace = ReadTrace(path);
  std::remove(path.c_str());

  auto risky = Spans(trace, "risky");
  ASSERT_EQ(risky.size(), 1u) << trace.dump();
  EXPECT_EQ(risky[0]["name"], "risky step");
  EXPECT_EQ(risky[0]["args"]["x"], "1");
  EXPECT_EQ(risky[0]["args"]["exception_type"], "std::invalid_argument");
  EXPECT_EQ(risky[0]["args"]["exception_message"], "x must not be positive");
  // The failed task says why, and its span has its task id.
  bool failed_task = false;
  for (const auto& task : Spans(trace, "task")) {
    if (task["args"].value("task_id", "") != risky[0]["args"].value("task_id", "-")) continue;
    failed_task = task["args"].value("error_type", "") == "std::invalid_argument";
  }
  EXPECT_TRUE(failed_task);
  auto in_task = Spans(trace, "in_task");
  ASSERT_EQ(in_task.size(), 1u);
  EXPECT_FALSE(in_task[0]["args"].contains("exception_type"));
  bool on_its_worker = false;
  for (const auto& e : trace) {
    if (e["ph"] == "M" && e["name"] == "thread_name" && e["tid"] == in_task[0]["tid"]) {
      on_its_worker = e["args"]["name"].get<std::string>().find("worker:" + std::to_string(pid)) == 0;
    }
  }
  EXPECT_TRUE(on_its_worker);
  auto driver = Spans(trace, "driver_step");
  ASSERT_EQ(driver.size(), 1u);
  EXPECT_EQ(driver[0]["cname"], "olive");
  EXPECT_EQ(driver[0]["args"]["rows"], "2");
  EXPECT_FALSE(Spans(trace, "ray.get").empty());
  EXPECT_FALSE(Spans(trace, "submit_task").empty());
}

TEST(ProfileTest, TimelineOffRecordsNothing) {
  ray::RayConfig config;
  config.enable_timeline = false;
  ray::Init(config);
  EXPECT_EQ(*ray::Get(ray::Task(SpanThenThrow).Remote(0)), 0);
  { auto span = ray::Profile("unseen"); }
  const std::string path = ray::Timeline(TracePath("off"));
  ray::Shutdown();
  json trace = ReadTrace(path);
  std::remove(path.c_str());
  for (const auto& e : trace) EXPECT_NE(e["ph"], "X") << e.dump();
  config.enable_timeline = true;  // the next tests record again
  ray::Init(config);
  ray::Shutdown();
}

TEST(ProfileTest, LocalModeWritesItsOwnTimelineToTheDefaultPath) {
  ray::RayConfig config;
  config.local_mode = true;
  ray::Init(config);
  EXPECT_EQ(*ray::Get(ray::Task(SpanInTask).Remote()), getpid());
  const std::string path = ray::Timeline();
  ray::Shutdown();
  EXPECT_THAT(path, HasSubstr("/tmp/ray-timeline-"));
  json trace = ReadTrace(path);
  std::remove(path.c_str());
  EXPECT_EQ(Spans(trace, "in_task").size(), 1u);
}

TEST(ProfileTest, TimelineBeforeInitSaysSo) {
  EXPECT_THROW(ray::Timeline(TracePath("none")), ray::RayException);
}

}  // namespace
