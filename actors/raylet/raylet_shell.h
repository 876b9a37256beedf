// The raylet's CAF shell (internal to actors/raylet): the Outbox and Timer
// of raylet::Core over CAF, and the handles of every actor the core names by
// id. raylet.cc builds the actor's behavior on it.
#ifndef RAY_ACTORS_RAYLET_RAYLET_SHELL_H_
#define RAY_ACTORS_RAYLET_RAYLET_SHELL_H_

#include <signal.h>
#include <unistd.h>

#include <caf/all.hpp>
#include <nlohmann/json_fwd.hpp>

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actors/common/metrics.h"
#include "actors/common/protocol.h"
#include "actors/interfaces/gcs.h"
#include "actors/interfaces/object_manager.h"
#include "actors/interfaces/raylet.h"
#include "actors/interfaces/worker.h"
#include "actors/net/atoms.h"
#include "actors/net/errors.h"
#include "actors/net/net.h"
#include "actors/net/safe_behavior.h"
#include "actors/raylet/raylet_core.h"
#include "actors/raylet/worker_launcher.h"

namespace ray::raylet::shell {

/// How the raylet names itself to the object manager (pins, gets).
constexpr const char* kRayletClient = "raylet";

class Shell;

struct ShellState {
  std::unique_ptr<Shell> shell;
  static inline const char* name = "raylet";
};

using Self = caf::stateful_actor<ShellState>*;

struct PeerHandles {
  RayletActor raylet;
  object_manager::ObjectManagerActor om;
};

/// An encoded T, or kNotFound when the GCS answered with nothing.
template <class T>
StatusOr<T> DecodeOrNotFound(const std::string& bytes) {
  if (bytes.empty()) return Status(Errc::kNotFound, "the GCS has no record");
  return proto::Decode<T>(bytes);
}

class Shell final : public Outbox, public Timer {
 public:
  Shell(Self self, RayletOptions options, caf::actor gcs, caf::actor om)
      : self_(self),
        gcs_(caf::actor_cast<gcs::GcsActor>(gcs)),
        om_(caf::actor_cast<object_manager::ObjectManagerActor>(om)),
        head_(options.head_address) {
    caf::actor me = caf::actor_cast<caf::actor>(self);
    launcher_ = std::make_unique<WorkerLauncher>(
        options.session_dir + "/logs", options.log_to_driver, [me](pid_t pid, int status) {
          caf::anon_send(me, exited_atom::value, static_cast<int32_t>(pid),
                         static_cast<int32_t>(status));
        });
    heartbeat_ms_ = options.heartbeat_period_ms;
    exit_on_removal_ = options.exit_on_removal;
    core_ = std::make_unique<Core>(std::move(options), this, launcher_.get(), this);
  }

  /// The actor's state goes when it exits (CAF destroys it first): so do its workers.
  ~Shell() override { core_->OnExit(); }

  Core& core() { return *core_; }

  // -- Outbox: this node's object manager -------------------------------------
  void PutObject(const proto::ObjectEntry& entry) override {
    self_->send(om_, atoms::put::value, proto::Encode(entry));
  }
  void UnpinObjects(const std::vector<std::string>& ids) override {
    self_->send(om_, atoms::unpin::value, std::string(kRayletClient), proto::Encode(ids));
  }
  void ReleaseObject(const std::string& id, bool free) override {
    if (free) {
      self_->send(om_, atoms::free_obj::value, id);
    } else {
      self_->send(om_, atoms::release::value, id);
    }
  }
  void WorkerGone(const std::string& worker_id) override {
    self_->send(om_, atoms::gone::value, worker_id);
    metrics_.Retire(worker_id);  // what it counted stays; its gauges go
  }
  void PeerRemoved(const std::string& node_id) override {
    peers_.erase(node_id);
    self_->send(om_, atoms::node_del::value, node_id);
  }
  void GetObjects(const std::vector<std::string>& ids,
                  Reply<std::vector<proto::ObjectEntry>> done) override {
    proto::GetRequest req{ids, -1, kRayletClient};
    Ask(om_, caf::infinite, std::move(done),
        [](const std::string& bytes) { return proto::Decode<proto::GetReply>(bytes).entries; },
        atoms::get::value, proto::Encode(req));
  }

  // -- Outbox: workers and drivers ---------------------------------------------
  void Execute(const std::string& worker_id, const proto::ExecRequest& request) override {
    if (auto w = workers_.find(worker_id); w != workers_.end()) {
      self_->send(w->second, atoms::exec::value, proto::Encode(request));
    }
  }
  void ExitWorker(const std::string& worker_id) override {
    if (auto w = workers_.find(worker_id); w != workers_.end()) {
      self_->send(w->second, atoms::exit_now::value);
    }
  }
  void StealTasks(const std::string& worker_id, Reply<std::vector<std::string>> done) override {
    auto w = workers_.find(worker_id);
    if (w == workers_.end()) return;  // gone: its death is handled where it is noticed
    Ask(w->second, caf::infinite, std::move(done), proto::Decode<std::vector<std::string>>,
        atoms::steal::value);
  }
  void PushResults(const std::string& driver_id,
                   const std::vector<proto::ObjectEntry>& entries) override {
    auto d = drivers_.find(driver_id);
    if (d != drivers_.end()) self_->send(d->second, atoms::results::value, proto::Encode(entries));
  }

