// The dashboard's API and auth with a fake backend: deterministic, no
// processes, no sockets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "actors/common/profile_events.h"
#include "actors/common/protocol.h"
#include "actors/dashboard/dashboard_api.h"
#include "actors/dashboard/dashboard_limits.h"
#include "actors/dashboard/dashboard_session.h"

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
    *out = (kind == "memory" ? memory : kind == "metrics" ? metrics : status).dump();
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
  json metrics = {{"nodes",
                   {{{"node_id", "aa11"},
                     {"report",
                      {{"metrics",
                        {{{"kind", 0}, {"name", "served"}, {"description", "requests"}, {"unit", ""},
                          {"tag_keys", {"route"}}, {"boundaries", json::array()},
                          {"series", {{{"tags", {"/a"}}, {"value", 4}, {"set_us", 0},
                                       {"buckets", json::array()}, {"sum", 0}, {"count", 0}}}}}}}}}}}}};
  events::StoredBatch batch;
  bool down = false;
  std::vector<std::string> asked;
};

class FakeClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override { return now; }
  std::chrono::system_clock::time_point now = std::chrono::system_clock::time_point(std::chrono::hours(500000));
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
  static std::string HeaderOf(const Response& r, const std::string& name) {
    for (const auto& [key, value] : r.headers) {
      if (key == name) return value;
    }
    return "";
  }
  /// The session cookie a ?token= login sets, as a Cookie header sends it back.
  std::string LogIn() {
    const std::string set = HeaderOf(Get("/", {{"token", kToken}}, {{"host", kHost}}), "Set-Cookie");
    return set.substr(0, set.find(';'));
  }
  int StatusWithCookie(const std::string& cookie) {
    return Get("/api/version", {}, {{"host", kHost}, {"cookie", cookie}}).status;
  }
  /// A request with these headers (the body is not there yet: Preflight sees headers only).
  Request Headed(const std::string& method, const std::string& path, Headers headers) {
    Request r;
    r.method = method;
    r.path = path;
    r.headers = std::move(headers);
    r.headers.emplace("host", kHost);
    return r;
  }

  FakeBackend backend_;
  FakeClock clock_;
  Api api_{&backend_, Settings{kToken, {kHost, "localhost:8265"}, false, "0.1.0"}, &clock_};
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
  EXPECT_THAT(headers["Set-Cookie"], HasSubstr("ray_dashboard_session="));
  EXPECT_THAT(headers["Set-Cookie"], HasSubstr("HttpOnly"));
  EXPECT_THAT(headers["Set-Cookie"], HasSubstr("SameSite=Strict"));
  const std::string cookie = headers["Set-Cookie"].substr(0, headers["Set-Cookie"].find(';'));
  EXPECT_EQ(StatusWithCookie("a=b; " + cookie), 200);
  EXPECT_EQ(Get("/tasks", {{"token", "nope"}}, {{"host", kHost}}).status, 401);
}

// Issue 22, item 7: the cookie was the cluster token itself, for ever.
TEST_F(DashboardApiTest, SessionCookieIsNotTheTokenAndExpires) {
  const std::string cookie = LogIn();
  ASSERT_THAT(cookie, HasSubstr("ray_dashboard_session="));
  EXPECT_THAT(cookie, ::testing::Not(HasSubstr(kToken)));
  EXPECT_NE(LogIn(), cookie) << "each login its own session";
  Response r = Get("/", {{"token", kToken}}, {{"host", kHost}});
  EXPECT_THAT(HeaderOf(r, "Set-Cookie"),
              HasSubstr("Max-Age=" + std::to_string(kSessionLifetime.count())));
  EXPECT_EQ(StatusWithCookie(cookie), 200);
  clock_.now += kSessionLifetime - std::chrono::seconds(1);
  EXPECT_EQ(StatusWithCookie(cookie), 200) << "a second before its end";
  clock_.now += std::chrono::seconds(1);
  EXPECT_EQ(StatusWithCookie(cookie), 401) << "expired";
  EXPECT_EQ(StatusWithCookie(std::string("ray_dashboard_session=") + kToken), 401) << "the token is no session";
  EXPECT_EQ(StatusWithCookie(std::string("ray_dashboard_token=") + kToken), 401) << "nor the old cookie";
}

