// Profile events: what every process of the cluster records about itself
// (tasks and their phases, submissions, ray.get/put/wait, transfers,
// ray::Profile spans), buffered here and flushed about once a second to the
// node's raylet, which passes them on to the GCS's event table (`ray
// timeline`, ray::Timeline; trace format in docs/cli.md).
//
// Recording is cheap: a task is one event whose phase ends are fields,
// expanded into `task`, `task:deserialize_arguments`, `task:execute` and
// `task:store_outputs` only when a trace is written. The hot paths record an
// EventView (string views, no allocation) into a fixed-size record under a
// mutex held for the append; names and ids repeat, so each flush carries
// them once, in a string table, and the events refer to it by index, with
// times as offsets from the batch's base. Time is the wall clock in
// microseconds, so events of processes on one host line up.
#ifndef RAY_ACTORS_COMMON_PROFILE_EVENTS_H_
#define RAY_ACTORS_COMMON_PROFILE_EVENTS_H_

#include <msgpack.hpp>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ray::events {

/// Who recorded an event: the process's own role (driver, worker), or the
/// node's actors (raylet, object manager) that may share a process with a driver.
enum class Source : uint8_t { kProcess = 0, kNode = 1 };

using Extra = std::vector<std::pair<std::string, std::string>>;

/// An event as consumers see it (Batch::Expand).
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
  /// ray.get/ray.wait: objects asked for; ray.put: bytes; -1: none.
  int64_t value = -1;
  /// Extra data, shown as the trace event's args ("name" and "cname" of a
  /// ray::Profile span override the displayed name and colour).
  Extra extra;
};

/// What a hot path records: views valid for the call only.
struct EventView {
  std::string_view type;  // static text ("task", "ray.get", ...)
  int64_t start_us = 0;
  int64_t end_us = 0;
  int64_t args_end_us = 0;
  int64_t exec_end_us = 0;
  Source source = Source::kProcess;
  std::string_view task_id;  // at most 16 bytes (ids::kTaskIdSize)
  std::string_view job_id;
  std::string_view actor_id;
  std::string_view function;
  int32_t attempt = 0;
  int64_t value = -1;
  Extra extra;  // rare: Profile spans, transfers, task errors
};

/// An event on the wire: names and ids are indices into Batch::strings
/// (0: none), times are microseconds after Batch::base_us.
struct WireEvent {
  uint32_t type = 0;
  int64_t start = 0;
  int64_t duration = 0;
  uint32_t tid = 0;
  uint8_t source = 0;
  std::string task_id;
  uint32_t job = 0;
  uint32_t actor = 0;
  uint32_t function = 0;
  int32_t attempt = 0;
  int64_t args_duration = 0;  // task: from start to the end of deserialize_arguments
  int64_t exec_duration = 0;  // task: from start to the end of execute
  int64_t value = -1;
  Extra extra;
  MSGPACK_DEFINE(type, start, duration, tid, source, task_id, job, actor, function, attempt,
                 args_duration, exec_duration, value, extra);
};

/// What one process flushes at a time.
struct Batch {
  std::string component_type;  // "driver", "worker" or "node"
  std::string component_id;    // binary worker or driver id; empty for a node process
  int32_t pid = 0;
  uint64_t dropped = 0;        // events this process dropped since its last flush
  int64_t base_us = 0;
  std::vector<std::string> strings;  // [0] is ""
  std::vector<WireEvent> events;
  MSGPACK_DEFINE(component_type, component_id, pid, dropped, base_us, strings, events);

  /// The events with their names, ids and absolute times.
  std::vector<Event> Expand() const;
  /// Keeps only the events of `job_id`.
  void KeepJob(const std::string& job_id);
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

  /// Records `event`; its tid is the calling thread's.
  void Record(EventView event);
  void Record(const Event& event);
  /// Takes what was recorded since the last Take (events empty when nothing was).
  Batch Take();

 private:
  /// A recorded event: fixed size, no allocation (strings are table indices).
  struct Packed {
    int64_t start_us, end_us, args_end_us, exec_end_us, value;
    uint32_t tid, type, job, actor, function, extra;  // extra: index + 1 into extras_
    int32_t attempt;
    uint8_t source, task_len;
    char task_id[16];
  };
  Recorder();
  uint32_t Intern(std::string_view text);  // REQUIRES(mu_)

  std::atomic<bool> enabled_{true};
  std::mutex mu_;
  std::string component_type_;  // GUARDED_BY(mu_)
  std::string component_id_;    // GUARDED_BY(mu_)
  std::string job_id_;          // GUARDED_BY(mu_)
  uint64_t dropped_ = 0;        // GUARDED_BY(mu_)
  std::vector<Packed> packed_;  // GUARDED_BY(mu_)
  std::vector<Extra> extras_;   // GUARDED_BY(mu_)
  std::vector<std::string> strings_;                    // GUARDED_BY(mu_)
  std::unordered_multimap<size_t, uint32_t> by_hash_;  // GUARDED_BY(mu_)
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

/// An event of the runtime timed from construction to Finish (or
/// destruction); nothing is recorded when the recorder is off.
class Scoped {
 public:
  explicit Scoped(std::string_view type) {
    if (Recorder::Instance().enabled()) {
      active_ = true;
      view_.type = type;
      view_.start_us = NowMicros();
    }
  }
  ~Scoped() { Finish(); }
  Scoped(const Scoped&) = delete;
  Scoped& operator=(const Scoped&) = delete;
  bool active() const { return active_; }
  /// What to record (views must stay valid until Finish).
  EventView& view() { return view_; }
  /// Records the event now (once).
  void Finish() {
    if (!active_) return;
    active_ = false;
    view_.end_us = NowMicros();
    Recorder::Instance().Record(std::move(view_));
  }

 private:
  bool active_ = false;
  EventView view_;
};

}  // namespace ray::events

#endif  // RAY_ACTORS_COMMON_PROFILE_EVENTS_H_