  void TellWorkerGone(const std::string& driver_id, const std::string& worker_id) override {
    auto d = drivers_.find(driver_id);
    if (d != drivers_.end()) self_->send(d->second, atoms::gone::value, worker_id);
  }

  // -- Outbox: the GCS ---------------------------------------------------------
  void AppendLineage(const std::vector<proto::TaskSpec>& specs) override {
    self_->send(gcs_, atoms::lineage::value, proto::Encode(specs));
  }
  void ReportReleased(const std::vector<std::string>& ids) override {
    self_->send(gcs_, atoms::released::value, proto::Encode(ids));
  }
  void UpdateActor(const proto::ActorInfo& info) override {
    self_->send(gcs_, atoms::actor_upd::value, proto::Encode(info));
  }
  void RegisterJob(const proto::JobInfo& job) override {
    self_->send(gcs_, atoms::job_reg::value, proto::Encode(job));
  }
  void ReportJobEnded(const std::string& job_id) override {
    self_->send(gcs_, atoms::job_end::value, job_id);
  }
  void SubscribeRebuilt(const std::vector<std::string>& ids) override {
    self_->send(gcs_, atoms::rebuild_sub::value, proto::Encode(ids),
                caf::actor_cast<caf::actor>(om_));
  }
  void LookupActor(const std::string& actor_id, Reply<proto::ActorInfo> done) override {
    Ask(gcs_, std::chrono::seconds(30), std::move(done), DecodeOrNotFound<proto::ActorInfo>,
        atoms::actor_get::value, actor_id);
  }
  void LookupJob(const std::string& job_id, Reply<proto::JobInfo> done) override {
    Ask(gcs_, std::chrono::seconds(30), std::move(done), DecodeOrNotFound<proto::JobInfo>,
        atoms::job_info::value, job_id);
  }
  void FetchCode(const std::string& job_id, Reply<proto::CodePackage> done) override {
    Ask(gcs_, std::chrono::seconds(60), std::move(done), DecodeOrNotFound<proto::CodePackage>,
        atoms::code_get::value, job_id);
  }
  void FetchLineage(const std::string& object_id, Reply<proto::TaskSpec> done) override {
    Ask(gcs_, std::chrono::seconds(30), std::move(done), DecodeOrNotFound<proto::TaskSpec>,
        atoms::lineage_get::value, object_id);
  }
  void LocateNow(const std::vector<std::string>& ids,
                 Reply<std::vector<proto::Location>> done) override {
    Ask(gcs_, std::chrono::seconds(10), std::move(done),
        proto::Decode<std::vector<proto::Location>>, atoms::locs_now::value, proto::Encode(ids));
  }

  // -- Outbox: other nodes -------------------------------------------------------
  void SubmitToPeer(const std::string& node_id, const proto::TaskSpec& spec) override {
    if (auto p = peers_.find(node_id); p != peers_.end()) {
      self_->send(p->second.raylet, atoms::submit::value, proto::Encode(spec));
    }
  }
  void ReturnToOrigin(const std::string& node_id, const std::string& task_id,
                      const std::vector<proto::ObjectEntry>& entries) override {
    if (auto p = peers_.find(node_id); p != peers_.end()) {
      self_->send(p->second.raylet, atoms::fwd_done::value, task_id, proto::Encode(entries));
    }
  }
  void KillOnPeer(const std::string& node_id, const std::string& actor_id,
                  bool no_restart) override {
    if (auto p = peers_.find(node_id); p != peers_.end()) {
      self_->send(p->second.raylet, atoms::kill::value, actor_id, no_restart);
    }
  }
  void ConnectToPeer(const std::string& address) override;

  // -- Timer ---------------------------------------------------------------------
  std::chrono::steady_clock::time_point Now() override { return std::chrono::steady_clock::now(); }
  void After(std::chrono::milliseconds delay, std::function<void()> fn) override {
    uint64_t id = next_timer_++;
    timers_.emplace(id, std::move(fn));
    if (delay.count() == 0) {
      self_->send(self_, timer_atom::value, id);
    } else {
      self_->delayed_send(self_, delay, timer_atom::value, id);
    }
  }
  void Fire(uint64_t id) {
    auto it = timers_.find(id);
    if (it == timers_.end()) return;
    auto fn = std::move(it->second);
    timers_.erase(it);
    fn();
  }