TEST_F(DashboardApiTest, ASessionCannotBeForgedOrExtended) {
  const std::string cookie = LogIn();
  const std::string value = cookie.substr(cookie.find('=') + 1);
  const size_t first = value.find('.'), second = value.find('.', first + 1);
  ASSERT_NE(second, std::string::npos) << value;
  const int64_t expiry = std::stoll(value.substr(first + 1, second - first - 1));
  const std::string later = value.substr(0, first + 1) + std::to_string(expiry + 3600) + value.substr(second);
  EXPECT_EQ(StatusWithCookie("ray_dashboard_session=" + later), 401) << "a later expiry breaks the MAC";
  std::string flipped = value;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  EXPECT_EQ(StatusWithCookie("ray_dashboard_session=" + flipped), 401);
  // Another server's session (another token) is none here either.
  FakeClock clock;
  clock.now = clock_.now;
  Sessions other("another-token", &clock);
  EXPECT_EQ(StatusWithCookie("ray_dashboard_session=" + other.Create()), 401);
}

TEST_F(DashboardApiTest, LogoutRevokesTheSession) {
  const std::string cookie = LogIn();
  const std::string kept = LogIn();
  Request logout = Headed("POST", "/logout", {{"origin", std::string("http://") + kHost}, {"cookie", cookie}});
  Response out = api_.Handle(logout);
  EXPECT_EQ(out.status, 303);
  EXPECT_THAT(HeaderOf(out, "Set-Cookie"), HasSubstr("Max-Age=0"));
  EXPECT_EQ(StatusWithCookie(cookie), 401) << "revoked";
  EXPECT_EQ(StatusWithCookie(kept), 200) << "another browser's session stays";
  logout.headers["origin"] = "http://evil.example";
  logout.headers["cookie"] = kept;
  EXPECT_EQ(api_.Handle(logout).status, 403) << "no cross-site logout";
  EXPECT_EQ(StatusWithCookie(kept), 200);
}

// Issue 22, item 7: GET //evil.com/?token=... redirected to //evil.com/.
TEST_F(DashboardApiTest, TokenLoginRedirectsOnlyToAPathOfThisServer) {
  for (const char* path : {"//evil.com/", "//evil.com", "/\\evil.com/", "///evil.com"}) {
    Response r = Get(path, {{"token", kToken}}, {{"host", kHost}});
    EXPECT_EQ(r.status, 303) << path;
    EXPECT_EQ(HeaderOf(r, "Location"), "/") << path;
  }
  Response encoded = Get("/logs", {{"token", kToken}, {"pid", "1\r\nSet-Cookie: x=y"}}, {{"host", kHost}});
  EXPECT_EQ(HeaderOf(encoded, "Location"), "/logs?pid=1%0D%0ASet-Cookie%3A%20x%3Dy");
}

// Issue 22, item 2: a 1 GiB POST without a token was read whole before its 403.
TEST_F(DashboardApiTest, BodiesAreRefusedFromTheirHeaders) {
  const std::string gib = std::to_string(1ull << 30);
  std::optional<Response> anonymous = api_.Preflight(Headed("POST", "/api/v0/jobs", {{"content-length", gib}}));
  ASSERT_TRUE(anonymous) << "answered before the body";
  EXPECT_GE(anonymous->status, 400);
  std::optional<Response> big = api_.Preflight(Headed(
      "POST", "/api/v0/jobs",
      {{"content-length", gib}, {"authorization", std::string("Bearer ") + kToken}}));
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413) << "no route takes a body but the login";
  std::optional<Response> get = api_.Preflight(Headed(
      "GET", "/api/version", {{"content-length", "10"}, {"authorization", std::string("Bearer ") + kToken}}));
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 413) << "a GET has none";
  std::optional<Response> chunked = api_.Preflight(Headed(
      "POST", "/login", {{"transfer-encoding", "chunked"}, {"origin", std::string("http://") + kHost}}));
  ASSERT_TRUE(chunked);
  EXPECT_EQ(chunked->status, 411) << "a body of unknown length is refused";
  const Headers same_origin = {{"origin", std::string("http://") + kHost}};
  Request login = Headed("POST", "/login", same_origin);
  login.headers["content-length"] = std::to_string(kMaxLoginBody + 1);
  ASSERT_TRUE(api_.Preflight(login));
  EXPECT_EQ(api_.Preflight(login)->status, 413);
  login.headers["content-length"] = "70";
  EXPECT_FALSE(api_.Preflight(login)) << "the login form may send its body";
  EXPECT_FALSE(api_.Preflight(Headed("GET", "/api/version", {{"authorization", std::string("Bearer ") + kToken}})));
  EXPECT_TRUE(backend_.asked.empty());
}

