// The web dashboard of a `ray start --head --include-webui` cluster: its API
// with real HTTP requests, and its pages in a real browser (Debian's
// chromium, headless), whose rendered DOM must show the cluster.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
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

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// VmRSS and VmHWM of `pid`, in kB (/proc/<pid>/status).
std::pair<int64_t, int64_t> Memory(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  int64_t rss = -1, hwm = -1;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) rss = std::stoll(line.substr(6));
    if (line.rfind("VmHWM:", 0) == 0) hwm = std::stoll(line.substr(6));
  }
  return {rss, hwm};
}

/// A TCP connection to 127.0.0.1:`port` from `source` (another loopback
/// address stands for another client); -1 when it cannot connect.
int Connect(int port, const char* source = "127.0.0.1") {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &from.sin_addr);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

/// What is readable on `fd` within `ms`: the bytes, "" at its end (closed), or nullopt when none came.
std::optional<std::string> ReadSome(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, ms) <= 0) return std::nullopt;
  char buf[4096];
  ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return std::nullopt;
  return n <= 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

int PortOf(const std::string& url) { return std::stoi(url.substr(url.rfind(':') + 1)); }

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

// Issue 22, item 8: /worker/traceback?pid=P ran gdb on every worker, then
// kept P's stack (3.6-6.5 s each time). A gdb on PATH logs each attach, then
// runs the real one (and, while `hold` exists, first waits 3 s).
TEST_F(DashboardTest, TracebackAttachesToThatWorkerOnlyAndOneAtATime) {
  const std::string bin = temp_dir_ + "/bin", log = temp_dir_ + "/gdb.log", hold = temp_dir_ + "/hold";
  std::filesystem::create_directories(bin);
  std::ofstream(bin + "/gdb") << "#!/bin/sh\necho \"$*\" >> " << log << "\n[ -e " << hold
                              << " ] && sleep 3\nexec /usr/bin/gdb \"$@\"\n";
  std::filesystem::permissions(bin + "/gdb", std::filesystem::perms::owner_all);
  env_["PATH"] = bin + ":" + std::getenv("PATH");
  StartCluster(/*webui=*/true);
  RunResult token_run = RayEnv({"get-auth-token"});
  ASSERT_EQ(token_run.code, 0) << token_run.err;
  const httplib::Headers bearer = {{"Authorization", "Bearer " + token_run.out.substr(0, token_run.out.find('\n'))}};
  json ids = StartDriver();
  ASSERT_TRUE(ids.is_object()) << "the driver did not report";
  json running = Data(Fetch(webui_, "/api/v0/tasks?state=RUNNING&name=ObserveTestBlockedInHere", bearer))["result"];
  ASSERT_EQ(running["num_filtered"], 1) << running.dump();
  const std::string node = running["result"][0]["node_id"];
  const std::string pid = std::to_string(running["result"][0]["worker_pid"].get<int>());
  json workers = Data(Fetch(webui_, "/api/v0/workers", bearer))["result"];
  ASSERT_GE(workers["total"].get<int>(), 3) << "workers that must not be attached to";
  auto attaches = [&] {
    std::ifstream in(log);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  };

  auto start = Clock::now();
  auto stack = Fetch(webui_, "/worker/traceback?pid=" + pid + "&node_id=" + node, bearer);
  const double one_node = SecondsSince(start);
  ASSERT_TRUE(stack);
  EXPECT_EQ(stack->status, 200);
  EXPECT_THAT(stack->body, HasSubstr("ObserveTestBlockedInHere"));
  ASSERT_EQ(attaches().size(), 1u);
  EXPECT_THAT(attaches()[0], HasSubstr("-p " + pid + " ")) << "that worker only";
  start = Clock::now();
  auto anywhere = Fetch(webui_, "/worker/traceback?pid=" + pid, bearer);  // every node is asked
  const double every_node = SecondsSince(start);
  ASSERT_TRUE(anywhere);
  EXPECT_EQ(anywhere->status, 200);
  EXPECT_EQ(attaches().size(), 2u) << "no node attaches to a process it has no worker of";
  std::cout << "traceback of pid " << pid << ": " << one_node << " s (its node named), " << every_node
            << " s (every node asked), " << workers["total"] << " workers in the cluster\n";
  // Not a worker of this cluster: this test, a node's raynode (raynode-<pid>.json in the registry), init.
  std::vector<std::string> records = RegistryRecords();
  ASSERT_FALSE(records.empty());
  const std::string raynode = Between(records[0], "raynode-", ".json");
  for (const std::string& other : {std::to_string(getpid()), raynode, std::string("1")}) {
    auto refused = Fetch(webui_, "/worker/traceback?pid=" + other, bearer);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 404) << other << ": " << refused->body;
  }
  EXPECT_EQ(attaches().size(), 2u) << "nothing attached to a process that is not a worker";

  // One at a time on a node: while one traceback holds gdb, a second is refused at once.
  std::ofstream(hold) << "";
  auto first = std::async(std::launch::async, [&] {
    return Fetch(webui_, "/worker/traceback?pid=" + pid + "&node_id=" + node, bearer);
  });
  std::string text;
  ASSERT_TRUE(WaitForMatch(log, "(.*\n){3}", 10000, &text)) << text;
  start = Clock::now();
  auto second = Fetch(webui_, "/worker/traceback?pid=" + pid + "&node_id=" + node, bearer);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 429) << second->body;
  EXPECT_LT(SecondsSince(start), 1.0);
  auto first_answer = first.get();
  ASSERT_TRUE(first_answer);
  EXPECT_EQ(first_answer->status, 200);
  std::filesystem::remove(hold);
  EXPECT_EQ(attaches().size(), 3u);
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
  // A TLS handshake has a deadline too (issue 22, item 5): a client that never sends one is dropped.
  int silent = Connect(std::stoi(port));
  ASSERT_GE(silent, 0);
  const auto start = Clock::now();
  std::optional<std::string> end = ReadSome(silent, 10000);
  EXPECT_TRUE(end && end->empty()) << "closed";
  EXPECT_LT(SecondsSince(start), 4.5);
  ::close(silent);
}

