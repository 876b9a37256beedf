// The dashboard's HTTP API in plain C++ (no CAF, no HTTP library): routes,
// authentication, Ray 2.x's route names and {"result", "msg", "data"}
// envelope, pagination and filters. Every figure comes from the GCS's query
// API (observe and ev_get, the same as `ray status/memory/stack/logs/
// timeline`) through a Backend; the server (dashboard_server.h) adapts HTTP
// to Request/Response and the Backend to CAF. Routes: docs/dashboard.md.
#ifndef RAY_ACTORS_DASHBOARD_DASHBOARD_API_H_
#define RAY_ACTORS_DASHBOARD_DASHBOARD_API_H_

#include <nlohmann/json.hpp>

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actors/common/profile_events.h"
#include "actors/dashboard/dashboard_auth.h"
#include "actors/dashboard/dashboard_session.h"

namespace ray::dashboard {

struct Request {
  std::string method = "GET";
  std::string path;
  std::map<std::string, std::string> query;
  Headers headers;  // lowercase names
  std::string body;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

/// Where the API's data comes from: the GCS's queries.
class Backend {
 public:
  virtual ~Backend() = default;
  /// The cluster's report of `kind` (status, memory, stack, logs) as JSON text.
  virtual bool Report(const std::string& kind, const std::string& args, std::string* json,
                      std::string* error) = 0;
  /// The encoded events::EventsReply of `job_id` (empty: all).
  virtual bool Events(const std::string& job_id, std::string* bytes, std::string* error) = 0;
};

struct Settings {
  std::string token;                       // the cluster's auth token
  std::vector<std::string> allowed_hosts;  // Host values naming this server
  bool secure = false;                     // served over HTTPS: cookies get Secure
  std::string version;
};

/// Most bytes of a request's body: the login form's (token=<64 hex digits>).
/// No other route reads a body, so none may send one.
constexpr size_t kMaxLoginBody = 1024;

class Api {
 public:
  /// `backend` and `clock` (null: the system's) must outlive the Api.
  /// Thread-safe: the sessions are the only state, and they lock.
  Api(Backend* backend, Settings settings, const Clock* clock = nullptr);
  Response Handle(const Request& request) const;
  /// The answer `request` gets from its line and headers alone (a refusal,
  /// or the ?token= login), before any of its body is read; none when it may
  /// go on to Handle, with a body of at most its Content-Length, which this
  /// has checked against the route's limit.
  std::optional<Response> Preflight(const Request& request) const;

 private:
  /// Preflight without the headers every answer gets.
  std::optional<Response> Early(const Request& request) const;
  Response Route(const Request& request) const;
  Response Login(const Request& request) const;
  Response Logout(const Request& request) const;
  /// The bearer token or a live session.
  bool Authenticated(const Request& request) const;
  /// A 303 to `location` that logs the browser in with a new session.
  Response LoggedIn(const std::string& location) const;
  Response Report(const std::string& kind, const nlohmann::json& args, nlohmann::json* out) const;
  Response List(const Request& request, const std::string& kind) const;
  Response Tasks(const Request& request, bool summarize) const;
  Response Jobs(const Request& request) const;
  Response Logs(const Request& request, bool file) const;
  Response Timeline(const Request& request) const;
  Response Traceback(const Request& request) const;
  Response Metrics() const;

  Backend* backend_;
  Settings settings_;
  SystemClock system_clock_;
  mutable Sessions sessions_;
};

/// {"result": ok, "msg": msg, "data": data}, as Ray's dashboard answers.
Response Envelope(int status, bool ok, const std::string& msg, nlohmann::json data);

/// The items of every node's report under `list` ("workers", "objects",
/// "files"), each with its node's id.
nlohmann::json PerNode(const nlohmann::json& report, const std::string& list);
/// The rows of a list endpoint from the reports (nodes, actors, workers, objects).
nlohmann::json Rows(const std::string& kind, const nlohmann::json& report);
/// The cluster's tasks: those the nodes' workers run now (RUNNING), then
/// those in the events table (FINISHED or FAILED), most recent first. Rows
/// are made JSON only when asked for, so filtering and paging 100,000 tasks
/// touches only the fields filtered on.
class TaskTable {
 public:
  TaskTable(const std::string& events_bytes, const nlohmann::json& status);
  size_t size() const { return running_.size() + done_.size(); }
  /// A field of row `row` as text ("state", "name", "job_id", "node_id", ...).
  std::string Field(size_t row, const std::string& key) const;
  nlohmann::json Row(size_t row) const;
  nlohmann::json Rows() const;
  /// As Page(rows, query), without making the rows that are not shown.
  nlohmann::json Page(const std::map<std::string, std::string>& query) const;
  /// key value -> state -> tasks.
  std::map<std::string, std::map<std::string, int>> CountsBy(const std::string& key) const;
  /// Start and end (µs) of a finished task; none for a running one.
  std::optional<std::pair<int64_t, int64_t>> Times(size_t row) const;

 private:
  struct Done {
    uint32_t batch;
    uint32_t index;
    int64_t end_us;
    bool failed;
  };
  std::string Text(const Done& d, uint32_t index) const;

  std::vector<nlohmann::json> running_;
  events::EventsReply reply_;
  std::vector<Done> done_;
};
/// The GCS's jobs (state, start, end, driver) with their tasks' counts (tasks,
/// failed, running, first and last task); jobs seen only in tasks too.
nlohmann::json JobRows(const TaskTable& tasks, const nlohmann::json& status);
/// Keeps the rows matching the request's filters (`state=`, `node_id=`,
/// `job_id=`, `name=`, or Ray's filter_keys/filter_predicates/filter_values);
/// then the page of `offset` and `limit` (default 100, at most 10,000), with
/// the total that matched.
nlohmann::json Page(const nlohmann::json& rows, const std::map<std::string, std::string>& query);
/// Prometheus text format of the cluster's figures.
std::string PrometheusText(const nlohmann::json& status, const TaskTable& tasks);

}  // namespace ray::dashboard

#endif  // RAY_ACTORS_DASHBOARD_DASHBOARD_API_H_
