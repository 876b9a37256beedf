// The dashboard's API and auth with a fake backend: deterministic, no
// processes, no sockets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "actors/common/profile_events.h"
#include "actors/common/protocol.h"
#include "actors/dashboard/dashboard_api.h"

namespace ray::dashboard {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

constexpr const char* kToken = "0123456789abcdef";
constexpr const char* kHost = "127.0.0.1:8265";

class FakeBackend final : public Backend {
 public:
  bool Report(const std::string& kind, const std::string& args, std::string* out,
              std::string* error) override {
    asked.push_back(kind + " " + args);
    if (down) {
      *error = "no answer in time";
      return false;
    }
    *out = (kind == "memory" ? memory : status).dump();
    return true;
  }
  bool Events(const std::string& job_id, std::string* bytes, std::string*) override {
    events::EventsReply reply;
    reply.batches.push_back(batch);
    if (!job_id.empty()) reply.batches[0].batch.KeepJob(job_id);
    *bytes = proto::Encode(reply);
    return true;
  }
  json status = {
      {"nodes",
       {{{"node_id", "aa11"}, {"address", "127.0.0.1:6379"}, {"is_head", true}, {"state", "ALIVE"},
         {"report",
          {{"resources_total", {{"CPU", 2.0}}},
           {"resources_available", {{"CPU", 1.5}}},
           {"object_store", {{"used_bytes", 100}, {"capacity_bytes", 1000}}},
           {"workers", {{{"pid", 42}, {"function", "Busy"}, {"task_id", "77"}, {"job_id", "01000000"}}}}}}},
        {{"node_id", "bb22"}, {"address", "127.0.0.1:6380"}, {"state", "DEAD"}, {"death_reason", "killed"}}}},
      {"actors",
       {{{"actor_id", "a1"}, {"name", "counter"}, {"state", "ALIVE"}, {"node_id", "aa11"}},
        {{"actor_id", "a2"}, {"name", ""}, {"state", "DEAD"}, {"node_id", "aa11"}},
        {{"actor_id", "a3"}, {"name", ""}, {"state", "DEAD"}, {"node_id", "bb22"}}}},
      {"actors_by_state", {{"ALIVE", 1}, {"DEAD", 2}}},
      {"events", {{"dropped", 3}}}};
  json memory = {{"nodes", {{{"node_id", "aa11"}, {"report", {{"objects", {{{"object_id", "o1"}, {"size", 5}}}}}}}}}};
  events::StoredBatch batch;
  bool down = false;
  std::vector<std::string> asked;
};

class DashboardApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Two finished tasks of job 01000000 (one failed), on node aa11.
    events::Recorder::Instance().SetIdentity("worker", "w");
    events::Recorder::Instance().Take();
    for (int i = 0; i < 2; ++i) {
      events::Event e;
      e.type = "task";
      e.function = i == 0 ? "Ok" : "Broken";
      e.task_id = std::string(16, static_cast<char>('a' + i));
      e.job_id = std::string("\x01\0\0\0", 4);
      e.start_us = 1000000 + i * 1000;
      e.end_us = e.start_us + 500;
      if (i == 1) e.extra = {{"error_type", "std::runtime_error"}, {"error_message", "boom"}};
      events::Recorder::Instance().Record(e);
    }
    backend_.batch = {std::string("\xaa\x11", 2), events::Recorder::Instance().Take()};
    backend_.batch.batch.pid = 42;
  }

  Response Get(const std::string& path, std::map<std::string, std::string> query = {},
               Headers headers = {{"host", kHost}, {"authorization", std::string("Bearer ") + kToken}}) {
    Request r;
    r.path = path;
    r.query = std::move(query);
    r.headers = std::move(headers);
    return api_.Handle(r);
  }
  static json Body(const Response& r) { return json::parse(r.body); }

  FakeBackend backend_;
  Api api_{&backend_, Settings{kToken, {kHost, "localhost:8265"}, false, "0.1.0"}};
};

