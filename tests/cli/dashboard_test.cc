// The web dashboard of a `ray start --head --include-webui` cluster: its API
// with real HTTP requests, and its pages in a real browser (Debian's
// chromium, headless), whose rendered DOM must show the cluster.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <thread>

#include "tests/cli/cluster_fixture.h"

namespace ray::cli::testing {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;
using nlohmann::json;

using DashboardTest = ClusterTest;

/// A GET of `path` from the dashboard at `url`, with these headers.
httplib::Result Fetch(const std::string& url, const std::string& path, httplib::Headers headers = {}) {
  httplib::Client client(url);
  client.set_read_timeout(60, 0);
  return client.Get(path.c_str(), headers);
}

json Data(const httplib::Result& r) {
  EXPECT_TRUE(r) << "no answer";
  if (!r) return json();
  EXPECT_EQ(r->status, 200) << r->body;
  json body = json::parse(r->body, nullptr, false);
  EXPECT_EQ(body["result"], true) << r->body;
  return body["data"];
}

TEST_F(DashboardTest, ServesTheClusterToWhoHoldsTheToken) {
  StartCluster(/*webui=*/true);
  RunResult token_run = RayEnv({"get-auth-token"});
  ASSERT_EQ(token_run.code, 0) << token_run.err;
  const std::string token = token_run.out.substr(0, token_run.out.find('\n'));
  const httplib::Headers bearer = {{"Authorization", "Bearer " + token}};
  json ids = StartDriver();
  ASSERT_TRUE(ids.is_object()) << "the driver did not report";
  EXPECT_EQ(ids["webui_url"], webui_) << "ray::GetWebuiUrl() from a driver of the cluster";

  auto anonymous = Fetch(webui_, "/api/version");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  auto version = Fetch(webui_, "/api/version", bearer);
  ASSERT_TRUE(version);
  EXPECT_EQ(version->status, 200);

  json nodes = Data(Fetch(webui_, "/api/v0/nodes", bearer))["result"];
  EXPECT_EQ(nodes["total"], 3);
  json actors = Data(Fetch(webui_, "/api/v0/actors?state=ALIVE", bearer))["result"];
  ASSERT_EQ(actors["num_filtered"], 1);
  EXPECT_EQ(actors["result"][0]["actor_id"], ids["actor_id"]);
  json tasks = Data(Fetch(webui_, "/api/v0/tasks?limit=1&filter_keys=name&filter_values=Outer", bearer))["result"];
  ASSERT_EQ(tasks["num_filtered"], 1) << tasks.dump();
  EXPECT_EQ(tasks["result"][0]["state"], "FINISHED");
  EXPECT_EQ(tasks["result"][0]["worker_pid"], ids["outer_pid"]);
  // The blocked task's worker: its stack and its log through the dashboard.
  json running = Data(Fetch(webui_, "/api/v0/tasks?state=RUNNING&name=ObserveTestBlockedInHere", bearer))["result"];
  ASSERT_EQ(running["num_filtered"], 1) << running.dump();
  const std::string node = running["result"][0]["node_id"];
  const std::string pid = std::to_string(running["result"][0]["worker_pid"].get<int>());
  auto stack = Fetch(webui_, "/worker/traceback?pid=" + pid + "&node_id=" + node, bearer);
  ASSERT_TRUE(stack);
  EXPECT_THAT(stack->body, HasSubstr("ObserveTestBlockedInHere"));
  auto log = Fetch(webui_, "/api/v0/logs/file?node_id=" + node + "&pid=" + pid + "&lines=5", bearer);
  ASSERT_TRUE(log);
  EXPECT_THAT(log->body, HasSubstr("blocked tick"));
  // The other routes, each answering for this cluster.
  json summary = Data(Fetch(webui_, "/api/v0/tasks/summarize", bearer))["result"]["summary"];
  EXPECT_EQ(summary["FailVisibly"]["state_counts"]["FAILED"], 1) << summary.dump();
  json jobs = Data(Fetch(webui_, "/api/v0/jobs", bearer))["result"];
  ASSERT_EQ(jobs["total"], 1);
  EXPECT_EQ(jobs["result"][0]["state"], "RUNNING");
  EXPECT_THAT(jobs["result"][0]["entrypoint"].get<std::string>(), HasSubstr("observe_driver"));
  EXPECT_EQ(jobs["result"][0]["num_failed"], 1);
  json workers = Data(Fetch(webui_, "/api/v0/workers?limit=2", bearer))["result"];
  EXPECT_GE(workers["total"].get<int>(), 3);
  EXPECT_EQ(workers["result"].size(), 2u) << "limit";
  json objects = Data(Fetch(webui_, "/api/v0/objects?filter_keys=where&filter_values=shared_memory", bearer))["result"];
  ASSERT_EQ(objects["num_filtered"], 1) << objects.dump();
  EXPECT_EQ(objects["result"][0]["object_id"], ids["object_id"]);
  json files = Data(Fetch(webui_, "/api/v0/logs?node_id=" + node, bearer))["result"];
  EXPECT_GE(files["total"].get<int>(), 2) << "the blocked worker's .out and .err at least";
  json summary_nodes = Data(Fetch(webui_, "/nodes?view=summary", bearer))["summary"];
  EXPECT_EQ(summary_nodes.size(), 3u);
  json status = Data(Fetch(webui_, "/api/cluster_status", bearer))["clusterStatus"];
  EXPECT_EQ(status["actors_by_state"]["ALIVE"], 1);
  json alive = Data(Fetch(webui_, "/api/v0/actors?state=ALIVE", bearer))["result"]["result"][0];
  EXPECT_EQ(alive["pid"], ids["actor_pid"]) << "the actor's worker process";
  auto trace = Fetch(webui_, "/api/v0/tasks/timeline", bearer);
  ASSERT_TRUE(trace);
  json events = json::parse(trace->body, nullptr, false);
  ASSERT_TRUE(events.is_array());
  bool outer_span = false;
  for (const auto& e : events) outer_span |= e.value("ph", "") == "X" && e.value("name", "") == "Outer";
  EXPECT_TRUE(outer_span);
  auto metrics = Fetch(webui_, "/metrics", bearer);
  ASSERT_TRUE(metrics);
  EXPECT_THAT(metrics->body, HasSubstr("ray_actors{state=\"ALIVE\"} 1"));

  // A browser logs in once with ?token=, and the token leaves the address.
  auto login = Fetch(webui_, "/tasks?token=" + token);
  ASSERT_TRUE(login);
  EXPECT_EQ(login->status, 303);
  EXPECT_EQ(login->get_header_value("Location"), "/tasks");
  const std::string cookie = login->get_header_value("Set-Cookie");
  EXPECT_THAT(cookie, HasSubstr("HttpOnly"));
  auto page = Fetch(webui_, "/tasks", {{"Cookie", cookie.substr(0, cookie.find(';'))}});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_THAT(page->body, HasSubstr("Ray dashboard"));
  // A cross-site request that would change state, and another Host, are refused.
  httplib::Client client(webui_);
  auto cross = client.Post("/login", {{"Origin", "http://evil.example"}}, "token=" + token,
                           "application/x-www-form-urlencoded");
  ASSERT_TRUE(cross);
  EXPECT_EQ(cross->status, 403);
  auto rebinding =
      Fetch(webui_, "/api/version", {{"Host", "evil.example"}, {"Authorization", "Bearer " + token}});
  ASSERT_TRUE(rebinding);
  EXPECT_EQ(rebinding->status, 421);
  ASSERT_EQ(EndDriver(), 0);
}

TEST_F(DashboardTest, FinishedTasksAndDeadActorsStayVisibleAfterAHeadRestart) {
  const std::string gcs_dir = temp_dir_ + "/gcs";
  StartCluster(/*webui=*/true, gcs_dir);
  json ids = StartDriver();
  ASSERT_TRUE(ids.is_object()) << "the driver did not report";
  ASSERT_EQ(EndDriver(), 0);
  // The job's last events reach the GCS a little after its driver ends (its
  // workers on the other nodes flush when job_end reaches their raylets):
  // what the live dashboard shows is what must survive.
  RunResult live_token = RayEnv({"get-auth-token"});
  const httplib::Headers live_bearer = {
      {"Authorization", "Bearer " + live_token.out.substr(0, live_token.out.find('\n'))}};
  json shown;
  for (int i = 0; i < 100; ++i) {
    auto r = Fetch(webui_, "/api/v0/tasks?filter_keys=name&filter_values=Outer", live_bearer);
    if (r && r->status == 200) shown = json::parse(r->body)["data"]["result"];
    if (shown.value("num_filtered", 0) == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(shown.value("num_filtered", 0), 1) << shown.dump();
  RunResult stop = RayEnv({"stop"});
  ASSERT_EQ(stop.code, 0) << stop.err;
  // The head alone, on the same GCS directory.
  RunResult again = RayEnv({"start", "--head", "--port", "0", "--num-cpus", "1", "--include-webui",
                            "--dashboard-port", "0", "--gcs-dir", gcs_dir, "--object-store-memory",
                            "100000000", "--temp-dir", temp_dir_});
  ASSERT_EQ(again.code, 0) << again.err;
  const std::string url = Between(again.out, "Dashboard: ", "  ");
  RunResult token_run = RayEnv({"get-auth-token"});
  const httplib::Headers bearer = {
      {"Authorization", "Bearer " + token_run.out.substr(0, token_run.out.find('\n'))}};
  json outer = Data(Fetch(url, "/api/v0/tasks?name=Outer", bearer))["result"];
  ASSERT_EQ(outer["num_filtered"], 1) << outer.dump();
  EXPECT_EQ(outer["result"][0]["state"], "FINISHED");
  json failed = Data(Fetch(url, "/api/v0/tasks?state=FAILED", bearer))["result"];
  ASSERT_EQ(failed["num_filtered"], 1) << failed.dump();
  EXPECT_EQ(failed["result"][0]["error_message"], "dashboard-visible failure");
  json actors = Data(Fetch(url, "/api/v0/actors", bearer))["result"]["result"];
  bool dead_talker = false;
  for (const auto& a : actors) dead_talker |= a["actor_id"] == ids["actor_id"] && a["state"] == "DEAD";
  EXPECT_TRUE(dead_talker) << actors.dump();
  json jobs = Data(Fetch(url, "/api/v0/jobs", bearer))["result"];
  ASSERT_EQ(jobs["total"], 1) << jobs.dump();
  EXPECT_EQ(jobs["result"][0]["state"], "FINISHED") << "the ended job, with its end";
  EXPECT_TRUE(jobs["result"][0].contains("end_time_ms"));
}

TEST_F(DashboardTest, IsServedOverHttpsWhenTheClusterUsesTls) {
  const std::string dir = temp_dir_ + "/tls";
  RunResult certs = RayEnv({"create-tls-certs", dir});
  ASSERT_EQ(certs.code, 0) << certs.err;
  env_["RAY_USE_TLS"] = "1";
  env_["RAY_TLS_SERVER_CERT"] = dir + "/node.crt";
  env_["RAY_TLS_SERVER_KEY"] = dir + "/node.key";
  env_["RAY_TLS_CA_CERT"] = dir + "/ca.crt";
  RunResult head = RayEnv({"start", "--head", "--port", "0", "--num-cpus", "1", "--include-webui",
                           "--dashboard-port", "0", "--object-store-memory", "100000000",
                           "--temp-dir", temp_dir_});
  ASSERT_EQ(head.code, 0) << head.err;
  const std::string url = Between(head.out, "Dashboard: ", "  ");
  ASSERT_EQ(url.rfind("https://127.0.0.1:", 0), 0u) << head.out;
  RunResult token_run = RayEnv({"get-auth-token"});
  const std::string token = token_run.out.substr(0, token_run.out.find('\n'));
  httplib::Client client(url);
  client.set_ca_cert_path((dir + "/ca.crt").c_str());
  client.enable_server_certificate_verification(false);  // the nodes' certificate names no host
  auto version = client.Get("/api/version", {{"Authorization", "Bearer " + token}});
  ASSERT_TRUE(version) << "no HTTPS answer";
  EXPECT_EQ(version->status, 200);
  const std::string port = url.substr(url.rfind(':') + 1);
  httplib::Client plain("http://127.0.0.1:" + port);
  plain.set_read_timeout(3, 0);
  auto refused = plain.Get("/api/version", {{"Authorization", "Bearer " + token}});
  EXPECT_TRUE(!refused || refused->status != 200) << "plain HTTP must get nothing";
}

// -- in a real browser ----------------------------------------------------------

class DashboardBrowserTest : public ClusterTest {
 protected:
  /// The DOM chromium renders at `url` once the page's scripts ran (5 s of
  /// virtual time, so its API requests are answered and drawn).
  std::string Dom(const std::string& url) {
    RunResult r = RunProgram(Chromium({"--dump-dom", url}), {});
    EXPECT_EQ(r.code, 0) << r.err;
    return r.out;
  }
  /// A screenshot of `url` in <build>/dashboard-screenshots/<name>.png (CI keeps them).
  void Screenshot(const std::string& url, const std::string& name) {
    const std::string dir = RAY_SCREENSHOT_DIR;
    std::filesystem::create_directories(dir);
    RunResult r = RunProgram(Chromium({"--window-size=1280,800", "--hide-scrollbars",
                                       "--screenshot=" + dir + "/" + name + ".png", url}),
                             {});
    EXPECT_EQ(r.code, 0) << r.err;
  }
  /// The text a reader sees in `dom`: no scripts or styles, no tags, the entities decoded.
  static std::string VisibleText(const std::string& dom) {
    std::string text;
    for (size_t at = 0; at < dom.size();) {
      const size_t open = dom.find('<', at);
      text += dom.substr(at, open - at) + " ";
      if (open == std::string::npos) break;
      const size_t close = dom.find('>', open);
      const std::string tag = dom.substr(open, 7);
      at = close == std::string::npos ? dom.size() : close + 1;
      for (const char* skipped : {"script", "style"}) {  // their bodies are no text
        if (tag.rfind(std::string("<") + skipped, 0) != 0) continue;
        const size_t end = dom.find(std::string("</") + skipped, at);
        at = end == std::string::npos ? dom.size() : end;
      }
    }
    for (const auto& [entity, c] : std::vector<std::pair<std::string, std::string>>{
             {"&quot;", "\""}, {"&#39;", "'"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&nbsp;", " "}, {"&amp;", "&"}}) {
      for (size_t at = text.find(entity); at != std::string::npos; at = text.find(entity, at + c.size())) {
        text.replace(at, entity.size(), c);
      }
    }
    return text;
  }
  /// The three-node cluster with the dashboard; `*token` is its auth token.
  void StartWithDashboard(std::string* token) {
    StartCluster(/*webui=*/true);
    RunResult token_run = RayEnv({"get-auth-token"});
    ASSERT_EQ(token_run.code, 0) << token_run.err;
    *token = token_run.out.substr(0, token_run.out.find('\n'));
  }

  std::vector<std::string> Chromium(std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
                                     "--user-data-dir=" + temp_dir_ + "/chromium",
                                     "--virtual-time-budget=5000"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
};

TEST_F(DashboardBrowserTest, PagesShowTheClusterAfterALoginAndNothingBefore) {
  std::string token;
  ASSERT_NO_FATAL_FAILURE(StartWithDashboard(&token));
  json ids = StartDriver();
  ASSERT_TRUE(ids.is_object()) << "the driver did not report";

  // Without the token: the login form, and none of the cluster.
  std::string anonymous = Dom(webui_ + "/tasks?state=FAILED");
  EXPECT_THAT(anonymous, HasSubstr("action=\"/login\""));
  EXPECT_THAT(anonymous, ::testing::Not(HasSubstr("dashboard-visible failure")));

  RunResult status = RayEnv({"status", "--format", "json"});
  ASSERT_EQ(status.code, 0) << status.err;
  json cluster = json::parse(status.out);
  std::string overview = Dom(webui_ + "/?token=" + token);
  for (const auto& node : cluster["nodes"]) {
    EXPECT_THAT(overview, HasSubstr(node["node_id"].get<std::string>().substr(0, 8))) << overview;
  }
  EXPECT_THAT(overview, HasSubstr("(head)"));
  std::string actors = Dom(webui_ + "/actors?token=" + token);
  EXPECT_THAT(actors, HasSubstr(">talker<"));
  EXPECT_THAT(actors, HasSubstr(">ALIVE<"));
  std::string failed = Dom(webui_ + "/tasks?state=FAILED&token=" + token);
  EXPECT_THAT(failed, HasSubstr("std::runtime_error: dashboard-visible failure"));
  EXPECT_THAT(failed, HasSubstr(">FailVisibly<"));
  // The actor's worker's log, by node and pid from the cluster's status.
  std::string node, pid;
  for (const auto& n : cluster["nodes"]) {
    for (const auto& w : n["report"]["workers"]) {
      if (w["actor_id"] == ids["actor_id"]) {
        node = n["node_id"];
        pid = std::to_string(w["pid"].get<int>());
      }
    }
  }
  ASSERT_FALSE(pid.empty()) << status.out;
  std::string logs = Dom(webui_ + "/logs?node_id=" + node + "&pid=" + pid + "&token=" + token);
  EXPECT_THAT(logs, HasSubstr("talker says observe-marker-7"));

  for (const char* page : {"", "nodes", "actors", "tasks", "jobs", "objects", "timeline"}) {
    Screenshot(webui_ + "/" + page + "?token=" + token, *page ? page : "overview");
  }
  Screenshot(webui_ + "/logs?node_id=" + node + "&pid=" + pid + "&token=" + token, "logs");
  Screenshot(webui_ + "/tasks", "login");
  ASSERT_EQ(EndDriver(), 0);
}

// Issue 21, item 6: the overview showed `actors: {"ALIVE":1}` and an unlabelled chart.
TEST_F(DashboardBrowserTest, OverviewShowsCountsAsWordsAndALabelledChart) {
  std::string token;
  ASSERT_NO_FATAL_FAILURE(StartWithDashboard(&token));
  json ids = StartDriver();
  ASSERT_TRUE(ids.is_object()) << "the driver did not report";

  const std::string overview = Dom(webui_ + "/?token=" + token);
  const std::string text = VisibleText(overview);
  EXPECT_THAT(text, Not(HasSubstr("{\""))) << text;
  EXPECT_THAT(text, HasSubstr("3 nodes alive, 0 dead; actors: 1 alive")) << text;
  // The tasks-finished chart: tasks on y with numeric ticks, clock times on x,
  // and each bar's time and count on hover (the driver's tasks ended just now).
  EXPECT_THAT(overview, HasSubstr(">tasks</text>"));
  EXPECT_THAT(overview, HasSubstr(">time</text>"));
  EXPECT_THAT(overview, HasSubstr(">0</text>")) << "a y tick";
  EXPECT_THAT(overview, ContainsRegex(">[0-9][0-9]:[0-9][0-9]</text>"));
  EXPECT_THAT(overview, ContainsRegex("<title>[0-9:]+[^<]*: [1-9][0-9]* tasks? finished[^<]*</title>"));
  Screenshot(webui_ + "/?token=" + token, "overview-chart");
  // No other page shows JSON either.
  for (const char* page : {"nodes", "actors", "tasks", "jobs", "objects", "timeline", "logs"}) {
    const std::string shown = VisibleText(Dom(webui_ + "/" + page + "?token=" + token));
    EXPECT_THAT(shown, HasSubstr("Overview")) << page << " did not render";
    EXPECT_THAT(shown, Not(HasSubstr("{\""))) << page << ": " << shown;
  }
  ASSERT_EQ(EndDriver(), 0);
}

}  // namespace
}  // namespace ray::cli::testing
