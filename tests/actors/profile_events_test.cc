// The event recorder and its wire format, and the Chrome trace built from
// events: deterministic, no processes.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>

#include "actors/common/profile_events.h"
#include "actors/common/protocol.h"
#include "actors/common/timeline.h"

namespace ray::events {
namespace {

using nlohmann::json;

class RecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Recorder::Instance().SetEnabled(true);
    Recorder::Instance().SetIdentity("driver", "drv", "job9");
    Recorder::Instance().Take();  // what earlier tests left
  }
  void TearDown() override { Recorder::Instance().SetEnabled(true); }
};

TEST_F(RecorderTest, EventsSurviveTheWireWithTheirNamesIdsAndTimes) {
  const std::string task_id(16, 't');
  for (int i = 0; i < 3; ++i) {
    EventView v;
    v.type = "task";
    v.start_us = 1000 + i * 100;
    v.args_end_us = 1010 + i * 100;
    v.exec_end_us = 1050 + i * 100;
    v.end_us = 1060 + i * 100;
    v.task_id = task_id;
    v.job_id = "job1";
    v.actor_id = "actor-id";
    v.function = "a_rather_long_function_name";
    v.attempt = i;
    Recorder::Instance().Record(std::move(v));
  }
  Batch batch = proto::Decode<Batch>(proto::Encode(Recorder::Instance().Take()));
  EXPECT_EQ(batch.component_type, "driver");
  EXPECT_GT(batch.pid, 0);
  // Repeated names go once into the string table.
  EXPECT_EQ(batch.strings.size(), 5u) << "'', task, job1, actor-id, the function";
  auto events = batch.Expand();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].type, "task");
  EXPECT_EQ(events[2].start_us, 1200);
  EXPECT_EQ(events[2].args_end_us, 1210);
  EXPECT_EQ(events[2].exec_end_us, 1250);
  EXPECT_EQ(events[2].end_us, 1260);
  EXPECT_EQ(events[2].task_id, task_id);
  EXPECT_EQ(events[2].function, "a_rather_long_function_name");
  EXPECT_EQ(events[2].attempt, 2);
  EXPECT_GT(events[2].tid, 0u);
  EXPECT_TRUE(Recorder::Instance().Take().events.empty()) << "Take empties the buffer";
}

TEST_F(RecorderTest, AProcessEventWithoutAJobGetsTheDriversJob) {
  Event span;
  span.type = "load";
  span.extra = {{"name", "shard 3"}};
  Recorder::Instance().Record(span);
  Event node_event;
  node_event.type = "transfer";
  node_event.source = static_cast<uint8_t>(Source::kNode);
  Recorder::Instance().Record(node_event);
  auto events = Recorder::Instance().Take().Expand();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].job_id, "job9");
  EXPECT_EQ(events[0].extra.at(0).second, "shard 3");
  EXPECT_EQ(events[1].job_id, "") << "the node's own events belong to no job";
}

TEST_F(RecorderTest, NothingIsRecordedWhenOff) {
  Recorder::Instance().SetEnabled(false);
  { Scoped scoped("ray.get"); }
  Recorder::Instance().Record(Event{});
  Recorder::Instance().SetEnabled(true);
  EXPECT_TRUE(Recorder::Instance().Take().events.empty());
}

TEST_F(RecorderTest, KeepJobDropsOtherJobsEvents) {
  for (const char* job : {"a", "b", "a"}) {
    EventView v;
    v.type = "task";
    v.job_id = job;
    Recorder::Instance().Record(std::move(v));
  }
  Batch batch = Recorder::Instance().Take();
  batch.KeepJob("a");
  EXPECT_EQ(batch.events.size(), 2u);
}

// -- the Chrome trace ---------------------------------------------------------------

/// A batch of `component` (pid) on `node` with these events.
StoredBatch Stored(const std::string& node, const std::string& component, int32_t pid,
                   const std::vector<Event>& list) {
  Recorder::Instance().SetIdentity(component, "id-" + std::to_string(pid));
  Recorder::Instance().Take();
  for (const auto& e : list) Recorder::Instance().Record(e);
  StoredBatch stored{node, Recorder::Instance().Take()};
  stored.batch.pid = pid;
  return stored;
}