// -- what one client may take of the server (issue 22) --------------------------

class DashboardLimitsTest : public ClusterTest {
 protected:
  /// The head alone, with the dashboard.
  void StartHead() {
    RunResult head = RayEnv({"start", "--head", "--port", "0", "--num-cpus", "1", "--include-webui",
                             "--dashboard-port", "0", "--object-store-memory", "100000000",
                             "--temp-dir", temp_dir_});
    ASSERT_EQ(head.code, 0) << head.err;
    url_ = Between(head.out, "Dashboard: ", "  ");
    head_pid_ = StartedPid(head.out);
    ASSERT_GT(head_pid_, 0) << head.out;
    RunResult token_run = RayEnv({"get-auth-token"});
    ASSERT_EQ(token_run.code, 0) << token_run.err;
    token_ = token_run.out.substr(0, token_run.out.find('\n'));
  }
  /// Sends `head`, then body bytes as fast as the server takes them, up to
  /// `max_bytes` or for 5 s, without reading (a client that does not care for
  /// the answer); then returns the answer's first bytes ("" when the server
  /// reset the connection), with `*sent` the body bytes the server's socket took.
  std::string PostHuge(const std::string& head, size_t max_bytes, size_t* sent) {
    int fd = Connect(PortOf(url_));
    EXPECT_GE(fd, 0);
    if (fd < 0) return "";
    EXPECT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
    const std::string chunk(1 << 20, 'x');
    *sent = 0;
    const auto start = Clock::now();
    while (*sent < max_bytes && SecondsSince(start) < 5) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      ssize_t n = ::send(fd, chunk.data(), std::min(chunk.size(), max_bytes - *sent), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) break;  // closed by the server
      if (n > 0) *sent += static_cast<size_t>(n);
    }
    std::string answer;
    for (int i = 0; i < 20 && answer.find("\r\n") == std::string::npos; ++i) {
      std::optional<std::string> got = ReadSome(fd, 100);
      if (got && got->empty()) break;
      if (got) answer += *got;
    }
    ::close(fd);
    return answer;
  }
  std::string Host() const { return "127.0.0.1:" + std::to_string(PortOf(url_)); }

  std::string url_;
  pid_t head_pid_ = 0;
  std::string token_;
};

