// The raylet shell's part of observability: passing profile events on to the
// GCS, flushing workers' events (before a job's workers are killed, and when
// asked), and this node's answers to `ray status`, `memory`, `stack` and
// `logs` (schema: docs/cli.md). gdb runs on a thread of its own, never on the
// actor's.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "actors/common/ids.h"
#include "actors/common/private_dir.h"
#include "actors/common/profile_events.h"
#include "actors/raylet/raylet_shell.h"

namespace ray::raylet::shell {
namespace {

using nlohmann::json;

/// How long a worker has to answer ev_flush before its job's end goes on.
constexpr auto kFlushWait = std::chrono::milliseconds(1000);
/// Most bytes of a log returned at once.
constexpr int64_t kMaxLogBytes = 4 << 20;

/// Runs `command` (built here from numbers only) and returns its output.
std::string Run(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return "cannot run: " + command;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  pclose(pipe);
  return out;
}

bool OnPath(const char* tool) {
  return Run(std::string("command -v ") + tool + " 2>/dev/null").find(tool) != std::string::npos;
}

/// Every thread's stack of process `pid`, function names demangled: gdb in
/// batch mode, else eu-stack.
std::string CaptureStack(pid_t pid) {
  const std::string p = std::to_string(pid);
  if (OnPath("gdb")) {
    return Run("timeout 60 gdb -p " + p +
               " -batch -nx -q -ex 'set pagination off' -ex 'set print demangle on'"
               " -ex 'thread apply all bt' 2>&1 </dev/null");
  }
  if (OnPath("eu-stack")) return Run("timeout 60 eu-stack -p " + p + " 2>&1 </dev/null");
  return "neither gdb nor eu-stack is installed on this node (apt-get install gdb)";
}

/// The last `tail` lines of the bytes read (all when tail < 0).
std::string LastLines(const std::string& text, int64_t tail) {
  if (tail < 0) return text;
  size_t end = text.size();
  if (end > 0 && text[end - 1] == '\n') --end;
  size_t pos = end;
  for (int64_t lines = 0; pos > 0; --pos) {
    if (text[pos - 1] == '\n' && ++lines == tail) break;
  }
  return text.substr(pos);
}

json ReadLog(const std::string& path, int64_t offset, int64_t tail) {
  json file = {{"path", path}};
  // A regular file only, reached without a symlink: a link planted as
  // worker-<pid>.out -> /etc/passwd is refused, not served.
  int fd = OpenRegularFile(path);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) {
    file["error"] = errno == ELOOP || errno == EINVAL ? "not a log file (a symlink or special file): " + path
                                                      : "no such log: " + path;
    if (fd >= 0) ::close(fd);
    return file;
  }
  const auto size = static_cast<int64_t>(st.st_size);
  int64_t from = offset >= 0 ? std::min(offset, size) : std::max<int64_t>(0, size - kMaxLogBytes);
  int64_t len = std::min(size - from, kMaxLogBytes);
  std::string text(static_cast<size_t>(len), '\0');
  ssize_t got = ::pread(fd, text.data(), static_cast<size_t>(len), from);
  ::close(fd);
  text.resize(got > 0 ? static_cast<size_t>(got) : 0);
  file["size"] = size;
  file["offset"] = from + static_cast<int64_t>(text.size());  // where a --follow goes on
  file["text"] = offset >= 0 ? text : LastLines(text, tail);
  return file;
}

/// This process's auth handshakes (net.h): `ray status` shows who is refused.
json HandshakesJson() {
  net::HandshakeStats stats = net::Handshakes();
  auto now = std::chrono::system_clock::now();
  json recent = json::array();
  for (const auto& s : stats.recent) {
    recent.push_back({{"address", s.address}, {"refused", s.refused}, {"last_reason", s.last_reason},
                      {"seconds_ago", std::chrono::duration_cast<std::chrono::seconds>(
                                          now - s.last_time).count()}});
  }
  return {{"admitted", stats.admitted}, {"refused", stats.refused},
          {"refused_by", stats.refused_by}, {"recent_refused", recent}};
}

}  // namespace

bool Shell::AddEvents(uint32_t count, const std::string& batch) {
  self_->send(gcs_, atoms::ev_add::value, core_->state().options.node_id, count, batch);
  return true;
}

void Shell::FlushOwnEvents() {
  auto& recorder = events::Recorder::Instance();
  // A driver with an embedded node flushes the process's events itself.
  if (recorder.component_type() != "node") return;
  events::Batch batch = recorder.Take();
  if (batch.events.empty() && batch.dropped == 0) return;
  AddEvents(static_cast<uint32_t>(batch.events.size()), proto::Encode(batch));
}

