#include "actors/dashboard/dashboard_api.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <utility>

#include "actors/common/ids.h"
#include "actors/common/metrics.h"
#include "actors/common/profile_events.h"
#include "actors/common/protocol.h"
#include "actors/common/timeline.h"
#include "actors/dashboard/dashboard_pages.h"

namespace ray::dashboard {
namespace {

using nlohmann::json;

/// API routes answer JSON (a 401 too); the others are the app's pages.
bool IsApi(const Request& request) {
  const std::string& path = request.path;
  return path.rfind("/api/", 0) == 0 || path == "/metrics" || path.rfind("/worker/", 0) == 0 ||
         (path == "/nodes" && request.query.count("view"));
}

bool ChangesState(const std::string& method) {
  return method != "GET" && method != "HEAD" && method != "OPTIONS";
}

Response Html(int status, std::string body) {
  Response r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::move(body);
  return r;
}

Response Text(int status, std::string body, const char* type = "text/plain; charset=utf-8") {
  Response r;
  r.status = status;
  r.content_type = type;
  r.body = std::move(body);
  return r;
}

/// `text` percent-encoded but for unreserved characters (and `keep`).
std::string Encoded(const std::string& text, const char* keep = "") {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || std::strchr("-._~", c) || (c && std::strchr(keep, c))) {
      out += static_cast<char>(c);
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

/// The request's path and query without `token`, for the redirect after a
/// ?token= login: always a path of this server. "//evil.example/" (or
/// "/\evil.example/", which browsers read alike) would send the browser to
/// another host, so such a path becomes "/".
std::string WithoutToken(const Request& request) {
  const std::string& path = request.path;
  const bool local =
      !path.empty() && path[0] == '/' && (path.size() == 1 || (path[1] != '/' && path[1] != '\\'));
  std::string query;
  for (const auto& [key, value] : request.query) {
    if (key == "token") continue;
    query += (query.empty() ? "?" : "&") + Encoded(key) + "=" + Encoded(value);
  }
  return (local ? Encoded(path, "/") : std::string("/")) + query;
}

/// The body a request announces: its Content-Length (0 when it gives none);
/// none when it sends one of unknown length (chunked) or a malformed length.
std::optional<size_t> BodyLength(const Headers& headers) {
  if (headers.count("transfer-encoding")) return std::nullopt;
  auto it = headers.find("content-length");
  if (it == headers.end()) return 0;
  const std::string& text = it->second;
  if (text.empty() || text.size() > 18 ||
      !std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return std::nullopt;
  }
  return static_cast<size_t>(std::stoull(text));
}

std::string Param(const Request& request, const char* key) {
  auto it = request.query.find(key);
  return it == request.query.end() ? "" : it->second;
}

/// On every answer, the login page's too: no caching of cluster data, no
/// sniffing of types, no framing by another site (clickjacking).
Response WithCommonHeaders(Response r) {
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  return r;
}

}  // namespace

Response Envelope(int status, bool ok, const std::string& msg, json data) {
  Response r;
  r.status = status;
  r.body = json{{"result", ok}, {"msg", msg}, {"data", std::move(data)}}.dump();
  return r;
}

Api::Api(Backend* backend, Settings settings, const Clock* clock)
    : backend_(backend),
      settings_(std::move(settings)),
      sessions_(settings_.token, clock ? clock : &system_clock_) {}

Response Api::Handle(const Request& request) const {
  if (std::optional<Response> early = Preflight(request)) return std::move(*early);
  return WithCommonHeaders(request.path == "/login" ? Login(request) : Route(request));
}

std::optional<Response> Api::Preflight(const Request& request) const {
  std::optional<Response> early = Early(request);
  if (early) *early = WithCommonHeaders(std::move(*early));
  return early;
}

std::optional<Response> Api::Early(const Request& request) const {
  // DNS rebinding: a page of another site resolving to this address names its own host.
  if (!HostAllowed(request.headers, settings_.allowed_hosts)) {
    return Text(421, "this dashboard does not serve that Host\n");
  }
  if (ChangesState(request.method) && !SameOrigin(request.headers, settings_.allowed_hosts)) {
    return Envelope(403, false, "cross-origin request refused", json::object());
  }
  // Every route's body is capped, and refused from its headers: the server
  // reads none of a body it would not take.
  const std::optional<size_t> body = BodyLength(request.headers);
  if (!body) return Envelope(411, false, "send a body with a Content-Length", json::object());
  const size_t limit = request.path == "/login" && request.method == "POST" ? kMaxLoginBody : 0;
  if (*body > limit) {
    return Envelope(413, false,
                    limit == 0 ? "this route takes no body"
                               : "a body of at most " + std::to_string(limit) + " bytes",
                    json::object());
  }
  if (request.path == "/login") return std::nullopt;  // its form is the body
  if (request.path == "/logout") return Logout(request);
  auto token = request.query.find("token");
  if (token != request.query.end()) {
    // Jupyter's way: open any page with ?token=..., get the cookie, lose the token from the URL.
    if (!SameSecret(token->second, settings_.token)) return Html(401, LoginPage("wrong token"));
    return LoggedIn(WithoutToken(request));
  }
  if (!Authenticated(request)) {
    if (IsApi(request)) {
      return Envelope(401, false, "authentication required: send Authorization: Bearer <token>",
                      json::object());
    }
    return Html(401, LoginPage(""));
  }
  return std::nullopt;
}

bool Api::Authenticated(const Request& request) const {
  if (HasBearerToken(request.headers, settings_.token)) return true;
  auto cookie = request.headers.find("cookie");
  return cookie != request.headers.end() &&
         sessions_.Valid(CookieValue(cookie->second, kCookieName));
}

Response Api::LoggedIn(const std::string& location) const {
  Response r = Text(303, "");
  const std::string cookie = LoginCookie(sessions_.Create(), sessions_.lifetime(), settings_.secure);
  r.headers = {{"Location", location}, {"Set-Cookie", cookie}};
  return r;
}

Response Api::Login(const Request& request) const {
  if (request.method != "POST") return Html(200, LoginPage(""));
  // The form sends token=<value> (application/x-www-form-urlencoded; the token is hex).
  std::string sent = request.body.rfind("token=", 0) == 0 ? request.body.substr(6) : "";
  while (!sent.empty() && (sent.back() == '\n' || sent.back() == '\r')) sent.pop_back();
  if (!SameSecret(sent, settings_.token)) return Html(401, LoginPage("wrong token"));
  return LoggedIn("/");
}

Response Api::Logout(const Request& request) const {
  if (request.method != "POST") return Envelope(405, false, "log out with a POST", json::object());
  auto cookie = request.headers.find("cookie");
  if (cookie != request.headers.end()) sessions_.Revoke(CookieValue(cookie->second, kCookieName));
  Response r = Text(303, "");
  r.headers = {{"Location", "/login"}, {"Set-Cookie", LogoutCookie(settings_.secure)}};
  return r;
}

Response Api::Report(const std::string& kind, const json& args, json* out) const {
  std::string text, error;
  if (!backend_->Report(kind, args.dump(), &text, &error)) {
    return Envelope(503, false, "the cluster did not answer: " + error, json::object());
  }
  *out = json::parse(text, nullptr, false);
  if (!out->is_object()) return Envelope(502, false, "the cluster's answer is not JSON", json::object());
  return Response{};
}

Response Api::Route(const Request& request) const {
  const std::string& p = request.path;
  if (p == "/api/version") {
    return Text(200, json{{"version", settings_.version}, {"ray_version", settings_.version},
                          {"api_version", "1"}}.dump(), "application/json");
  }
  if (p == "/api/cluster_status") {
    json status;
    if (Response r = Report("status", json::object(), &status); !r.body.empty()) return r;
    // Ray's key for the autoscaler's state; null when no autoscaler runs.
    json autoscaling = status.contains("autoscaler") ? status["autoscaler"] : json();
    return Envelope(200, true, "", {{"clusterStatus", status}, {"autoscalingStatus", autoscaling}});
  }
  if (p == "/nodes" && Param(request, "view") == "summary") {
    json status;
    if (Response r = Report("status", json::object(), &status); !r.body.empty()) return r;
    return Envelope(200, true, "", {{"summary", Rows("nodes", status)}});
  }
  for (const char* kind : {"nodes", "actors", "workers", "objects", "placement_groups"}) {
    if (p == std::string("/api/v0/") + kind) return List(request, kind);
  }
  if (p == "/api/v0/tasks") return Tasks(request, false);
  if (p == "/api/v0/jobs") return Jobs(request);
  if (p == "/api/v0/tasks/summarize") return Tasks(request, true);
  if (p == "/api/v0/tasks/timeline") return Timeline(request);
  if (p == "/api/v0/logs") return Logs(request, false);
  if (p == "/api/v0/logs/file") return Logs(request, true);
  if (p == "/worker/traceback") return Traceback(request);
  if (p == "/metrics") return Metrics();
  if (IsPage(p)) return Html(200, AppPage());
  if (IsApi(request)) return Envelope(404, false, "no such route: " + p, json::object());
  return Text(404, "not found\n");
}

Response Api::List(const Request& request, const std::string& kind) const {
  json report;
  if (Response r = Report(kind == "objects" ? "memory" : "status", json::object(), &report);
      !r.body.empty()) {
    return r;
  }
  return Envelope(200, true, "", {{"result", Page(Rows(kind, report), request.query)}});
}

Response Api::Tasks(const Request& request, bool summarize) const {
  json status;
  if (Response r = Report("status", json::object(), &status); !r.body.empty()) return r;
  std::string bytes, error;
  // All jobs' events: a job_id= filter (hex, as the rows show it) applies in Page.
  if (!backend_->Events("", &bytes, &error)) {
    return Envelope(503, false, "the GCS did not answer: " + error, json::object());
  }
  TaskTable tasks(bytes, status);
  if (!summarize) return Envelope(200, true, "", {{"result", tasks.Page(request.query)}});
  // Counts by function and state, as Ray's `ray summary tasks`.
  json summary = json::object();
  const auto counts = tasks.CountsBy("name");
  for (const auto& [name, states] : counts) {
    summary[name] = {{"func_or_class_name", name}, {"state_counts", states}};
  }
  return Envelope(200, true, "",
                  {{"result", {{"total", tasks.size()}, {"summary", summary}}}});
}

Response Api::Jobs(const Request& request) const {
  json status;
  if (Response r = Report("status", json::object(), &status); !r.body.empty()) return r;
  std::string bytes, error;
  if (!backend_->Events("", &bytes, &error)) {
    return Envelope(503, false, "the GCS did not answer: " + error, json::object());
  }
  return Envelope(200, true, "", {{"result", Page(JobRows(TaskTable(bytes, status), status), request.query)}});
}

Response Api::Logs(const Request& request, bool file) const {
  json args = json::object();
  if (!Param(request, "node_id").empty()) args["node"] = Param(request, "node_id");
  if (file) {
    try {
      args["pid"] = std::stoll(Param(request, "pid"));
      args["tail"] = Param(request, "lines").empty() ? 1000 : std::stoll(Param(request, "lines"));
    } catch (const std::exception&) {
      return Envelope(400, false, "give pid (and optionally lines) as numbers", json::object());
    }
    if (Param(request, "node_id").empty()) return Envelope(400, false, "give node_id", json::object());
  }
  json report;
  if (Response r = Report("logs", args, &report); !r.body.empty()) return r;
  json files = PerNode(report, "files");
  if (!file) return Envelope(200, true, "", {{"result", Page(files, request.query)}});
  std::string text;
  for (const auto& f : files) text += f.value("text", "");
  return Text(200, text);
}

Response Api::Timeline(const Request& request) const {
  std::string job_hex = Param(request, "job_id"), job_id, bytes, error;
  if (!job_hex.empty() && !ids::FromHex(job_hex, &job_id)) {
    return Envelope(400, false, "job_id must be hex", json::object());
  }
  if (!backend_->Events(job_id, &bytes, &error)) {
    return Envelope(503, false, "the GCS did not answer: " + error, json::object());
  }
  timeline::Options options;
  options.job_id = job_id;
  return Text(200, timeline::ChromeTrace(proto::Decode<events::EventsReply>(bytes), options),
              "application/json");
}

Response Api::Traceback(const Request& request) const {
  const std::string pid = Param(request, "pid");
  if (pid.empty() || pid.size() > 9 || pid[0] == '0' ||
      !std::all_of(pid.begin(), pid.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return Envelope(400, false, "give the worker's pid as a number", json::object());
  }
  // The nodes attach gdb to their own worker of that pid only, and to
  // nothing when they have none: no other process is ever attached to.
  json args = {{"pid", std::stoll(pid)}};
  if (!Param(request, "node_id").empty()) args["node"] = Param(request, "node_id");
  json report;
  if (Response r = Report("stack", args, &report); !r.body.empty()) return r;
  for (const auto& w : PerNode(report, "workers")) {
    if (std::to_string(w.value("pid", 0)) == pid) return Text(200, w.value("stack", ""));
  }
  for (const auto& node : report.value("nodes", json::array())) {
    const json& r = node.value("report", json::object());
    if (r.value("busy", false)) {
      const std::string why = r.value("error", "busy");
      return Envelope(429, false, "node " + node.value("node_id", "") + ": " + why, json::object());
    }
  }
  return Envelope(404, false, "no worker of this cluster has pid " + pid, json::object());
}

Response Api::Metrics() const {
  json status;
  if (Response r = Report("status", json::object(), &status); !r.body.empty()) return r;
  std::string bytes, error;
  if (!backend_->Events("", &bytes, &error)) bytes.clear();  // the figures without tasks
  // The user metrics (ray::Counter, ...) of every node, each sample labelled with its node.
  std::vector<std::pair<metrics::Snapshot, std::map<std::string, std::string>>> user;
  json reported;
  if (Report("metrics", json::object(), &reported).body.empty()) {
    for (const auto& node : reported.value("nodes", json::array())) {
      const json report = node.value("report", json::object());
      if (!report.is_object() || !report.contains("metrics")) continue;
      user.push_back({metrics::FromJson(report["metrics"]), {{"NodeId", node.value("node_id", "")}}});
    }
  }
  return Text(200, PrometheusText(status, TaskTable(bytes, status)) + metrics::Prometheus(user),
              "text/plain; version=0.0.4");
}

}  // namespace ray::dashboard