// Issue 22, item 2: one 1 GiB POST without a token, answered 403, took the
// head (which holds the GCS) to 2.16 GB.
TEST_F(DashboardLimitsTest, AHugeBodyIsRefusedFromItsHeadersWithoutReadingIt) {
  ASSERT_NO_FATAL_FAILURE(StartHead());
  const auto [rss_before, hwm_before] = Memory(head_pid_);
  ASSERT_GT(rss_before, 0);
  const std::string gib = std::to_string(1ull << 30);
  size_t sent = 0;
  const std::string anonymous =
      PostHuge("POST /api/v0/jobs HTTP/1.1\r\nHost: " + Host() + "\r\nContent-Type: application/octet-stream\r\n"
               "Content-Length: " + gib + "\r\n\r\n", 256u << 20, &sent);
  EXPECT_THAT(anonymous, ContainsRegex("^HTTP/1.1 4(01|03|13)")) << "refused from its headers";
  EXPECT_LT(sent, 32u << 20) << "bytes the server took before it closed: it read none of the body";
  const size_t anonymous_sent = sent;
  const std::string authenticated =
      PostHuge("POST /api/v0/jobs HTTP/1.1\r\nHost: " + Host() + "\r\nAuthorization: Bearer " + token_ +
               "\r\nContent-Length: " + gib + "\r\n\r\n", 256u << 20, &sent);
  EXPECT_THAT(authenticated, ContainsRegex("^HTTP/1.1 413")) << "no route takes such a body";
  const std::string chunked =
      PostHuge("POST /login HTTP/1.1\r\nHost: " + Host() + "\r\nOrigin: http://" + Host() +
               "\r\nTransfer-Encoding: chunked\r\n\r\n", 256u << 20, &sent);
  EXPECT_THAT(chunked, ContainsRegex("^HTTP/1.1 411")) << "a body of unknown length";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto [rss_after, hwm_after] = Memory(head_pid_);
  std::cout << "head RSS " << rss_before << " -> " << rss_after << " kB, HWM " << hwm_before << " -> "
            << hwm_after << " kB; the socket took " << (anonymous_sent >> 10) << " kB of the anonymous body\n";
  EXPECT_LT(rss_after - rss_before, 10 << 10) << "kB";
  EXPECT_LT(hwm_after - hwm_before, 10 << 10) << "kB: the peak too";
  // The server still serves.
  auto version = Fetch(url_, "/api/version", {{"Authorization", "Bearer " + token_}});
  ASSERT_TRUE(version);
  EXPECT_EQ(version->status, 200);
}

// Issue 22, item 2: headers are capped in size and count, before any is kept.
TEST_F(DashboardLimitsTest, TooManyOrTooLargeHeadersAreRefused) {
  ASSERT_NO_FATAL_FAILURE(StartHead());
  auto answer = [&](const std::string& request) {
    int fd = Connect(PortOf(url_));
    EXPECT_GE(fd, 0);
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    std::string text;
    while (std::optional<std::string> got = ReadSome(fd, 2000)) {
      if (got->empty()) break;
      text += *got;
    }
    ::close(fd);
    return text;
  };
  const std::string start = "GET /api/version HTTP/1.1\r\nHost: " + Host() + "\r\nAuthorization: Bearer " + token_ + "\r\n";
  std::string many = start;
  for (int i = 0; i < 100; ++i) many += "X-Filler-" + std::to_string(i) + ": 1\r\n";
  EXPECT_THAT(answer(many + "\r\n"), ContainsRegex("^HTTP/1.1 431")) << "100 headers";
  std::string large = start;
  for (int i = 0; i < 4; ++i) large += "X-Large-" + std::to_string(i) + ": " + std::string(6000, 'a') + "\r\n";
  EXPECT_THAT(answer(large + "\r\n"), ContainsRegex("^HTTP/1.1 400")) << "24 kB of headers";
  EXPECT_THAT(answer(start + "Connection: close\r\n\r\n"), ContainsRegex("^HTTP/1.1 200")) << "a request within both";
}