// Issue 22, item 8: /worker/traceback ran gdb on every worker, then filtered.
TEST_F(DashboardApiTest, TracebackAsksTheNodesForThatPidOnly) {
  Response r = Get("/worker/traceback", {{"pid", "42"}, {"node_id", "aa11"}});
  EXPECT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(backend_.asked.size(), 1u);
  EXPECT_EQ(backend_.asked[0], R"(stack {"node":"aa11","pid":42})");
  EXPECT_EQ(Get("/worker/traceback", {{"pid", "43"}}).status, 404) << "no worker has it";
  for (const char* pid : {"", "abc", "-1", "0", "42; rm -rf /", "99999999999"}) {
    EXPECT_EQ(Get("/worker/traceback", {{"pid", pid}}).status, 400) << pid;
  }
  EXPECT_EQ(backend_.asked.size(), 2u) << "a malformed pid reaches no node";
}

TEST_F(DashboardApiTest, ASecondTracebackWhileANodeTakesOneIsA429) {
  backend_.status["nodes"][0]["report"] = {
      {"workers", json::array()}, {"busy", true}, {"error", "another stack capture is running on this node"}};
  Response r = Get("/worker/traceback", {{"pid", "42"}});
  EXPECT_EQ(r.status, 429);
  EXPECT_THAT(Body(r)["msg"].get<std::string>(), HasSubstr("another stack capture"));
}

TEST(ConnectionCount, RefusesPastTheLimitOfOneAddressOnly) {
  ConnectionCount count(2);
  EXPECT_TRUE(count.TryAdd("127.0.0.2"));
  EXPECT_TRUE(count.TryAdd("127.0.0.2"));
  EXPECT_FALSE(count.TryAdd("127.0.0.2"));
  EXPECT_TRUE(count.TryAdd("127.0.0.1")) << "another address has its own";
  EXPECT_EQ(count.open(), 3u);
  count.Remove("127.0.0.2");
  EXPECT_TRUE(count.TryAdd("127.0.0.2"));
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
  // The user metrics of every node, labelled with it.
  EXPECT_THAT(r.body, HasSubstr("# TYPE ray_served counter"));
  EXPECT_THAT(r.body, HasSubstr("ray_served{route=\"/a\",NodeId=\"aa11\"} 4"));
}

TEST_F(DashboardApiTest, PlacementGroupsAreListedAsRaysRoute) {
  backend_.status["placement_groups"] = {
      {{"placement_group_id", "p1"}, {"name", "spread"}, {"strategy", "STRICT_SPREAD"},
       {"state", "CREATED"}},
      {{"placement_group_id", "p2"}, {"name", ""}, {"strategy", "PACK"}, {"state", "PENDING"}}};
  json all = Body(Get("/api/v0/placement_groups"))["data"]["result"];
  EXPECT_EQ(all["total"], 2);
  json pending = Body(Get("/api/v0/placement_groups", {{"state", "PENDING"}}))["data"]["result"];
  ASSERT_EQ(pending["result"].size(), 1u) << pending.dump();
  EXPECT_EQ(pending["result"][0]["placement_group_id"], "p2");
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