TEST_F(DashboardApiTest, EveryRouteNeedsTheToken) {
  for (const char* path : {"/api/version", "/api/cluster_status", "/api/v0/actors", "/metrics",
                           "/worker/traceback"}) {
    Response r = Get(path, {}, {{"host", kHost}});
    EXPECT_EQ(r.status, 401) << path;
    EXPECT_EQ(Body(r)["result"], false) << path;
  }
  Response page = Get("/tasks", {}, {{"host", kHost}});
  EXPECT_EQ(page.status, 401);
  EXPECT_THAT(page.body, HasSubstr("<form method=\"post\" action=\"/login\">")) << "a page asks to log in";
  EXPECT_EQ(Get("/api/version", {}, {{"host", kHost}, {"authorization", "Bearer wrong"}}).status, 401);
  std::map<std::string, std::string> headers(page.headers.begin(), page.headers.end());
  EXPECT_EQ(headers["X-Frame-Options"], "DENY") << "the login page cannot be framed either";
  EXPECT_TRUE(backend_.asked.empty()) << "nothing reached the cluster";
}

TEST_F(DashboardApiTest, TokenInTheAddressLogsInWithACookieAndLeavesTheAddress) {
  Response r = Get("/tasks", {{"token", kToken}, {"state", "FAILED"}}, {{"host", kHost}});
  EXPECT_EQ(r.status, 303);
  std::map<std::string, std::string> headers(r.headers.begin(), r.headers.end());
  EXPECT_EQ(headers["Location"], "/tasks?state=FAILED");
  EXPECT_THAT(headers["Set-Cookie"], HasSubstr(std::string("ray_dashboard_token=") + kToken));
  EXPECT_THAT(headers["Set-Cookie"], HasSubstr("HttpOnly"));
  EXPECT_THAT(headers["Set-Cookie"], HasSubstr("SameSite=Strict"));
  Response with_cookie = Get("/api/version", {},
                             {{"host", kHost}, {"cookie", std::string("a=b; ray_dashboard_token=") + kToken}});
  EXPECT_EQ(with_cookie.status, 200);
  EXPECT_EQ(Get("/tasks", {{"token", "nope"}}, {{"host", kHost}}).status, 401);
}

TEST_F(DashboardApiTest, LoginFormSetsTheCookieOnlyFromTheSameOrigin) {
  Request login;
  login.method = "POST";
  login.path = "/login";
  login.body = std::string("token=") + kToken;
  login.headers = {{"host", kHost}, {"origin", std::string("http://") + kHost}};
  Response ok = api_.Handle(login);
  EXPECT_EQ(ok.status, 303);
  login.headers["origin"] = "http://evil.example";
  Response cross = api_.Handle(login);
  EXPECT_EQ(cross.status, 403) << "a cross-site form cannot log a browser in (login CSRF)";
  login.headers.erase("origin");
  EXPECT_EQ(api_.Handle(login).status, 403) << "a browser request without Origin or Referer";
  login.headers["referer"] = std::string("http://") + kHost + "/login";
  login.body = "token=wrong";
  EXPECT_EQ(api_.Handle(login).status, 401);
}

TEST_F(DashboardApiTest, AnotherHostNameIsRefused) {
  Response r = Get("/api/version", {}, {{"host", "evil.example:8265"},
                                        {"authorization", std::string("Bearer ") + kToken}});
  EXPECT_EQ(r.status, 421) << "DNS rebinding: the Host is the attacker's name";
}

TEST_F(DashboardApiTest, ClusterStatusAndNodesUseRaysEnvelope) {
  json status = Body(Get("/api/cluster_status"));
  EXPECT_EQ(status["result"], true);
  EXPECT_EQ(status["data"]["clusterStatus"]["nodes"].size(), 2u);
  EXPECT_TRUE(status["data"]["autoscalingStatus"].is_null()) << "no autoscaler runs";
  backend_.status["autoscaler"] = {{"node_types", {{"cpu", {{"running", 2}}}}}};
  status = Body(Get("/api/cluster_status"));
  EXPECT_EQ(status["data"]["autoscalingStatus"]["node_types"]["cpu"]["running"], 2);
  json summary = Body(Get("/nodes", {{"view", "summary"}}));
  ASSERT_EQ(summary["data"]["summary"].size(), 2u);
  EXPECT_EQ(summary["data"]["summary"][0]["object_store"]["used_bytes"], 100);
  EXPECT_FALSE(summary["data"]["summary"][0].contains("report"));
}