// Issue 22, item 5: ten connections sending one header byte per second made
// every authenticated request time out for the 40 s of the attack.
TEST_F(DashboardLimitsTest, SlowClientsDoNotStarveTheOthers) {
  ASSERT_NO_FATAL_FAILURE(StartHead());
  const int port = PortOf(url_);
  constexpr int kSlow = 20;
  constexpr double kAttackSeconds = 8;
  std::atomic<bool> attacking{true};
  std::atomic<int> refused{0}, cut{0}, connects{0};
  std::atomic<double> longest{0};
  // 20 slow clients on another address (127.0.0.2), each sending its request
  // a byte a second, and connecting again when the server drops it (looked
  // at every 100 ms).
  std::thread attacker([&] {
    const std::string request = "GET /api/version HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n\r\n";
    struct Slow {
      int fd = -1;
      size_t at = 0;
      Clock::time_point since, sent;
    };
    std::vector<Slow> slow(kSlow);
    while (attacking) {
      for (auto& s : slow) {
        if (s.fd >= 0) {
          if (std::optional<std::string> got = ReadSome(s.fd, 0)) {  // answered or dropped
            (got->rfind("HTTP/1.1 503", 0) == 0 ? refused : cut)++;
            if (got->rfind("HTTP/1.1 503", 0) != 0) {
              double held = SecondsSince(s.since);
              if (held > longest) longest = held;
            }
            ::close(s.fd);
            s.fd = -1;
          }
        }
        if (s.fd < 0) {
          s.fd = Connect(port, "127.0.0.2");
          s.at = 0;
          s.since = Clock::now();
          ++connects;
        }
        if (s.fd >= 0 && s.at < request.size() && (s.at == 0 || SecondsSince(s.sent) >= 1)) {
          ::send(s.fd, request.data() + s.at++, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
          s.sent = Clock::now();
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    for (auto& s : slow) {
      if (s.fd >= 0) ::close(s.fd);
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  // Meanwhile, a user on 127.0.0.1.
  const auto start = Clock::now();
  int served = 0;
  double worst = 0;
  while (SecondsSince(start) < kAttackSeconds) {
    httplib::Client client(url_);
    client.set_connection_timeout(3, 0);
    client.set_read_timeout(3, 0);
    const auto asked = Clock::now();
    auto r = client.Get("/api/version", {{"Authorization", "Bearer " + token_}});
    const double took = SecondsSince(asked);
    worst = std::max(worst, took);
    EXPECT_TRUE(r && r->status == 200) << "at " << SecondsSince(start) << " s";
    EXPECT_LT(took, 1.0) << "at " << SecondsSince(start) << " s";
    served += r && r->status == 200;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  attacking = false;
  attacker.join();
  std::cout << served << " requests served during the attack, the slowest in " << worst << " s; "
            << connects << " slow connections, " << refused << " refused at once (past 16 from one address), "
            << cut << " cut off, the longest after " << longest << " s\n";
  EXPECT_GE(served, 20);
  EXPECT_GE(refused.load(), kSlow - 16) << "past the connections of one address";
  EXPECT_GE(cut.load(), 1) << "a request trickling its headers is cut off at its deadline";
  EXPECT_LT(longest.load(), 4.5) << "s: the deadline of a request's headers (3 s from its first byte)";
}

// Issue 22, item 7: the cookie was the cluster token, and GET //evil.com/?token=
// redirected to //evil.com/.
TEST_F(DashboardLimitsTest, LoginGivesARevocableSessionAndRedirectsOnlyHere) {
  ASSERT_NO_FATAL_FAILURE(StartHead());
  auto login = Fetch(url_, "//evil.com/?token=" + token_);
  ASSERT_TRUE(login);
  EXPECT_EQ(login->status, 303);
  EXPECT_EQ(login->get_header_value("Location"), "/") << "a path of this server, not //evil.com/";
  const std::string set = login->get_header_value("Set-Cookie");
  EXPECT_THAT(set, Not(HasSubstr(token_)));
  EXPECT_THAT(set, HasSubstr("Max-Age="));
  const httplib::Headers cookie = {{"Cookie", set.substr(0, set.find(';'))}};
  auto with_session = Fetch(url_, "/api/version", cookie);
  ASSERT_TRUE(with_session);
  EXPECT_EQ(with_session->status, 200);
  auto with_token = Fetch(url_, "/api/version", {{"Cookie", "ray_dashboard_session=" + token_}});
  ASSERT_TRUE(with_token);
  EXPECT_EQ(with_token->status, 401) << "the token is not a session";
  httplib::Client client(url_);
  httplib::Headers logout = cookie;
  logout.emplace("Origin", url_);
  auto out = client.Post("/logout", logout, "", "text/plain");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->status, 303);
  auto after = Fetch(url_, "/api/version", cookie);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 401) << "revoked";
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
