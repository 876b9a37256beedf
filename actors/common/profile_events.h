// Profile events: what every process of the cluster records about itself
// (tasks and their phases, submissions, ray.get/put/wait, transfers, spills,
// rebuilds, ray::Profile spans), buffered here and flushed about once a
// second to the node's raylet, which passes them on to the GCS's event table
// (`ray timeline`, ray::Timeline; format in docs/cli.md).
//
// Recording is cheap: an event is one struct appended under a mutex held for
// the append alone; a task is one event whose phase ends are fields, expanded
// into `task`, `task:deserialize_arguments`, `task:execute` and
// `task:store_outputs` only when a trace is written. Time is the wall clock in
// microseconds, so events of processes on one host line up.
#ifndef RAY_ACTORS_COMMON_PROFILE_EVENTS_H_
#define RAY_ACTORS_COMMON_PROFILE_EVENTS_H_

#include <msgpack.hpp>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace ray::events {

/// Who recorded an event: the process's own role (driver, worker), or the
/// node's actors (raylet, object manager) that may share a process with a driver.
enum class Source : uint8_t { kProcess = 0, kNode = 1 };

struct Event {
  std::string type;      // "task", "submit_task", "ray.get", "transfer", a Profile type...
  int64_t start_us = 0;  // wall clock
  int64_t end_us = 0;
  uint32_t tid = 0;      // the OS thread that recorded it
  uint8_t source = 0;    // Source
  std::string task_id;   // binary ids, empty when none
  std::string job_id;
  std::string actor_id;
  std::string function;
  int32_t attempt = 0;
  // "task" only: when argument deserialization and execution ended.
  int64_t args_end_us = 0;
  int64_t exec_end_us = 0;
  /// Extra data, shown as the trace event's args ("name" and "cname" of a
  /// ray::Profile span override the displayed name and colour).
  std::vector<std::pair<std::string, std::string>> extra;
  MSGPACK_DEFINE(type, start_us, end_us, tid, source, task_id, job_id, actor_id, function,
                 attempt, args_end_us, exec_end_us, extra);
};

/// What one process flushes at a time.
struct Batch {
  std::string component_type;  // "driver", "worker" or "node"
  std::string component_id;    // binary worker or driver id; empty for a node process
  int32_t pid = 0;
  uint64_t dropped = 0;        // events this process dropped since its last flush
  std::vector<Event> events;
  MSGPACK_DEFINE(component_type, component_id, pid, dropped, events);
};

/// A batch as the GCS stores it: with the node it came through.
struct StoredBatch {
  std::string node_id;
  Batch batch;
  MSGPACK_DEFINE(node_id, batch);
};

/// The GCS's answer to an events query.
struct EventsReply {
  std::vector<StoredBatch> batches;  // oldest first
  std::vector<std::pair<std::string, std::string>> nodes;  // node id -> raylet address
  uint64_t dropped = 0;  // events dropped by the GCS's cap and by processes
  MSGPACK_DEFINE(batches, nodes, dropped);
};

int64_t NowMicros();
/// The calling thread's OS id (cached per thread).
uint32_t ThreadId();

/// The process's buffer of events. Thread-safe.
class Recorder {
 public:
  /// Events kept between flushes; beyond it new ones are dropped and counted.
  static constexpr size_t kMaxBuffered = 500000;

  static Recorder& Instance();

  /// Off: Record does nothing (RayConfig::enable_timeline = false, RAY_ENABLE_TIMELINE=0).
  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
  void SetEnabled(bool on) { enabled_.store(on, std::memory_order_relaxed); }
  /// Names this process in the batches it flushes; a driver's events without
  /// a job get `job_id`.
  void SetIdentity(std::string component_type, std::string component_id,
                   std::string job_id = "");
  std::string component_type();

  void Record(Event event);
  /// Takes what was recorded since the last Take (events empty when nothing was).
  Batch Take();

 private:
  Recorder();
  std::atomic<bool> enabled_{true};
  std::mutex mu_;
  Batch pending_;       // GUARDED_BY(mu_)
  std::string job_id_;  // GUARDED_BY(mu_)
};

/// The task the calling thread runs (set by the worker's executor), which
/// ray::Profile spans name.
struct TaskContext {
  std::string task_id;
  std::string job_id;
  std::string actor_id;
};
const TaskContext* CurrentTask();

/// Makes a task the calling thread's current one for its lifetime.
class TaskScope {
 public:
  TaskScope(const std::string& task_id, const std::string& job_id, const std::string& actor_id);
  ~TaskScope();
  TaskScope(const TaskScope&) = delete;
  TaskScope& operator=(const TaskScope&) = delete;
};

/// An event of the runtime timed from construction to destruction (ray.get,
/// ray.put, ...); nothing is recorded when the recorder is off.
class Scoped {
 public:
  explicit Scoped(const char* type, Source source = Source::kProcess) {
    if (Recorder::Instance().enabled()) {
      active_ = true;
      event_.type = type;
      event_.source = static_cast<uint8_t>(source);
      event_.start_us = NowMicros();
    }
  }
  ~Scoped() {
    if (!active_) return;
    event_.end_us = NowMicros();
    event_.tid = ThreadId();
    Recorder::Instance().Record(std::move(event_));
  }
  Scoped(const Scoped&) = delete;
  Scoped& operator=(const Scoped&) = delete;
  bool active() const { return active_; }
  Event& event() { return event_; }

 private:
  bool active_ = false;
  Event event_;
};

}  // namespace ray::events

#endif  // RAY_ACTORS_COMMON_PROFILE_EVENTS_H_