void Shell::FlushWorkers(const std::vector<std::string>& worker_ids, std::function<void()> done) {
  auto left = std::make_shared<size_t>(0);
  auto finish = std::make_shared<std::function<void()>>(std::move(done));
  std::vector<worker::WorkerActor> targets;
  for (const auto& id : worker_ids) {
    if (auto w = workers_.find(id); w != workers_.end()) targets.push_back(w->second);
  }
  if (targets.empty()) {
    (*finish)();
    return;
  }
  *left = targets.size();
  auto one_done = [left, finish] {
    if (--*left == 0) (*finish)();
  };
  for (auto& target : targets) {
    self_->request(target, kFlushWait, atoms::ev_flush::value)
        .then([one_done](bool) { one_done(); }, [one_done](caf::error&) { one_done(); });
  }
}

void Shell::FlushAll(std::function<void()> done) {
  FlushOwnEvents();
  std::vector<std::string> ids;
  for (const auto& w : core_->Workers()) ids.push_back(w.worker_id);
  FlushWorkers(ids, std::move(done));
}

caf::result<bool> Shell::FlushEvents() {
  auto promise = self_->make_response_promise();
  FlushAll([promise]() mutable { promise.deliver(true); });
  return caf::delegated<bool>();
}

void Shell::EndJob(const std::string& job_id) {
  // Its workers are killed: their last events go to the GCS first.
  std::vector<std::string> ids;
  for (const auto& w : core_->Workers()) {
    if (w.job_id == job_id) ids.push_back(w.worker_id);
  }
  FlushWorkers(ids, [this, job_id] { core_->OnJobEnded(job_id); });
}

caf::result<std::string> Shell::Observe(const std::string& kind, const std::string& args) {
  json parsed = json::parse(args.empty() ? "{}" : args, nullptr, false);
  if (!parsed.is_object()) parsed = json::object();
  if (kind == "memory") return Memory(args);
  if (kind == "status") {
    auto promise = self_->make_response_promise();
    std::string mine = core_->StatusJson();
    self_->request(om_, std::chrono::seconds(10), atoms::observe::value, kind, args)
        .then(
            [promise, mine](std::string& store) mutable {
              json out = json::parse(mine, nullptr, false);
              out["object_store"] = json::parse(store, nullptr, false);
              out["handshakes"] = HandshakesJson();
              promise.deliver(out.dump());
            },
            [promise](caf::error& e) mutable { promise.deliver(e); });
    return caf::delegated<std::string>();
  }
  if (kind == "stack") return Stacks(parsed);
  if (kind == "flush") {
    // Every process of this node flushes its events: a query then sees them.
    auto promise = self_->make_response_promise();
    FlushAll([promise]() mutable { promise.deliver(std::string("{}")); });
    return caf::delegated<std::string>();
  }
  if (kind == "logs") return Logs(parsed);
  if (kind == "metrics") {
    return json{{"node_id", ids::Hex(core_->state().options.node_id)},
                {"metrics", metrics::ToJson(metrics_.Merged())}}.dump();
  }
  return net::MakeError(Status(Errc::kInvalidArgument,
                               "unknown observe kind '" + kind +
                                   "' (status, memory, stack, logs, flush or metrics)"));
}

bool Shell::Bundle(const std::string& op, const std::string& group, int32_t index,
                   const std::string& bundle) {
  if (op == "prepare") return core_->PrepareBundle(group, index, proto::Decode<proto::Bundle>(bundle));
  if (op == "commit") {
    core_->CommitBundle(group, index);
    return true;
  }
  if (op == "return") {
    core_->ReturnBundle(group, index);
    return true;
  }
  return false;
}

void Shell::AddMetrics(const std::string& client_id, const std::string& snapshot) {
  // Only this node's processes (drivers and workers it knows) have a say.
  if (!drivers_.count(client_id) && !workers_.count(client_id)) return;
  metrics_.Update(client_id, proto::Decode<metrics::Snapshot>(snapshot));
}

namespace {

/// A memory report waiting for the object manager's and the processes' parts.
struct MemoryGather {
  caf::response_promise promise;
  json store = json::object();
  json processes = json::array();
  size_t pending = 0;
  void Done() {
    if (--pending > 0) return;
    json out = store.is_object() ? store : json::object();
    out["processes"] = std::move(processes);
    promise.deliver(out.dump());
  }
};

}  // namespace