  // -- messages the behavior hands over ---------------------------------------------
  caf::result<std::string, caf::actor, caf::actor> Hello(const std::string& bytes,
                                                         const caf::actor& client);
  void OnDown(const caf::down_msg& msg);
  void StartHeartbeats(const std::string& record);
  void Heartbeat();
  void Reconnect();
  void OnGcsBack(const caf::actor& gcs);
  void AddPeer(const std::string& bytes, const caf::actor& raylet, const caf::actor& om);
  caf::result<int32_t, caf::actor, std::string> RouteToActor(const std::string& actor_id);
  void OnWorkerExited(pid_t pid, int status) {
    auto w = core_->state().worker_by_pid.find(pid);
    if (w != core_->state().worker_by_pid.end()) workers_.erase(w->second);
    core_->OnWorkerExited(pid, status);
  }
  std::string Stats() const {
    // This process's counts, since it started (net.h, safe_behavior.h).
    return core_->Stats() + " refused_connections=" + std::to_string(net::RejectedConnections()) +
           " dropped_messages=" + std::to_string(safe::Dropped());
  }
  const gcs::GcsActor& gcs() const { return gcs_; }

  // -- raylet_observe.cc: profile events and observe queries -------------------------
  /// (ev_add) from a process of this node: on to the GCS, with this node's id.
  bool AddEvents(uint32_t count, const std::string& batch);
  /// The node process's own events (raylet, object manager), when it is a raynode.
  void FlushOwnEvents();
  /// (ev_flush): every worker's events and this process's go to the GCS; true then.
  caf::result<bool> FlushEvents();
  /// (job_end): the job's workers flush their events, then the core ends the job.
  void EndJob(const std::string& job_id);
  caf::result<std::string> Observe(const std::string& kind, const std::string& args);
  /// (bundle, op, group, index, Bundle) from the GCS: prepare (true when set
  /// aside), commit or return a placement group's bundle.
  bool Bundle(const std::string& op, const std::string& group, int32_t index,
              const std::string& bundle);
  /// (metrics) from a process of this node: its latest metrics::Snapshot.
  void AddMetrics(const std::string& client_id, const std::string& snapshot);
  /// A stack capture thread finished (stack_done).
  void OnStacks(uint64_t token, const std::string& json_text);
  const object_manager::ObjectManagerActor& om() const { return om_; }

 private:
  /// This process's events and every worker's go to the GCS, then `done` runs.
  void FlushAll(std::function<void()> done);
  /// Asks each of these workers to flush its events (kFlushWait at most), then runs `done`.
  void FlushWorkers(const std::vector<std::string>& worker_ids, std::function<void()> done);
  /// Every worker's stacks, or (args["pid"]) only that worker's; one capture at a time.
  caf::result<std::string> Stacks(const nlohmann::json& args);
  /// The object manager's objects and every local process's ObjectRefs.
  caf::result<std::string> Memory(const std::string& args);
  caf::result<std::string> Logs(const nlohmann::json& args);

  /// A request whose answer is one encoded payload: `decode` turns it into the
  /// value (or a Status) for `done`; a failed request becomes its Status.
  template <class T, class Dest, class Timeout, class Decode, class... Ts>
  void Ask(const Dest& dest, Timeout timeout, Reply<T> done, Decode decode, Ts&&... xs) {
    self_->request(dest, timeout, std::forward<Ts>(xs)...)
        .then(safe::Guard(self_, "raylet",
                          [done, decode](const std::string& bytes) {
                            done(StatusOr<T>(decode(bytes)));
                          }),
              safe::Guard(self_, "raylet", [done](caf::error& err) { done(net::ToStatus(err)); }));
  }

  Self self_;
  gcs::GcsActor gcs_;
  object_manager::ObjectManagerActor om_;
  std::string head_;  // non-head nodes: where to find the GCS again
  int64_t heartbeat_ms_ = 500;
  bool exit_on_removal_ = false;
  std::string record_;  // this node's NodeRecord, to register again
  std::unordered_map<std::string, worker::WorkerActor> workers_;  // worker id -> its actor
  std::unordered_map<std::string, caf::actor> drivers_;  // driver client id -> its anchor
  std::unordered_map<std::string, caf::actor> job_drivers_;  // job -> its driver
  std::unordered_map<std::string, PeerHandles> peers_;
  std::unordered_map<uint64_t, std::function<void()>> timers_;
  uint64_t next_timer_ = 1;
  std::unordered_map<uint64_t, caf::response_promise> stack_promises_;
  uint64_t next_stack_ = 1;
  bool stack_running_ = false;  // a capture thread runs: another is refused
  std::chrono::steady_clock::time_point last_events_flush_{};
  metrics::NodeMetrics metrics_;  // the user metrics of this node's processes
  // The launcher outlives the core, which calls it.
  std::unique_ptr<WorkerLauncher> launcher_;
  std::unique_ptr<Core> core_;
};

}  // namespace ray::raylet::shell

#endif  // RAY_ACTORS_RAYLET_RAYLET_SHELL_H_