Event TaskEvent(const std::string& function, int64_t start, int64_t end, const std::string& job) {
  Event e;
  e.type = "task";
  e.function = function;
  e.task_id = std::string(16, function[0]);
  e.job_id = job;
  e.start_us = start;
  e.args_end_us = start + 1;
  e.exec_end_us = end - 1;
  e.end_us = end;
  return e;
}

json Trace(const EventsReply& reply, const std::string& job = "") {
  timeline::Options options;
  options.job_id = job;
  return json::parse(timeline::ChromeTrace(reply, options));
}

std::vector<json> Of(const json& trace, const std::string& cat) {
  std::vector<json> out;
  for (const auto& e : trace) {
    if (e["ph"] == "X" && e["cat"] == cat) out.push_back(e);
  }
  return out;
}

TEST_F(RecorderTest, TraceExpandsTasksIntoPhasesInsideThemWithIdleGapsBetween) {
  EventsReply reply;
  reply.nodes = {{"n1", "10.0.0.1:6379"}};
  reply.batches = {Stored("n1", "worker", 77, {TaskEvent("f", 100, 200, "j"), TaskEvent("g", 250, 300, "j")})};
  json trace = Trace(reply);
  auto tasks = Of(trace, "task");
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0]["name"], "f");
  EXPECT_EQ(tasks[0]["ts"], 100);
  EXPECT_EQ(tasks[0]["dur"], 100);
  for (const char* phase : {"task:deserialize_arguments", "task:execute", "task:store_outputs"}) {
    for (const auto& p : Of(trace, phase)) {
      bool inside = false;
      for (const auto& t : tasks) {
        inside |= p["tid"] == t["tid"] && p["ts"] >= t["ts"] &&
                  p["ts"].get<int64_t>() + p["dur"].get<int64_t>() <=
                      t["ts"].get<int64_t>() + t["dur"].get<int64_t>();
      }
      EXPECT_TRUE(inside) << p.dump();
    }
  }
  auto idle = Of(trace, "worker_idle");
  ASSERT_EQ(idle.size(), 1u);
  EXPECT_EQ(idle[0]["ts"], 200);
  EXPECT_EQ(idle[0]["dur"], 50);
  std::map<std::string, std::string> names;
  for (const auto& e : trace) {
    if (e["ph"] == "M") names[e["name"]] = e["args"].value("name", "");
  }
  EXPECT_EQ(names["process_name"], "Node 10.0.0.1:6379 (6e31)") << "the hex of the node id";
  EXPECT_EQ(names["thread_name"].rfind("worker:77", 0), 0u);
}

TEST_F(RecorderTest, TraceHonoursNameAndCnameOverridesAndFiltersByJob) {
  Event span;
  span.type = "load";
  span.job_id = "j1";
  span.start_us = 10;
  span.end_us = 20;
  span.extra = {{"name", "shard 3"}, {"cname", "good"}, {"rows", "5"}};
  Event other = TaskEvent("h", 30, 40, "j2");
  EventsReply reply;
  reply.batches = {Stored("n1", "driver", 5, {span, other})};
  json trace = Trace(reply, "j1");
  auto load = Of(trace, "load");
  ASSERT_EQ(load.size(), 1u);
  EXPECT_EQ(load[0]["name"], "shard 3");
  EXPECT_EQ(load[0]["cname"], "good");
  EXPECT_EQ(load[0]["args"]["rows"], "5");
  EXPECT_TRUE(Of(trace, "task").empty()) << "job j2's task is filtered out";
}

TEST_F(RecorderTest, NodeEventsGoOnTheNodesRayletRow) {
  Event transfer;
  transfer.type = "transfer";
  transfer.source = static_cast<uint8_t>(Source::kNode);
  transfer.start_us = 5;
  transfer.end_us = 3;  // a clock step back: the span is clamped, never negative
  EventsReply reply;
  reply.batches = {Stored("n1", "driver", 5, {transfer})};
  json trace = Trace(reply);
  auto spans = Of(trace, "transfer");
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_GE(spans[0]["dur"].get<int64_t>(), 0);
  bool raylet_row = false;
  for (const auto& e : trace) {
    raylet_row |= e["ph"] == "M" && e["name"] == "thread_name" && e["tid"] == spans[0]["tid"] &&
                  e["args"]["name"] == "raylet";
  }
  EXPECT_TRUE(raylet_row);
}

}  // namespace
}  // namespace ray::events