caf::result<std::string> Shell::Memory(const std::string& args) {
  auto gather = std::make_shared<MemoryGather>();
  gather->promise = self_->make_response_promise();
  gather->pending = 1 + workers_.size() + drivers_.size();
  self_->request(om_, std::chrono::seconds(10), atoms::observe::value, std::string("memory"), args)
      .then(
          [gather](std::string& store) {
            gather->store = json::parse(store, nullptr, false);
            gather->Done();
          },
          [gather](caf::error& e) {
            gather->store = {{"error", "the object manager did not answer: " + net::Describe(e)}};
            gather->Done();
          });
  // Each driver and worker of this node says which ObjectRefs it holds.
  auto ask = [this, gather](const auto& dest, const std::string& component, const std::string& id) {
    self_->request(dest, std::chrono::seconds(2), atoms::observe::value, std::string("refs"),
                   std::string("{}"))
        .then(
            [gather, component, id](std::string& refs) {
              json report = json::parse(refs, nullptr, false);
              if (report.is_object()) {
                report["component"] = component;
                report["client_id"] = ids::Hex(id);
                gather->processes.push_back(std::move(report));
              }
              gather->Done();
            },
            [gather](caf::error&) { gather->Done(); });  // gone meanwhile: it holds nothing
  };
  for (const auto& [id, worker] : workers_) ask(worker, "worker", id);
  for (const auto& [id, driver] : drivers_) ask(driver, "driver", id);
  return caf::delegated<std::string>();
}

caf::result<std::string> Shell::Stacks(const json& args) {
  // One capture at a time on a node: gdb stops each process it attaches to
  // for seconds, and more requests meanwhile would only pile more of them up.
  if (stack_running_) {
    return json{{"workers", json::array()}, {"busy", true},
                {"error", "another stack capture is running on this node; try again when it ends"}}.dump();
  }
  std::vector<WorkerView> workers = core_->Workers();
  if (args.contains("pid")) {
    // Only that worker, when it is one of this node's: no other process is attached to.
    const int64_t pid = args["pid"].is_number_integer() ? args["pid"].get<int64_t>() : -1;
    workers.erase(std::remove_if(workers.begin(), workers.end(),
                                 [pid](const WorkerView& w) { return w.pid != pid; }),
                  workers.end());
    if (workers.empty()) return json{{"workers", json::array()}}.dump();
  }
  stack_running_ = true;
  uint64_t token = next_stack_++;
  stack_promises_.emplace(token, self_->make_response_promise());
  caf::actor me = caf::actor_cast<caf::actor>(self_);
  caf::actor_system* system = &self_->system();
  std::thread([me, system, token, workers] {
    json out = json::array();
    for (const auto& w : workers) {
      if (w.pid <= 0) continue;
      out.push_back({{"pid", w.pid}, {"worker_id", ids::Hex(w.worker_id)},
                     {"job_id", ids::Hex(w.job_id)}, {"state", w.state},
                     {"actor_id", ids::Hex(w.actor_id)}, {"actor_class", w.actor_class},
                     {"task_id", ids::Hex(w.task_id)}, {"function", w.function},
                     {"stack", CaptureStack(w.pid)}});
    }
    // From an actor of this process: stack_done is refused from anywhere else.
    caf::scoped_actor sender{*system, true};
    sender->send(me, stack_done_atom::value, token, json{{"workers", out}}.dump());
  }).detach();
  return caf::delegated<std::string>();
}

void Shell::OnStacks(uint64_t token, const std::string& json_text) {
  stack_running_ = false;
  auto it = stack_promises_.find(token);
  if (it == stack_promises_.end()) return;
  it->second.deliver(json_text);
  stack_promises_.erase(it);
}

caf::result<std::string> Shell::Logs(const json& args) {
  const std::string dir = core_->state().options.session_dir + "/logs";
  int64_t tail = args.contains("tail") && args["tail"].is_number_integer() ? args["tail"].get<int64_t>() : 100;
  auto offset_of = [&](const char* key) -> int64_t {
    return args.contains(key) && args[key].is_number_integer() ? args[key].get<int64_t>() : -1;
  };
  json out = {{"log_dir", dir}};
  if (args.contains("pid") && args["pid"].is_number_integer()) {
    // The path is built from a number: nothing a client sends names a file.
    const std::string base = dir + "/worker-" + std::to_string(args["pid"].get<int64_t>());
    json out_log = ReadLog(base + ".out", offset_of("offset_out"), tail);
    json err_log = ReadLog(base + ".err", offset_of("offset_err"), tail);
    out_log["stream"] = "out";
    err_log["stream"] = "err";
    out["files"] = {out_log, err_log};
    return out.dump();
  }
  json files = json::array();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file(ec) || entry.is_symlink(ec)) continue;  // no links listed
    files.push_back({{"path", entry.path().string()}, {"size", entry.file_size(ec)}});
  }
  out["files"] = files;
  return out.dump();
}

}  // namespace ray::raylet::shell