TEST_F(DashboardApiTest, ListsFilterPaginateAndSayHowManyMatched) {
  json all = Body(Get("/api/v0/actors"))["data"]["result"];
  EXPECT_EQ(all["total"], 3);
  EXPECT_EQ(all["result"].size(), 3u);
  json dead = Body(Get("/api/v0/actors", {{"state", "DEAD"}, {"limit", "1"}, {"offset", "1"}}))["data"]["result"];
  EXPECT_EQ(dead["total"], 3);
  EXPECT_EQ(dead["num_filtered"], 2) << "how many matched, beyond the page";
  ASSERT_EQ(dead["result"].size(), 1u);
  EXPECT_EQ(dead["result"][0]["actor_id"], "a3");
  json ray_style = Body(Get("/api/v0/actors", {{"filter_keys", "node_id"}, {"filter_predicates", "!="},
                                               {"filter_values", "aa11"}}))["data"]["result"];
  EXPECT_EQ(ray_style["num_filtered"], 1);
  json workers = Body(Get("/api/v0/workers"))["data"]["result"];
  EXPECT_EQ(workers["result"][0]["node_id"], "aa11");
  json objects = Body(Get("/api/v0/objects"))["data"]["result"];
  EXPECT_EQ(objects["result"][0]["object_id"], "o1");
}

TEST_F(DashboardApiTest, TasksComeFromTheEventsAndTheRunningWorkers) {
  json tasks = Body(Get("/api/v0/tasks"))["data"]["result"];
  ASSERT_EQ(tasks["total"], 3);
  EXPECT_EQ(tasks["result"][0]["state"], "RUNNING");
  EXPECT_EQ(tasks["result"][0]["name"], "Busy");
  json failed = Body(Get("/api/v0/tasks", {{"state", "FAILED"}}))["data"]["result"]["result"];
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0]["name"], "Broken");
  EXPECT_EQ(failed[0]["error_type"], "std::runtime_error");
  EXPECT_EQ(failed[0]["node_id"], "aa11");
  EXPECT_EQ(failed[0]["worker_pid"], 42);
  json of_job = Body(Get("/api/v0/tasks", {{"job_id", "01000000"}}))["data"]["result"];
  EXPECT_EQ(of_job["num_filtered"], 3) << "job_id= is the hex id the rows show";
  json summary = Body(Get("/api/v0/tasks/summarize"))["data"]["result"]["summary"];
  EXPECT_EQ(summary["Broken"]["state_counts"]["FAILED"], 1);
  json jobs = Body(Get("/api/v0/jobs"))["data"]["result"]["result"];
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["job_id"], "01000000");
  EXPECT_EQ(jobs[0]["num_tasks"], 3);
  EXPECT_EQ(jobs[0]["num_failed"], 1);
}

TEST_F(DashboardApiTest, MetricsArePrometheusText) {
  Response r = Get("/metrics");
  EXPECT_THAT(r.content_type, HasSubstr("text/plain"));
  EXPECT_THAT(r.body, HasSubstr("ray_tasks{state=\"FAILED\"} 1"));
  EXPECT_THAT(r.body, HasSubstr("ray_actors{state=\"DEAD\"} 2"));
  EXPECT_THAT(r.body, HasSubstr("ray_object_store_used_bytes{node_id=\"aa11\"} 100"));
  EXPECT_THAT(r.body, HasSubstr("ray_resources_used{node_id=\"aa11\",resource=\"CPU\"} 0.5"));
  EXPECT_THAT(r.body, HasSubstr("ray_events_dropped 3"));
  EXPECT_THAT(r.body, HasSubstr("# TYPE ray_tasks gauge"));
}

TEST_F(DashboardApiTest, AClusterThatDoesNotAnswerIsA503SayingSo) {
  backend_.down = true;
  Response r = Get("/api/cluster_status");
  EXPECT_EQ(r.status, 503);
  EXPECT_THAT(Body(r)["msg"].get<std::string>(), HasSubstr("no answer in time"));
}

TEST_F(DashboardApiTest, PagesAreTheAppAndUnknownRoutesAre404) {
  for (const char* page : {"/", "/nodes", "/actors", "/tasks", "/jobs", "/objects", "/logs", "/timeline"}) {
    Response r = Get(page);
    EXPECT_EQ(r.status, 200) << page;
    EXPECT_THAT(r.content_type, HasSubstr("text/html")) << page;
    EXPECT_THAT(r.body, HasSubstr("Ray dashboard")) << page;
  }
  EXPECT_EQ(Get("/api/v0/nothing").status, 404);
  EXPECT_EQ(Get("/nothing").status, 404);
}

}  // namespace
}  // namespace ray::dashboard
