#include "actors/raylet/raylet.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>

#include <algorithm>
#include <limits>
#include <deque>
#include <sstream>
#include <memory>
#include <set>
#include <unordered_map>

#include <caf/io/all.hpp>

#include "actors/common/atoms.h"
#include "actors/common/ids.h"
#include "actors/common/logging.h"
#include "actors/common/protocol.h"
#include "actors/raylet/resource_pool.h"
#include "actors/raylet/worker_launcher.h"

namespace ray::raylet {
namespace {

using address_atom = caf::atom_constant<caf::atom("address")>;
using exited_atom = caf::atom_constant<caf::atom("exited")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using hb_start_atom = caf::atom_constant<caf::atom("hb_start")>;
using hb_tick_atom = caf::atom_constant<caf::atom("hb_tick")>;
using lookup_actor_atom = caf::atom_constant<caf::atom("act_look")>;
using release_flush_atom = caf::atom_constant<caf::atom("rel_flush")>;
using reconnect_atom = caf::atom_constant<caf::atom("reconnect")>;
using gcs_back_atom = caf::atom_constant<caf::atom("gcs_back")>;

/// A task is forwarded to another node at most once (no ping-pong on stale views).
constexpr int kMaxHops = 1;

constexpr const char* kRayletClient = "raylet";

struct Worker {
  std::string id;
  pid_t pid = -1;
  std::string job_id;
  caf::actor handle;       // set by hello
  bool idle = false;
  bool dead = false;
  bool exiting = false;    // max_calls reached or ExitActor
  std::deque<std::string> assigned;  // normal tasks sent, in order; the first one runs
  ResourceRequest lease;             // resource shape of the tasks it holds
  std::string actor_id;    // dedicated actor worker
  bool blocked = false;
  ResourceAllocation allocation;
  ResourceAllocation lent_cpu;  // CPU given back while blocked in Get
};

struct Task {
  proto::TaskSpec spec;
  uint64_t seq = 0;  // submission order on this raylet
  std::vector<proto::ObjectEntry> resolved;
  bool deps_ready = false;
  int attempts = 0;
  std::string worker_id;
  bool warned_infeasible = false;
};

enum class ActorState { kPending, kAlive, kRestarting, kDead };

struct ActorRecord {
  proto::TaskSpec creation;
  ActorState state = ActorState::kPending;
  std::string worker_id;
  int restarts = 0;
  std::deque<std::string> queue;      // calls not sent yet, in submission order
  std::set<std::string> inflight;     // calls sent to the worker
  ResourceAllocation allocation;
  std::string death_cause;
  bool needs_worker = false;
  bool warned_infeasible = false;
};

struct Job {
  std::string executable;
  std::vector<std::string> code_search_path;
  caf::actor driver;
  bool finished = false;  // its driver disconnected: nothing of it runs again
};

/// Another node of the cluster, as the GCS last described it.
struct Peer {
  proto::NodeRecord record;  // `available` from the last heartbeat, minus what we sent since
  caf::actor raylet;
  caf::actor om;
  bool confirmed = true;     // false after a GCS restart until the GCS lists it again
};

/// A task this raylet sent to another node, kept until its results come back.
struct Forwarded {
  std::string node;
  proto::TaskSpec spec;
  int attempts = 0;
  uint64_t seq = 0;  // forwarding order
};

struct State {
  RayletOptions options;
  std::map<std::string, Peer> peers;
  std::unordered_map<std::string, Forwarded> forwarded;
  uint64_t next_seq = 1;
  std::unordered_map<std::string, std::string> actor_home;  // remote actor -> its node
  std::unordered_map<std::string, std::string> remote_actor_dead;  // actor -> cause
  std::unordered_map<std::string, std::vector<proto::TaskSpec>> awaiting_actor;  // GCS lookup
  std::set<std::string> job_lookups;  // jobs of other nodes being fetched from the GCS
  std::set<std::string> rebuilding;   // tasks re-run to rebuild lost objects
  uint64_t rebuilds = 0;
  /// Actors this raylet placed on other nodes: their creation (restarted
  /// elsewhere when that node dies, within max_restarts).
  std::unordered_map<std::string, proto::TaskSpec> remote_creations;
  std::unordered_map<std::string, int> actor_lookups;  // retries while an actor restarts
  caf::actor gcs;
  caf::actor om;
  std::string host;
  uint16_t port = 0;
  ResourcePool pool;
  std::unique_ptr<WorkerLauncher> launcher;
  std::unordered_map<std::string, Worker> workers;
  std::unordered_map<pid_t, std::string> worker_by_pid;
  std::unordered_map<std::string, Task> tasks;        // normal tasks and actor calls
  std::deque<std::string> ready;                      // normal tasks with deps resolved
  std::unordered_map<std::string, ActorRecord> actors;
  std::unordered_map<std::string, Job> jobs;
  std::unordered_map<std::string, caf::actor> drivers;  // client id -> its anchor
  std::vector<proto::TaskSpec> lineage_batch;
  std::vector<std::string> release_batch;  // to the GCS: lineage garbage collection
  std::string record;           // this node's NodeRecord, to register again
  bool gcs_lost = false;        // the head is gone: reconnecting, batches wait
  std::chrono::steady_clock::time_point reregistered;  // prune vanished peers after a while
  bool prune_pending = false;
  bool release_flush_pending = false;
  int startup_failures = 0;
  bool shutting_down = false;
  uint64_t tasks_done = 0;
  static inline const char* name = "raylet";
};

using Self = caf::stateful_actor<State>*;

std::string ActorStateName(ActorState s) {
  switch (s) {
    case ActorState::kPending: return "PENDING";
    case ActorState::kAlive: return "ALIVE";
    case ActorState::kRestarting: return "RESTARTING";
    case ActorState::kDead: return "DEAD";
  }
  return "?";
}

std::string DisplayName(const proto::TaskSpec& spec) {
  return spec.name.empty() ? spec.function : spec.name;
}

proto::ObjectEntry ErrorEntry(const std::string& id, proto::ErrorKind kind,
                              const std::string& type, const std::string& message,
                              const std::string& task_name) {
  proto::ErrorInfo info{static_cast<uint8_t>(kind), type, message, task_name};
  return {id, static_cast<uint8_t>(proto::ObjectKind::kError), proto::Encode(info), -1, 0};
}

void PutEntry(Self self, const proto::ObjectEntry& entry) {
  self->send(self->state.om, atoms::put::value, proto::Encode(entry));
}

/// Stores a task's results here and, when it came from another node, sends
/// the small ones back there (large ones are pulled through the GCS directory).
/// A driver on this node gets the small results of its own tasks pushed to
/// it (Ray returns small values inline to the owner): its Get and Wait then
/// find them without asking the object manager.
void PushToCaller(Self self, const proto::TaskSpec& spec,
                  const std::vector<proto::ObjectEntry>& entries) {
  auto& st = self->state;
  auto d = st.drivers.find(spec.caller_id);
  if (d == st.drivers.end()) return;
  std::vector<proto::ObjectEntry> small;
  for (const auto& e : entries) {
    if (e.kind == static_cast<uint8_t>(proto::ObjectKind::kInline)) small.push_back(e);
  }
  if (!small.empty()) self->send(d->second, atoms::results::value, proto::Encode(small));
}

void Deliver(Self self, const proto::TaskSpec& spec, const std::vector<proto::ObjectEntry>& entries) {
  auto& st = self->state;
  for (const auto& e : entries) PutEntry(self, e);
  PushToCaller(self, spec, entries);
  st.rebuilding.erase(spec.task_id);
  if (spec.origin_node.empty() || spec.origin_node == st.options.node_id) return;
  auto origin = st.peers.find(spec.origin_node);
  if (origin == st.peers.end()) return;
  std::vector<proto::ObjectEntry> small;
  for (const auto& e : entries) {
    if (e.kind != static_cast<uint8_t>(proto::ObjectKind::kShm)) small.push_back(e);
  }
  self->send(origin->second.raylet, atoms::fwd_done::value, spec.task_id, proto::Encode(small));
}

void FailReturns(Self self, const proto::TaskSpec& spec, proto::ErrorKind kind,
                 const std::string& type, const std::string& message) {
  std::vector<proto::ObjectEntry> entries;
  for (const auto& id : spec.return_ids) {
    entries.push_back(ErrorEntry(id, kind, type, message, DisplayName(spec)));
  }
  Deliver(self, spec, entries);
}

void UnpinArgs(Self self, const Task& task) {
  std::vector<std::string> pinned;
  for (const auto& e : task.resolved) {
    if (e.kind == static_cast<uint8_t>(proto::ObjectKind::kShm)) pinned.push_back(e.id);
  }
  if (!pinned.empty()) {
    self->send(self->state.om, atoms::unpin::value, std::string(kRayletClient),
               proto::Encode(pinned));
  }
}

void FlushLineage(Self self) {
  auto& st = self->state;
  if (st.lineage_batch.empty() || st.gcs_lost) return;  // kept until the GCS is back
  self->send(st.gcs, atoms::lineage::value, proto::Encode(st.lineage_batch));
  st.lineage_batch.clear();
}

/// Sends the owners' releases to the GCS (lineage garbage collection), after
/// the records they concern: same destination, same sender, so in order.
/// Batched (512 ids or 20 ms): they are off every task's path.
void FlushReleases(Self self) {
  auto& st = self->state;
  FlushLineage(self);
  if (st.release_batch.empty() || st.gcs_lost) return;
  self->send(st.gcs, atoms::released::value, proto::Encode(st.release_batch));
  st.release_batch.clear();
}

void PublishActor(Self self, const std::string& actor_id) {
  auto& a = self->state.actors[actor_id];
  proto::ActorInfo info{actor_id, a.creation.actor_name, a.creation.job_id,
                        ActorStateName(a.state), a.creation.function, a.restarts,
                        a.death_cause, self->state.options.node_id};
  self->send(self->state.gcs, atoms::actor_upd::value, proto::Encode(info));
}

void Schedule(Self self);
void PipelineToBusyWorkers(Self self);
void EnsureJob(Self self, const std::string& job_id);
void WarnIfInfeasible(Self self, const proto::TaskSpec& spec, bool* warned);

// -- workers ------------------------------------------------------------------

void StartWorker(Self self, const std::string& job_id) {
  auto& st = self->state;
  auto job = st.jobs.find(job_id);
  if (job == st.jobs.end()) {
    EnsureJob(self, job_id);  // a job started on another node
    return;
  }
  if (job->second.finished || st.port == 0) return;
  std::string worker_id = ids::Random(16);
  std::vector<std::string> argv;
  std::map<std::string, std::string> env = st.options.worker_env;
  if (!job->second.code_search_path.empty()) {
    argv = {st.options.default_worker};
    std::string joined;
    for (const auto& p : job->second.code_search_path) joined += (joined.empty() ? "" : ":") + p;
    env["RAY_CODE_SEARCH_PATH"] = joined;
  } else {
    argv = {job->second.executable};
    env["LD_PRELOAD"] = st.options.preload_library;
  }
  env["RAY_WORKER_MODE"] = "1";
  env["RAY_NODE_ADDRESS"] = st.host + ":" + std::to_string(st.port);
  env["RAY_WORKER_ID"] = ids::Hex(worker_id);
  env["RAY_JOB_ID"] = ids::Hex(job_id);
  env["RAY_NODE_PID"] = std::to_string(getpid());
  std::string error;
  pid_t pid = st.launcher->Launch(argv, env, &error);
  if (pid < 0) {
    RAY_LOG(Warning) << error;
    ++st.startup_failures;
    return;
  }
  Worker w;
  w.id = worker_id;
  w.pid = pid;
  w.job_id = job_id;
  st.worker_by_pid[pid] = worker_id;
  st.workers.emplace(worker_id, std::move(w));
}

void Dispatch(Self self, Task& task, Worker& w, ResourceAllocation allocation) {
  FlushLineage(self);  // the lineage record leaves before the task runs
  proto::ExecRequest req{task.spec, task.resolved, allocation};
  w.idle = false;
  if (task.spec.Kind() == proto::TaskKind::kNormal) {
    if (w.assigned.empty()) {
      w.allocation = std::move(allocation);
      w.lease = task.spec.resources;
    }
    w.assigned.push_back(task.spec.task_id);
  }
  task.worker_id = w.id;
  self->send(w.handle, atoms::exec::value, proto::Encode(req));
}

// -- actors -------------------------------------------------------------------

void FailActorCall(Self self, const std::string& task_id, const std::string& cause) {
  auto& st = self->state;
  auto t = st.tasks.find(task_id);
  if (t == st.tasks.end()) return;
  FailReturns(self, t->second.spec, proto::ErrorKind::kActor, "RayActorException", cause);
  UnpinArgs(self, t->second);
  st.tasks.erase(t);
}

void MarkActorDead(Self self, const std::string& actor_id, const std::string& cause) {
  auto& a = self->state.actors[actor_id];
  a.state = ActorState::kDead;
  a.death_cause = cause;
  std::string msg = "actor " + ids::Hex(actor_id) + " is dead: " + cause;
  for (const auto& id : a.queue) FailActorCall(self, id, msg);
  for (const auto& id : a.inflight) FailActorCall(self, id, msg);
  a.queue.clear();
  a.inflight.clear();
  self->state.pool.Release(a.allocation);
  a.allocation.clear();
  PublishActor(self, actor_id);
}

/// Sends queued calls whose arguments are resolved, in order, stopping at the first that is not.
void PumpActor(Self self, const std::string& actor_id) {
  auto& st = self->state;
  auto& a = st.actors[actor_id];
  if (a.state != ActorState::kAlive) return;
  auto w = st.workers.find(a.worker_id);
  if (w == st.workers.end()) return;
  while (!a.queue.empty()) {
    auto t = st.tasks.find(a.queue.front());
    if (t == st.tasks.end()) {
      a.queue.pop_front();
      continue;
    }
    if (!t->second.deps_ready) break;
    a.inflight.insert(t->first);
    a.queue.pop_front();
    Dispatch(self, t->second, w->second, {});
  }
}

void StartActorCreation(Self self, const std::string& actor_id) {
  auto& a = self->state.actors[actor_id];
  a.needs_worker = true;
  Schedule(self);
}

void OnActorWorkerLost(Self self, const std::string& actor_id, const std::string& cause) {
  auto& st = self->state;
  auto& a = st.actors[actor_id];
  std::string msg = "actor " + ids::Hex(actor_id) + " died: " + cause;
  auto job = st.jobs.find(a.creation.job_id);
  bool will_restart = a.state != ActorState::kDead && !st.shutting_down &&
                      !(job != st.jobs.end() && job->second.finished) &&
                      (a.creation.max_restarts < 0 || a.restarts < a.creation.max_restarts);
  // Calls in flight fail, except those allowed retries: they run again, in
  // their order, on the restarted instance.
  std::vector<std::pair<uint64_t, std::string>> again;
  for (const auto& id : a.inflight) {
    auto t = st.tasks.find(id);
    if (will_restart && t != st.tasks.end() && t->second.attempts < t->second.spec.max_retries) {
      ++t->second.attempts;
      again.emplace_back(t->second.seq, id);
    } else {
      FailActorCall(self, id, msg);
    }
  }
  std::sort(again.begin(), again.end());
  for (auto it = again.rbegin(); it != again.rend(); ++it) a.queue.push_front(it->second);
  a.inflight.clear();
  st.pool.Release(a.allocation);
  a.allocation.clear();
  a.worker_id.clear();
  if (a.state == ActorState::kDead || st.shutting_down) return;
  if (job != st.jobs.end() && job->second.finished) {
    MarkActorDead(self, actor_id, "its driver exited");
    return;
  }
  int max = a.creation.max_restarts;
  if (max < 0 || a.restarts < max) {
    ++a.restarts;
    a.state = ActorState::kRestarting;
    PublishActor(self, actor_id);
    StartActorCreation(self, actor_id);
  } else {
    std::string why = cause;
    if (max > 0) why += " (restarted " + std::to_string(a.restarts) + " times, max_restarts=" +
                       std::to_string(max) + ")";
    MarkActorDead(self, actor_id, why);
  }
}

// -- task lifecycle -----------------------------------------------------------

void ResolveDependencies(Self self, const std::string& task_id) {
  auto& st = self->state;
  auto& task = st.tasks[task_id];
  std::vector<std::string> refs;
  for (const auto& a : task.spec.args) {
    if (a.is_ref) refs.push_back(a.object_id);
  }
  auto on_ready = [self, task_id](std::vector<proto::ObjectEntry> entries) {
    auto& st = self->state;
    auto t = st.tasks.find(task_id);
    if (t == st.tasks.end()) return;
    Task& task = t->second;
    task.resolved = std::move(entries);
    task.deps_ready = true;
    for (const auto& e : task.resolved) {
      if (e.kind != static_cast<uint8_t>(proto::ObjectKind::kError)) continue;
      // An argument failed: the error propagates to this task's returns.
      auto info = proto::Decode<proto::ErrorInfo>(e.data);
      std::vector<proto::ObjectEntry> copies;
      for (const auto& id : task.spec.return_ids) {
        copies.push_back(e);
        copies.back().id = id;
      }
      Deliver(self, task.spec, copies);
      UnpinArgs(self, task);
      if (task.spec.Kind() == proto::TaskKind::kActorCreation) {
        std::string actor_id = task.spec.actor_id;
        st.tasks.erase(t);
        MarkActorDead(self, actor_id, "an argument of its constructor failed: " + info.message);
        return;
      }
      if (task.spec.Kind() == proto::TaskKind::kActorMethod) {
        std::string actor_id = task.spec.actor_id;
        st.tasks.erase(t);
        PumpActor(self, actor_id);
        return;
      }
      st.tasks.erase(t);
      return;
    }
    switch (task.spec.Kind()) {
      case proto::TaskKind::kNormal:
        WarnIfInfeasible(self, task.spec, &task.warned_infeasible);
        st.ready.push_back(task_id);
        Schedule(self);
        break;
      case proto::TaskKind::kActorCreation:
        StartActorCreation(self, task.spec.actor_id);
        break;
      case proto::TaskKind::kActorMethod:
        PumpActor(self, task.spec.actor_id);
        break;
    }
  };
  if (refs.empty()) {
    on_ready({});
    return;
  }
  proto::GetRequest req{refs, -1, kRayletClient};
  self->request(st.om, caf::infinite, atoms::get::value, proto::Encode(req))
      .then([on_ready](const std::string& bytes) {
        on_ready(proto::Decode<proto::GetReply>(bytes).entries);
      });
}

// -- other nodes ----------------------------------------------------------------

bool Fits(const std::map<std::string, double>& have, const ResourceRequest& request) {
  for (const auto& [name, amount] : request) {
    if (amount <= 0) continue;
    auto it = have.find(name);
    if (it == have.end() || it->second + 1e-9 < amount) return false;
  }
  return true;
}

/// The peer to send `request` to: one with it available now (most free CPU
/// first), or with `any_total` one that has it at all. Empty when none.
std::string PickPeer(Self self, const ResourceRequest& request, bool any_total) {
  auto& st = self->state;
  std::string best;
  double best_cpu = -std::numeric_limits<double>::infinity();
  for (auto& [id, p] : st.peers) {
    if (!p.confirmed || !Fits(p.record.total, request)) continue;
    if (!any_total && !Fits(p.record.available, request)) continue;
    double cpu = p.record.available.count("CPU") ? p.record.available.at("CPU") : 0;
    if (cpu > best_cpu) {
      best_cpu = cpu;
      best = id;
    }
  }
  if (!best.empty()) {
    // Count it as taken until the next heartbeat, so a backlog spreads out.
    for (const auto& [name, amount] : request) st.peers[best].record.available[name] -= amount;
  }
  return best;
}

/// Sends a task or actor call to another node's raylet.
void Forward(Self self, proto::TaskSpec spec, const std::string& node, int attempts = 0) {
  auto& st = self->state;
  auto peer = st.peers.find(node);
  if (peer == st.peers.end()) return;
  ++spec.hops;
  FlushLineage(self);  // logged here before it runs there
  self->send(peer->second.raylet, atoms::submit::value, proto::Encode(spec));
  if (spec.Kind() != proto::TaskKind::kActorCreation) {
    std::string id = spec.task_id;
    st.forwarded[id] = Forwarded{node, std::move(spec), attempts, st.next_seq++};
  }
}

/// Where an actor should live: here when it fits now, else a peer where it
/// fits now, else here when it fits at all, else any peer where it does.
std::string PlaceActor(Self self, const ResourceRequest& request) {
  auto& st = self->state;
  ResourcePool probe = st.pool;
  if (st.peers.empty() || probe.Acquire(request)) return st.options.node_id;
  std::string peer = PickPeer(self, request, false);
  if (!peer.empty()) return peer;
  if (st.pool.Feasible(request)) return st.options.node_id;
  peer = PickPeer(self, request, true);
  return peer.empty() ? st.options.node_id : peer;
}

void SubmitLocal(Self self, proto::TaskSpec spec);
void LookupActor(Self self, const std::string& actor_id);

/// Sends calls for an actor hosted elsewhere to its node, asking the GCS
/// where that is the first time.
void RouteActorCall(Self self, proto::TaskSpec spec) {
  auto& st = self->state;
  std::string actor_id = spec.actor_id;
  if (auto home = st.actor_home.find(actor_id); home != st.actor_home.end()) {
    Forward(self, std::move(spec), home->second);
    return;
  }
  if (auto dead = st.remote_actor_dead.find(actor_id); dead != st.remote_actor_dead.end()) {
    FailReturns(self, spec, proto::ErrorKind::kActor, "RayActorException",
                "actor " + ids::Hex(actor_id) + " is dead: " + dead->second);
    return;
  }
  auto& waiting = st.awaiting_actor[actor_id];
  waiting.push_back(std::move(spec));
  if (waiting.size() == 1) LookupActor(self, actor_id);  // else one is on its way
}

/// Asks the GCS where an actor lives, then routes the calls waiting for it.
void LookupActor(Self self, const std::string& actor_id) {
  auto resolve = [self, actor_id](const std::string& bytes) {
    auto& st = self->state;
    std::string cause = "unknown actor";
    if (!bytes.empty()) {
      auto info = proto::Decode<proto::ActorInfo>(bytes);
      if (info.state == "DEAD") {
        cause = info.death_cause;
      } else if (st.peers.count(info.node_id)) {
        auto calls = std::move(st.awaiting_actor[actor_id]);
        st.awaiting_actor.erase(actor_id);
        st.actor_lookups.erase(actor_id);
        st.actor_home[actor_id] = info.node_id;
        for (auto& c : calls) Forward(self, std::move(c), info.node_id);
        return;
      } else if (info.node_id == st.options.node_id && st.actors.count(actor_id)) {
        auto calls = std::move(st.awaiting_actor[actor_id]);
        st.awaiting_actor.erase(actor_id);
        st.actor_lookups.erase(actor_id);
        for (auto& c : calls) SubmitLocal(self, std::move(c));
        return;
      } else if (++st.actor_lookups[actor_id] <= 20) {
        // Its node is gone; it may be restarting elsewhere: ask again shortly.
        self->delayed_send(self, std::chrono::milliseconds(500), lookup_actor_atom::value,
                           actor_id);
        return;
      } else {
        cause = "its node " + ids::Hex(info.node_id) + " is not in the cluster";
      }
    }
    auto calls = std::move(st.awaiting_actor[actor_id]);
    st.awaiting_actor.erase(actor_id);
    st.actor_lookups.erase(actor_id);
    st.remote_actor_dead[actor_id] = cause;
    for (auto& c : calls) {
      FailReturns(self, c, proto::ErrorKind::kActor, "RayActorException",
                  "actor " + ids::Hex(actor_id) + " is dead: " + cause);
    }
  };
  self->request(self->state.gcs, std::chrono::seconds(30), atoms::actor_get::value, actor_id)
      .then(resolve, [resolve](caf::error&) { resolve(std::string()); });
}

/// Large arguments already on another node pull the task there, when that
/// node can run it.
void SubmitWithLocality(Self self, proto::TaskSpec spec) {
  auto& st = self->state;
  std::vector<std::string> refs;
  for (const auto& a : spec.args) {
    if (a.is_ref) refs.push_back(a.object_id);
  }
  std::string task_id = spec.task_id;
  st.tasks[task_id].spec = std::move(spec);
  auto local = [self, task_id] { ResolveDependencies(self, task_id); };
  self->request(st.gcs, std::chrono::seconds(10), atoms::locs_now::value, proto::Encode(refs))
      .then(
          [self, task_id, local](const std::string& bytes) {
            auto& st = self->state;
            auto t = st.tasks.find(task_id);
            if (t == st.tasks.end()) return;
            std::map<std::string, uint64_t> bytes_on;
            for (const auto& loc : proto::Decode<std::vector<proto::Location>>(bytes)) {
              if (loc.size > proto::kInlineObjectLimit) bytes_on[loc.node_id] += loc.size;
            }
            std::string best = st.options.node_id;
            uint64_t most = bytes_on[best];
            for (const auto& [node, n] : bytes_on) {
              auto peer = st.peers.find(node);
              if (n > most && peer != st.peers.end() &&
                  Fits(peer->second.record.total, t->second.spec.resources)) {
                best = node;
                most = n;
              }
            }
            if (best == st.options.node_id) {
              local();
              return;
            }
            proto::TaskSpec spec = std::move(t->second.spec);
            st.tasks.erase(t);
            Forward(self, std::move(spec), best);
          },
          [local](caf::error&) { local(); });
}

void Submit(Self self, proto::TaskSpec spec) {
  auto& st = self->state;
  if (spec.origin_node.empty()) spec.origin_node = st.options.node_id;
  if (spec.hops == 0) {
    st.lineage_batch.push_back(spec);
    if (st.lineage_batch.size() >= 256) FlushLineage(self);
  }
  if (!st.peers.empty() && spec.hops < kMaxHops) {
    switch (spec.Kind()) {
      case proto::TaskKind::kNormal: {
        if (!st.pool.Feasible(spec.resources)) {
          // Never runs here: send it on now, without fetching its arguments here.
          std::string node = PickPeer(self, spec.resources, false);
          if (node.empty()) node = PickPeer(self, spec.resources, true);
          if (!node.empty()) {
            Forward(self, std::move(spec), node);
            return;
          }
        }
        bool has_refs = false;
        for (const auto& a : spec.args) has_refs = has_refs || a.is_ref;
        if (has_refs && !st.gcs_lost) {  // locations come from the GCS
          SubmitWithLocality(self, std::move(spec));
          return;
        }
        break;
      }
      case proto::TaskKind::kActorCreation: {
        std::string node = PlaceActor(self, spec.resources);
        if (node != st.options.node_id) {
          st.actor_home[spec.actor_id] = node;
          st.remote_creations[spec.actor_id] = spec;
          Forward(self, std::move(spec), node);
          return;
        }
        break;
      }
      case proto::TaskKind::kActorMethod:
        if (!st.actors.count(spec.actor_id)) {
          RouteActorCall(self, std::move(spec));
          return;
        }
        break;
    }
  }
  SubmitLocal(self, std::move(spec));
}

void SubmitLocal(Self self, proto::TaskSpec spec) {
  auto& st = self->state;
  std::string task_id = spec.task_id;
  switch (spec.Kind()) {
    case proto::TaskKind::kNormal:
      break;
    case proto::TaskKind::kActorCreation: {
      auto& a = st.actors[spec.actor_id];
      a.creation = spec;
      a.state = ActorState::kPending;
      PublishActor(self, spec.actor_id);
      break;
    }
    case proto::TaskKind::kActorMethod: {
      auto a = st.actors.find(spec.actor_id);
      if (a == st.actors.end() || a->second.state == ActorState::kDead) {
        std::string cause = a == st.actors.end() ? "unknown actor" : a->second.death_cause;
        FailReturns(self, spec, proto::ErrorKind::kActor, "RayActorException",
                    "actor " + ids::Hex(spec.actor_id) + " is dead: " + cause);
        return;
      }
      a->second.queue.push_back(task_id);
      break;
    }
  }
  Task& task = st.tasks[task_id];
  task.spec = std::move(spec);
  task.seq = st.next_seq++;
  ResolveDependencies(self, task_id);
}

/// Puts tasks a worker gave back (unstarted) at the front of the queue, in order.
void Requeue(Self self, Worker& w, const std::vector<std::string>& ids) {
  auto& st = self->state;
  for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
    auto pos = std::find(w.assigned.begin(), w.assigned.end(), *it);
    if (pos == w.assigned.end()) continue;
    w.assigned.erase(pos);
    if (st.tasks.count(*it)) st.ready.push_front(*it);
  }
}

void FinishNormalTask(Self self, Worker& w, const proto::ExecReply& reply) {
  auto& st = self->state;
  auto t = st.tasks.find(reply.task_id);
  auto pos = std::find(w.assigned.begin(), w.assigned.end(), reply.task_id);
  if (pos != w.assigned.end()) w.assigned.erase(pos);
  Requeue(self, w, reply.returned);
  w.blocked = false;
  w.lent_cpu.clear();
  if (w.assigned.empty() || reply.exiting) {
    st.pool.Release(w.allocation);
    w.allocation.clear();
  }
  if (t != st.tasks.end()) {
    Task& task = t->second;
    if (reply.user_error && task.spec.retry_exceptions && task.attempts < task.spec.max_retries) {
      ++task.attempts;
      st.ready.push_back(reply.task_id);
    } else {
      Deliver(self, task.spec, reply.results);
      UnpinArgs(self, task);
      st.tasks.erase(t);
      ++st.tasks_done;
    }
  }
  if (reply.exiting) {
    w.exiting = true;
    self->send(w.handle, atoms::exit_now::value);
  } else if (w.assigned.empty()) {
    w.idle = true;
  }
}

void HandleDone(Self self, const proto::ExecReply& reply) {
  auto& st = self->state;
  auto wit = st.workers.find(reply.worker_id);
  if (wit == st.workers.end()) return;
  Worker& w = wit->second;
  if (!w.actor_id.empty()) {
    auto& a = st.actors[w.actor_id];
    auto t = st.tasks.find(reply.task_id);
    if (t == st.tasks.end()) return;
    bool creation = t->second.spec.Kind() == proto::TaskKind::kActorCreation;
    UnpinArgs(self, t->second);
    if (creation) {
      st.tasks.erase(t);
      if (reply.user_error) {
        auto info = proto::Decode<proto::ErrorInfo>(reply.results.at(0).data);
        std::string actor_id = w.actor_id;
        w.exiting = true;
        self->send(w.handle, atoms::exit_now::value);
        MarkActorDead(self, actor_id,
                      "its constructor threw " + info.exception_type + ": " + info.message);
        return;
      }
      a.state = ActorState::kAlive;
      PublishActor(self, w.actor_id);
      PumpActor(self, w.actor_id);
      return;
    }
    a.inflight.erase(reply.task_id);
    Deliver(self, t->second.spec, reply.results);
    st.tasks.erase(t);
    ++st.tasks_done;
    if (reply.exit_actor) {
      w.exiting = true;
      self->send(w.handle, atoms::exit_now::value);
      MarkActorDead(self, w.actor_id, "it called ray::ExitActor");
    }
    return;
  }
  FinishNormalTask(self, w, reply);
  Schedule(self);
}

void HandleWorkerDeath(Self self, const std::string& worker_id, const std::string& why) {
  auto& st = self->state;
  auto wit = st.workers.find(worker_id);
  if (wit == st.workers.end() || wit->second.dead) return;
  Worker& w = wit->second;
  w.dead = true;
  self->send(st.om, atoms::gone::value, worker_id);
  st.pool.Release(w.allocation);
  w.allocation.clear();
  // Only the first assigned task was running; the others go back to the queue as they are.
  if (w.assigned.size() > 1) {
    Requeue(self, w, std::vector<std::string>(w.assigned.begin() + 1, w.assigned.end()));
  }
  if (!w.assigned.empty()) {
    auto t = st.tasks.find(w.assigned.front());
    w.assigned.clear();
    if (t != st.tasks.end()) {
      Task& task = t->second;
      if (task.attempts < task.spec.max_retries && !st.shutting_down) {
        ++task.attempts;
        task.worker_id.clear();
        st.ready.push_back(task.spec.task_id);
      } else {
        FailReturns(self, task.spec, proto::ErrorKind::kWorker, "RayWorkerException",
                    "the worker process (pid " + std::to_string(w.pid) + ") running task " +
                        DisplayName(task.spec) + " died: " + why +
                        (task.spec.max_retries > 0
                             ? " (after " + std::to_string(task.attempts) + " retries)"
                             : ""));
        UnpinArgs(self, task);
        st.tasks.erase(t);
      }
    }
  }
  std::string actor_id = w.actor_id;
  if (!actor_id.empty() && !w.exiting) {
    // A creation still in flight fails the same way as a crash after creation.
    for (auto it = st.tasks.begin(); it != st.tasks.end();) {
      if (it->second.spec.Kind() == proto::TaskKind::kActorCreation &&
          it->second.spec.actor_id == actor_id && it->second.worker_id == worker_id) {
        UnpinArgs(self, it->second);
        it = st.tasks.erase(it);
      } else {
        ++it;
      }
    }
    OnActorWorkerLost(self, actor_id, "its worker process (pid " + std::to_string(w.pid) +
                                          ") died: " + why);
  } else if (!actor_id.empty()) {
    auto& a = st.actors[actor_id];
    if (a.worker_id == worker_id) a.worker_id.clear();
  }
  Schedule(self);
}

std::string ExitReason(int status) {
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  return "exited";
}

// -- scheduling ---------------------------------------------------------------

void WarnIfInfeasible(Self self, const proto::TaskSpec& spec, bool* warned) {
  if (*warned || self->state.pool.Feasible(spec.resources)) return;
  *warned = true;
  std::string req;
  for (const auto& [n, v] : spec.resources) {
    std::ostringstream amount;
    amount << v;
    req += " " + n + "=" + amount.str();
  }
  RAY_LOG(Warning) << (spec.Kind() == proto::TaskKind::kActorCreation ? "actor " : "task ")
                   << DisplayName(spec) << " requests" << req
                   << ", more than this node has; it waits until such resources exist";
}

constexpr size_t kPipelineDepth = 4;

/// With a backlog and no worker idle or starting, queues more tasks of the same
/// resource shape on busy workers (they run in order on the worker's lease), so
/// the round trip to the worker does not limit throughput. Running tasks never
/// exceed the resources: only the first task of a worker runs.
void PipelineToBusyWorkers(Self self) {
  auto& st = self->state;
  std::vector<Worker*> busy;
  for (auto& [wid, w] : st.workers) {
    if (w.dead || !w.handle) {
      if (!w.dead) return;  // a worker is starting: let it take the backlog
      continue;
    }
    if (w.actor_id.empty() && !w.exiting && !w.blocked && !w.assigned.empty() &&
        w.assigned.size() < kPipelineDepth) {
      busy.push_back(&w);
    }
  }
  if (busy.empty() || st.ready.size() < 2 * busy.size()) return;
  size_t scanned = 0;
  bool placed = true;
  while (placed && !st.ready.empty() && scanned < 256) {
    placed = false;
    for (Worker* w : busy) {
      if (st.ready.empty() || w->assigned.size() >= kPipelineDepth) continue;
      std::string task_id = st.ready.front();
      auto t = st.tasks.find(task_id);
      ++scanned;
      if (t == st.tasks.end()) {
        st.ready.pop_front();
        placed = true;
        continue;
      }
      if (t->second.spec.job_id != w->job_id || t->second.spec.resources != w->lease) continue;
      st.ready.pop_front();
      Dispatch(self, t->second, *w, w->allocation);
      placed = true;
    }
  }
}

/// Sends queued tasks that cannot run here now to nodes that can run them now,
/// and tasks this node can never run to a node that can. A task that came
/// from another node is only sent on when this node cannot run it at all.
void SpillToPeers(Self self) {
  auto& st = self->state;
  if (st.peers.empty() || st.ready.empty()) return;
  ResourcePool probe = st.pool;  // what would start here, in queue order
  std::deque<std::string> keep;
  size_t scanned = 0;
  while (!st.ready.empty() && scanned++ < 256) {
    std::string task_id = std::move(st.ready.front());
    st.ready.pop_front();
    auto t = st.tasks.find(task_id);
    if (t == st.tasks.end()) continue;
    const proto::TaskSpec& spec = t->second.spec;
    bool feasible = st.pool.Feasible(spec.resources);
    std::string target;
    if (spec.hops < kMaxHops || !feasible) {
      if (!(feasible && probe.Acquire(spec.resources))) {
        target = PickPeer(self, spec.resources, false);
        if (target.empty() && !feasible) target = PickPeer(self, spec.resources, true);
      }
    }
    if (target.empty()) {
      keep.push_back(std::move(task_id));
      continue;
    }
    UnpinArgs(self, t->second);
    proto::TaskSpec moved = std::move(t->second.spec);
    int attempts = t->second.attempts;
    st.tasks.erase(t);
    Forward(self, std::move(moved), target, attempts);
  }
  for (auto it = keep.rbegin(); it != keep.rend(); ++it) st.ready.push_front(std::move(*it));
}

/// Learns from the GCS how to run workers of a job whose driver is on another
/// node; with shipped code, writes it under <session>/code/<job>/ first.
void EnsureJob(Self self, const std::string& job_id) {
  auto& st = self->state;
  if (!st.job_lookups.insert(job_id).second) return;
  auto fail = [self, job_id](const std::string& why) {
    auto& st = self->state;
    st.job_lookups.erase(job_id);
    RAY_LOG(Error) << "cannot run tasks of job " << ids::Hex(job_id) << ": " << why;
    for (auto it = st.ready.begin(); it != st.ready.end();) {
      auto t = st.tasks.find(*it);
      if (t != st.tasks.end() && t->second.spec.job_id == job_id) {
        FailReturns(self, t->second.spec, proto::ErrorKind::kWorker, "RayWorkerException",
                    "node " + ids::Hex(st.options.node_id) + " cannot start workers of this job: " +
                        why);
        UnpinArgs(self, t->second);
        st.tasks.erase(t);
        it = st.ready.erase(it);
      } else {
        ++it;
      }
    }
  };
  auto install = [self, job_id](proto::JobInfo info, const proto::CodePackage& code) {
    auto& st = self->state;
    st.job_lookups.erase(job_id);
    Job job;
    job.executable = info.executable;
    job.code_search_path = info.code_search_path;
    if (!code.empty()) {
      std::string dir = st.options.session_dir + "/code/" + ids::Hex(job_id);
      std::string cmd_dir = st.options.session_dir + "/code";
      mkdir(cmd_dir.c_str(), 0755);
      mkdir(dir.c_str(), 0755);
      for (const auto& [name, bytes] : code) {
        std::string path = dir + "/" + name;
        FILE* f = std::fopen(path.c_str(), "wb");
        if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
          if (f) std::fclose(f);
          RAY_LOG(Error) << "cannot write shipped code to " << path;
          return;
        }
        std::fclose(f);
        chmod(path.c_str(), 0755);
      }
      if (info.code_search_path.empty()) {
        job.executable = dir + "/" + code.front().first;
      } else {
        job.code_search_path = {dir};
      }
    }
    st.jobs[job_id] = std::move(job);
    Schedule(self);
  };
  self->request(st.gcs, std::chrono::seconds(30), atoms::job_info::value, job_id)
      .then(
          [=](const std::string& bytes) {
            auto& st = self->state;
            if (bytes.empty()) {
              fail("the GCS does not know the job");
              return;
            }
            auto info = proto::Decode<proto::JobInfo>(bytes);
            bool local = st.options.load_code_from_local || info.load_code_from_local ||
                         !info.ships_code || info.driver_node == st.options.node_id;
            if (local) {
              install(info, {});
              return;
            }
            self->request(st.gcs, std::chrono::seconds(60), atoms::code_get::value, job_id)
                .then(
                    [=](const std::string& package) {
                      if (package.empty()) {
                        fail("its driver's code never reached the GCS");
                        return;
                      }
                      install(info, proto::Decode<proto::CodePackage>(package));
                    },
                    [=](caf::error& err) { fail(self->system().render(err)); });
          },
          [=](caf::error& err) { fail(self->system().render(err)); });
}

/// A job ended (its driver disconnected here or on another node): its workers
/// and actors go with it.
void EndJob(Self self, const std::string& job_id) {
  auto& st = self->state;
  auto& job = st.jobs[job_id];
  if (job.finished) return;
  job.finished = true;
  for (auto& [aid, a] : st.actors) {
    if (a.creation.job_id == job_id && a.state != ActorState::kDead) {
      MarkActorDead(self, aid, "its driver exited");
    }
  }
  for (auto t = st.tasks.begin(); t != st.tasks.end();) {
    t = t->second.spec.job_id == job_id ? st.tasks.erase(t) : std::next(t);
  }
  for (auto f = st.forwarded.begin(); f != st.forwarded.end();) {
    f = f->second.spec.job_id == job_id ? st.forwarded.erase(f) : std::next(f);
  }
  for (auto& [wid, w] : st.workers) {
    if (w.job_id == job_id && !w.dead) st.launcher->Signal(w.pid, SIGKILL);
  }
}

/// A node left the cluster: what was sent there is retried here (or fails),
/// and actors that lived there are dead.
void OnNodeRemoved(Self self, const std::string& node_id, const std::string& reason) {
  auto& st = self->state;
  st.peers.erase(node_id);
  self->send(st.om, atoms::node_del::value, node_id);
  std::string why = "node " + ids::Hex(node_id) + " died: " + reason;
  std::vector<std::string> homeless;
  for (auto it = st.actor_home.begin(); it != st.actor_home.end();) {
    if (it->second == node_id) {
      homeless.push_back(it->first);
      it = st.actor_home.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& actor_id : homeless) {
    auto c = st.remote_creations.find(actor_id);
    if (c == st.remote_creations.end()) continue;  // placed by another raylet: ask the GCS later
    proto::TaskSpec creation = c->second;
    if (creation.max_restarts == 0) {
      st.remote_actor_dead[actor_id] = why;
      st.remote_creations.erase(c);
      proto::ActorInfo info{actor_id, creation.actor_name, creation.job_id, "DEAD",
                            creation.function, 0, why, node_id};
      self->send(st.gcs, atoms::actor_upd::value, proto::Encode(info));
      continue;
    }
    // Restart it on a node that can hold it; the new node has one restart less to spend.
    if (creation.max_restarts > 0) --creation.max_restarts;
    c->second = creation;
    creation.hops = 0;
    RAY_LOG(Info) << "restarting actor " << ids::Hex(actor_id) << " elsewhere: " << why;
    std::string node = PlaceActor(self, creation.resources);
    if (node == st.options.node_id) {
      st.remote_creations.erase(actor_id);
      SubmitLocal(self, std::move(creation));
    } else {
      st.actor_home[actor_id] = node;
      Forward(self, std::move(creation), node);
    }
  }
  std::vector<Forwarded> lost;
  for (auto it = st.forwarded.begin(); it != st.forwarded.end();) {
    if (it->second.node == node_id) {
      lost.push_back(std::move(it->second));
      it = st.forwarded.erase(it);
    } else {
      ++it;
    }
  }
  std::sort(lost.begin(), lost.end(),
            [](const Forwarded& a, const Forwarded& b) { return a.seq < b.seq; });
  for (auto& f : lost) {
    if (f.spec.Kind() == proto::TaskKind::kActorMethod) {
      const std::string& actor_id = f.spec.actor_id;
      bool restarting = st.actor_home.count(actor_id) || st.actors.count(actor_id);
      if (restarting && f.attempts < f.spec.max_retries) {
        f.spec.hops = 0;
        if (auto home = st.actor_home.find(actor_id); home != st.actor_home.end()) {
          Forward(self, std::move(f.spec), home->second, f.attempts + 1);
        } else {
          SubmitLocal(self, std::move(f.spec));
        }
        continue;
      }
      FailReturns(self, f.spec, proto::ErrorKind::kActor, "RayActorException",
                  "actor " + ids::Hex(actor_id) + " died: " + why);
    } else if (f.attempts < f.spec.max_retries) {
      RAY_LOG(Info) << "retrying task " << DisplayName(f.spec) << ": " << why;
      f.spec.hops = 0;
      std::string task_id = f.spec.task_id;
      Task& task = st.tasks[task_id];
      task.spec = std::move(f.spec);
      task.attempts = f.attempts + 1;
      ResolveDependencies(self, task_id);
    } else {
      FailReturns(self, f.spec, proto::ErrorKind::kWorker, "RayWorkerException",
                  "task " + DisplayName(f.spec) + " was running on " + why +
                      (f.spec.max_retries > 0
                           ? " (after " + std::to_string(f.attempts) + " retries)"
                           : ""));
    }
  }
  Schedule(self);
}

/// An object someone waits for is in no store any more: run the task that
/// made it again, from the lineage log (its lost arguments are rebuilt the
/// same way when that task resolves them). Objects made by Put or by actor
/// calls cannot be replayed: they become an ObjectLostException saying why.
void Rebuild(Self self, const std::string& object_id, const std::string& why) {
  auto& st = self->state;
  std::string task_id = ids::TaskOf(object_id);
  auto fail = [self, object_id, why](const std::string& because) {
    PutEntry(self, ErrorEntry(object_id, proto::ErrorKind::kLost, "ObjectLostException",
                              "object " + ids::Hex(object_id) + " is lost: " + why + "; " +
                                  because,
                              ""));
  };
  uint32_t index = 0;
  for (int i = 0; i < 4 && ids::kTaskIdSize + i < object_id.size(); ++i) {
    index |= static_cast<uint32_t>(static_cast<uint8_t>(object_id[ids::kTaskIdSize + i])) << (8 * i);
  }
  if (index & ids::kPutIndexFlag) {
    fail("it was made by ray::Put, which cannot be replayed (only task results can be rebuilt)");
    return;
  }
  if (st.rebuilding.count(task_id) || st.tasks.count(task_id) || st.forwarded.count(task_id)) {
    // Already being made again: only learn where it appears.
    self->send(st.gcs, atoms::rebuild_sub::value, proto::Encode(std::vector<std::string>{object_id}),
               st.om);
    return;
  }
  st.rebuilding.insert(task_id);
  self->request(st.gcs, std::chrono::seconds(30), atoms::lineage_get::value, object_id)
      .then(
          [=](const std::string& bytes) {
            auto& st = self->state;
            if (bytes.empty()) {
              st.rebuilding.erase(task_id);
              fail("the task that made it is not in the lineage log");
              return;
            }
            auto spec = proto::Decode<proto::TaskSpec>(bytes);
            if (spec.Kind() != proto::TaskKind::kNormal) {
              st.rebuilding.erase(task_id);
              fail("it was made by an actor method call, which cannot be replayed");
              return;
            }
            spec.origin_node = st.options.node_id;
            spec.hops = 0;
            ++st.rebuilds;
            RAY_LOG(Info) << "rebuilding object " << ids::Hex(object_id) << " by running "
                          << DisplayName(spec) << " again (" << why << ")";
            self->send(st.gcs, atoms::rebuild_sub::value, proto::Encode(spec.return_ids), st.om);
            Submit(self, std::move(spec));
          },
          [=](caf::error& err) {
            self->state.rebuilding.erase(task_id);
            fail("the lineage log could not be read: " + self->system().render(err));
          });
}

/// Dispatches what can run now and starts the workers that runnable work lacks.
/// Cost is proportional to the work dispatched plus the workers that may still
/// be started, not to the length of the queue.
void Schedule(Self self) {
  auto& st = self->state;
  if (st.shutting_down) return;
  std::map<std::string, std::vector<Worker*>> idle;  // job -> idle task workers
  size_t idle_count = 0;
  for (auto& [wid, w] : st.workers) {
    if (w.idle && !w.dead && w.handle && w.actor_id.empty()) {
      idle[w.job_id].push_back(&w);
      ++idle_count;
    }
  }
  std::map<std::string, int> wanted;  // job -> workers to start
  // Actors waiting for a worker and their resources.
  for (auto& [actor_id, a] : st.actors) {
    if (!a.needs_worker) continue;
    WarnIfInfeasible(self, a.creation, &a.warned_infeasible);
    if (a.warned_infeasible && !st.pool.Feasible(a.creation.resources)) continue;
    auto& list = idle[a.creation.job_id];
    if (list.empty()) {
      ++wanted[a.creation.job_id];
      continue;
    }
    auto alloc = st.pool.Acquire(a.creation.resources);
    if (!alloc) continue;
    Worker* w = list.back();
    list.pop_back();
    --idle_count;
    a.allocation = *alloc;
    a.needs_worker = false;
    a.worker_id = w->id;
    w->actor_id = actor_id;
    auto t = st.tasks.find(a.creation.task_id);
    if (t == st.tasks.end()) {
      // A restart: run the constructor again with the original arguments.
      st.tasks[a.creation.task_id].spec = a.creation;
      t = st.tasks.find(a.creation.task_id);
      t->second.deps_ready = true;
    }
    Dispatch(self, t->second, *w, a.allocation);
  }
  // Normal tasks, first come first served, skipping those that do not fit now.
  if (idle_count > 0 && !st.ready.empty()) {
    std::deque<std::string> still_waiting;
    while (!st.ready.empty() && idle_count > 0) {
      std::string task_id = std::move(st.ready.front());
      st.ready.pop_front();
      auto t = st.tasks.find(task_id);
      if (t == st.tasks.end()) continue;
      Task& task = t->second;
      auto& list = idle[task.spec.job_id];
      std::optional<ResourceAllocation> alloc;
      if (list.empty() || !(alloc = st.pool.Acquire(task.spec.resources))) {
        still_waiting.push_back(std::move(task_id));
        continue;
      }
      Worker* w = list.back();
      list.pop_back();
      --idle_count;
      Dispatch(self, task, *w, std::move(*alloc));
    }
    for (auto it = still_waiting.rbegin(); it != still_waiting.rend(); ++it) {
      st.ready.push_front(std::move(*it));
    }
  }
  SpillToPeers(self);
  PipelineToBusyWorkers(self);
  if (st.startup_failures >= st.options.max_worker_startup_failures) {
    // Workers cannot start: fail what waits for them instead of hanging.
    for (const auto& task_id : st.ready) {
      auto& task = st.tasks[task_id];
      FailReturns(self, task.spec, proto::ErrorKind::kWorker, "RayWorkerException",
                  "worker processes fail to start (see " + st.options.session_dir +
                      "/logs/worker-*.err)");
      st.tasks.erase(task_id);
    }
    st.ready.clear();
    st.startup_failures = 0;
    return;
  }
  // Task workers are capped (blocked workers lend their CPU and do not count);
  // workers for actors are not, since each actor holds one for its lifetime.
  int cap = std::max(4, static_cast<int>(2 * st.pool.Total("CPU")));
  int pool_workers = 0;
  for (auto& [wid, w] : st.workers) {
    if (!w.dead && w.actor_id.empty() && !w.blocked) ++pool_workers;
  }
  int budget = cap - pool_workers;
  for (auto& [job, n] : wanted) budget += n;  // actors bring their own worker
  if (budget > 0 && !st.ready.empty()) {
    // Count the queued tasks that would run now if they had a worker; stop at the budget.
    // Bounded scan: the queue can be long while all CPUs are busy.
    ResourcePool probe = st.pool;
    int counted = 0, scanned = 0;
    for (const auto& task_id : st.ready) {
      if (counted >= budget || ++scanned > 64) break;
      auto t = st.tasks.find(task_id);
      if (t != st.tasks.end() && probe.Acquire(t->second.spec.resources)) {
        ++wanted[t->second.spec.job_id];
        ++counted;
      }
    }
  }
  for (const auto& [job_id, n] : wanted) {
    int job_starting = 0;
    for (auto& [wid, w] : st.workers) {
      if (!w.dead && !w.handle && w.job_id == job_id) ++job_starting;
    }
    for (int i = job_starting; i < n && budget > 0; ++i, --budget) StartWorker(self, job_id);
  }
}

caf::behavior Behavior(Self self, RayletOptions options, caf::actor gcs, caf::actor om) {
  auto& st = self->state;
  st.options = std::move(options);
  st.gcs = std::move(gcs);
  st.om = std::move(om);
  st.pool = ResourcePool(st.options.resources, st.options.unit_ids);
  caf::actor me = caf::actor_cast<caf::actor>(self);
  st.launcher = std::make_unique<WorkerLauncher>(
      st.options.session_dir + "/logs", st.options.log_to_driver,
      [me](pid_t pid, int status) {
        caf::anon_send(me, exited_atom::value, static_cast<int32_t>(pid),
                       static_cast<int32_t>(status));
      });
  self->set_down_handler([=](const caf::down_msg& msg) {
    auto& st = self->state;
    if (st.gcs && msg.source == st.gcs.address() && !st.options.head_address.empty()) {
      if (!st.gcs_lost) {
        st.gcs_lost = true;
        RAY_LOG(Warning) << "lost the GCS (head " << st.options.head_address
                         << "); reconnecting until it is back";
        self->send(self, reconnect_atom::value);
      }
      return;
    }
    for (auto& [wid, w] : st.workers) {
      if (w.handle && w.handle.address() == msg.source) {
        st.launcher->Signal(w.pid, SIGKILL);  // lost contact: make sure it is gone
        HandleWorkerDeath(self, wid, "lost connection to the worker");
        return;
      }
    }
    for (auto it = st.jobs.begin(); it != st.jobs.end(); ++it) {
      if (it->second.driver && it->second.driver.address() == msg.source) {
        // The driver is gone: its workers and actors go with it, on every node.
        std::string job_id = it->first;
        for (auto d = st.drivers.begin(); d != st.drivers.end();) {
          d = d->second.address() == msg.source ? st.drivers.erase(d) : std::next(d);
        }
        EndJob(self, job_id);
        if (!st.peers.empty()) self->send(st.gcs, atoms::job_end::value, job_id);
        return;
      }
    }
  });
  self->attach_functor([self] {
    self->state.shutting_down = true;
    if (self->state.launcher) self->state.launcher->KillAll();
  });
  return {
      [=](address_atom, const std::string& host, uint16_t port) {
        self->state.host = host;
        self->state.port = port;
        Schedule(self);
      },
      [=](atoms::hello, const std::string& bytes,
          const caf::actor& client) -> caf::result<std::string, caf::actor, caf::actor> {
        auto& st = self->state;
        auto hello = proto::Decode<proto::Hello>(bytes);
        proto::NodeInfo info{st.options.node_id, hello.job_id, st.options.shm_name,
                             st.options.shm_directory, st.options.session_dir,
                             st.options.resources};
        if (hello.is_driver) {
          if (hello.password != st.options.password) {
            return caf::make_error(caf::sec::runtime_error,
                                   hello.password.empty()
                                       ? std::string("this cluster requires a password "
                                                     "(RayConfig::redis_password)")
                                       : std::string("wrong password (RayConfig::redis_password)"));
          }
          auto promise = self->make_response_promise<std::string, caf::actor, caf::actor>();
          self->request(st.gcs, std::chrono::seconds(30), atoms::job::value)
              .then(
                  [=](const std::string& job_id) mutable {
                    auto& st = self->state;
                    st.jobs[job_id] = Job{hello.executable, hello.code_search_path, client};
                    if (client) st.drivers[hello.client_id] = client;
                    if (client) self->monitor(client);
                    proto::JobInfo job{job_id,
                                       hello.executable,
                                       hello.code_search_path,
                                       hello.load_code_from_local,
                                       hello.ships_code,
                                       st.options.node_id};
                    self->send(st.gcs, atoms::job_reg::value, proto::Encode(job));
                    proto::NodeInfo reply = info;
                    reply.job_id = job_id;
                    promise.deliver(proto::Encode(reply), st.om, st.gcs);
                  },
                  [=](caf::error& err) mutable { promise.deliver(err); });
          return promise;
        }
        // A worker this raylet started.
        auto wit = st.workers.find(hello.client_id);
        if (wit == st.workers.end() || wit->second.dead) {
          return caf::make_error(caf::sec::unexpected_message);
        }
        Worker& w = wit->second;
        w.handle = client;
        w.idle = true;
        st.startup_failures = 0;
        self->monitor(client);
        info.job_id = w.job_id;
        self->send(self, flush_atom::value);  // schedule after the reply is out
        return {proto::Encode(info), st.om, st.gcs};
      },
      [=](flush_atom) { Schedule(self); },
      // -- the cluster -----------------------------------------------------------
      [=](hb_start_atom, const std::string& record) {
        auto& st = self->state;
        st.record = record;
        if (!st.options.head_address.empty()) self->monitor(st.gcs);
        self->send(self, hb_tick_atom::value);
      },
      [=](reconnect_atom) {
        // Blocking connects run in a detached actor, never in the raylet.
        auto& st = self->state;
        caf::actor me = caf::actor_cast<caf::actor>(self);
        std::string head = st.options.head_address, password = st.options.password;
        self->system().spawn<caf::detached>([me, head, password](caf::blocking_actor* b) {
          auto colon = head.rfind(':');
          auto raylet = b->system().middleman().remote_actor(
              head.substr(0, colon), static_cast<uint16_t>(std::atoi(head.c_str() + colon + 1)));
          caf::actor gcs;
          if (raylet) {
            b->request(*raylet, std::chrono::seconds(5), atoms::gcs_of::value, password)
                .receive(
                    [&](const std::string& why, const caf::actor& handle) {
                      if (why.empty()) gcs = handle;
                    },
                    [&](caf::error&) {});
          }
          if (gcs) {
            b->send(me, gcs_back_atom::value, gcs);
          } else {
            b->delayed_send(me, std::chrono::milliseconds(500), reconnect_atom::value);
          }
        });
      },
      [=](gcs_back_atom, const caf::actor& gcs) {
        auto& st = self->state;
        if (!st.gcs_lost) return;
        self->request(gcs, std::chrono::seconds(10), atoms::node_reg::value, st.record,
                      caf::actor_cast<caf::actor>(self), st.om)
            .then(
                [=](const std::string& refused) {
                  auto& st = self->state;
                  if (!refused.empty() && refused.find("already registered") == std::string::npos) {
                    RAY_LOG(Error) << "the restarted GCS refused this node: " << refused;
                    self->delayed_send(self, std::chrono::seconds(1), reconnect_atom::value);
                    return;
                  }
                  st.gcs = gcs;
                  st.gcs_lost = false;
                  self->monitor(gcs);
                  self->send(st.om, atoms::set_gcs::value, gcs);
                  st.reregistered = std::chrono::steady_clock::now();
                  st.prune_pending = true;
                  for (auto& [id, p] : st.peers) p.confirmed = false;  // until listed again
                  RAY_LOG(Info) << "rejoined the cluster at " << st.options.head_address;
                  FlushReleases(self);  // what waited while the GCS was away
                },
                [=](caf::error&) {
                  self->delayed_send(self, std::chrono::milliseconds(500), reconnect_atom::value);
                });
      },
      [=](hb_tick_atom) {
        auto& st = self->state;
        if (st.gcs_lost) {
          self->delayed_send(self, std::chrono::milliseconds(st.options.heartbeat_period_ms),
                             hb_tick_atom::value);
          return;
        }
        std::map<std::string, double> available;
        for (const auto& [name, total] : st.pool.totals()) available[name] = st.pool.Available(name);
        self->request(st.gcs, std::chrono::milliseconds(4 * st.options.heartbeat_period_ms + 1000),
                      atoms::heartbeat::value, st.options.node_id, proto::Encode(available))
            .then(
                [=](const std::string& reply) {
                  auto& st = self->state;
                  if (reply == "!removed") {
                    RAY_LOG(Error) << "the GCS removed this node from the cluster (it missed its "
                                      "heartbeats); stopping";
                    if (st.options.exit_on_removal) kill(getpid(), SIGTERM);
                    return;
                  }
                  std::set<std::string> alive;
                  for (auto& rec : proto::Decode<std::vector<proto::NodeRecord>>(reply)) {
                    alive.insert(rec.node_id);
                    auto p = st.peers.find(rec.node_id);
                    if (p == st.peers.end()) continue;
                    p->second.record.available = std::move(rec.available);
                    p->second.confirmed = true;
                  }
                  if (st.prune_pending &&
                      std::chrono::steady_clock::now() - st.reregistered > std::chrono::seconds(3)) {
                    // Nodes that did not come back to the restarted GCS are gone.
                    st.prune_pending = false;
                    std::vector<std::string> gone;
                    for (const auto& [id, p] : st.peers) {
                      if (!alive.count(id)) gone.push_back(id);
                    }
                    for (const auto& id : gone) {
                      OnNodeRemoved(self, id, "it did not rejoin after the GCS restarted");
                    }
                  }
                  self->delayed_send(self, std::chrono::milliseconds(st.options.heartbeat_period_ms),
                                     hb_tick_atom::value);
                },
                [=](caf::error& err) {
                  RAY_LOG(Warning) << "heartbeat to the GCS failed: " << self->system().render(err);
                  self->delayed_send(self,
                                     std::chrono::milliseconds(self->state.options.heartbeat_period_ms),
                                     hb_tick_atom::value);
                });
      },
      [=](atoms::node_add, const std::string& bytes, const caf::actor& raylet,
          const caf::actor& om) {
        auto& st = self->state;
        auto rec = proto::Decode<proto::NodeRecord>(bytes);
        if (rec.node_id == st.options.node_id) return;
        self->send(st.om, atoms::node_add::value, rec.node_id, om);
        st.peers[rec.node_id] = Peer{rec, raylet, om};
        Schedule(self);
      },
      [=](lookup_actor_atom, const std::string& actor_id) { LookupActor(self, actor_id); },
      [=](atoms::rebuild, const std::string& object_id, const std::string& why) {
        Rebuild(self, object_id, why);
      },
      [=](atoms::node_del, const std::string& node_id, const std::string& reason) {
        OnNodeRemoved(self, node_id, reason);
      },
      [=](atoms::fwd_done, const std::string& task_id, const std::string& entries) {
        auto& st = self->state;
        auto list = proto::Decode<std::vector<proto::ObjectEntry>>(entries);
        for (const auto& e : list) PutEntry(self, e);
        if (auto f = st.forwarded.find(task_id); f != st.forwarded.end()) {
          PushToCaller(self, f->second.spec, list);
        }
        st.forwarded.erase(task_id);
        st.rebuilding.erase(task_id);
      },
      [=](atoms::job_end, const std::string& job_id) {
        if (self->state.jobs.count(job_id)) EndJob(self, job_id);
      },
      [=](atoms::gcs_of, const std::string& password) -> caf::result<std::string, caf::actor> {
        auto& st = self->state;
        if (password != st.options.password) {
          return {std::string(password.empty() ? "this cluster requires a password "
                                                 "(--redis-password)"
                                               : "wrong password (--redis-password)"),
                  caf::actor()};
        }
        return {std::string(), st.gcs};
      },
      [=](atoms::submit, const std::string& bytes) {
        Submit(self, proto::Decode<proto::TaskSpec>(bytes));
      },
      [=](atoms::release, const std::string& id) {
        // After any earlier submit of the same client pinned it (see ClusterRuntime).
        auto& st = self->state;
        self->send(st.om, atoms::release::value, id);
        st.release_batch.push_back(id);
        if (st.release_batch.size() >= 512) {
          FlushReleases(self);
        } else if (!st.release_flush_pending) {
          st.release_flush_pending = true;
          self->delayed_send(self, std::chrono::milliseconds(20), release_flush_atom::value);
        }
      },
      [=](release_flush_atom) {
        self->state.release_flush_pending = false;
        FlushReleases(self);
      },
      [=](atoms::create, const std::string& id, uint64_t size) {
        // Through here so that it follows the client's earlier releases, whose
        // memory it can then reuse.
        return self->delegate(self->state.om, atoms::create::value, id, size);
      },
      [=](atoms::done, const std::string& bytes) {
        HandleDone(self, proto::Decode<proto::ExecReply>(bytes));
      },
      [=](atoms::blocked, const std::string& worker_id) {
        auto& st = self->state;
        auto w = st.workers.find(worker_id);
        if (w == st.workers.end() || w->second.blocked || w->second.assigned.empty()) return;
        w->second.blocked = true;
        w->second.lent_cpu = Extract(&w->second.allocation, "CPU");
        st.pool.Release(w->second.lent_cpu);
        if (w->second.assigned.size() > 1) {
          // Tasks queued behind the blocked one may be what it waits for: take them back.
          std::string id = worker_id;
          self->request(w->second.handle, caf::infinite, atoms::steal::value)
              .then([=](const std::string& bytes) {
                auto& st = self->state;
                auto w = st.workers.find(id);
                if (w == st.workers.end() || w->second.dead) return;
                Requeue(self, w->second, proto::Decode<std::vector<std::string>>(bytes));
                Schedule(self);
              });
        }
        Schedule(self);
      },
      [=](atoms::unblocked, const std::string& worker_id) {
        auto& st = self->state;
        auto w = st.workers.find(worker_id);
        if (w == st.workers.end() || !w->second.blocked) return;
        w->second.blocked = false;
        double cpus = 0;
        for (const auto& [id, f] : w->second.lent_cpu["CPU"]) cpus += f;
        w->second.lent_cpu.clear();
        // Take the CPU back if it is free; otherwise run oversubscribed until done.
        if (cpus > 0) {
          if (auto again = st.pool.Acquire({{"CPU", cpus}})) {
            for (auto& [n, parts] : *again) w->second.allocation[n] = parts;
          }
        }
      },
      [=](atoms::kill, const std::string& actor_id, bool no_restart) {
        auto& st = self->state;
        auto a = st.actors.find(actor_id);
        if (a == st.actors.end()) {
          // Hosted elsewhere: the node that has it kills it.
          auto send_to = [self, actor_id, no_restart](const std::string& node) {
            auto p = self->state.peers.find(node);
            if (p != self->state.peers.end()) {
              self->send(p->second.raylet, atoms::kill::value, actor_id, no_restart);
            }
          };
          if (auto home = st.actor_home.find(actor_id); home != st.actor_home.end()) {
            send_to(home->second);
          } else if (!st.peers.empty()) {
            self->request(st.gcs, std::chrono::seconds(30), atoms::actor_get::value, actor_id)
                .then([send_to](const std::string& bytes) {
                  if (!bytes.empty()) send_to(proto::Decode<proto::ActorInfo>(bytes).node_id);
                });
          }
          return;
        }
        if (a->second.state == ActorState::kDead) return;
        std::string worker_id = a->second.worker_id;
        auto w = st.workers.find(worker_id);
        if (w != st.workers.end()) {
          // Its death is handled here, not when the process is found gone, so that
          // calls submitted after Kill wait for the restarted instance.
          w->second.exiting = true;
          st.launcher->Signal(w->second.pid, SIGKILL);
        }
        if (no_restart) {
          MarkActorDead(self, actor_id, "it was killed by ray::Kill");
        } else {
          OnActorWorkerLost(self, actor_id, "it was killed by ray::Kill(no_restart=false)");
        }
      },
      [=](exited_atom, int32_t pid, int32_t status) {
        auto& st = self->state;
        auto it = st.worker_by_pid.find(pid);
        if (it == st.worker_by_pid.end()) return;
        std::string worker_id = it->second;
        st.worker_by_pid.erase(it);
        auto w = st.workers.find(worker_id);
        if (w != st.workers.end() && !w->second.handle && !w->second.dead) {
          ++st.startup_failures;
          RAY_LOG(Warning) << "worker pid " << pid << " " << ExitReason(status)
                          << " before connecting; see " << st.options.session_dir
                          << "/logs/worker-" << pid << ".err";
        }
        HandleWorkerDeath(self, worker_id, ExitReason(status));
        st.workers.erase(worker_id);
        Schedule(self);
      },
      [=](atoms::stats) -> std::string {
        auto& st = self->state;
        int alive = 0;
        for (auto& [wid, w] : st.workers) alive += w.dead ? 0 : 1;
        return "workers=" + std::to_string(alive) + " tasks_done=" +
               std::to_string(st.tasks_done) + " queued=" + std::to_string(st.ready.size()) +
               " actors=" + std::to_string(st.actors.size()) +
               " peers=" + std::to_string(st.peers.size()) +
               " rebuilds=" + std::to_string(st.rebuilds) +
               " cpu_available=" + std::to_string(st.pool.Available("CPU"));
      },
      [=](atoms::shutdown) {
        self->state.shutting_down = true;
        FlushReleases(self);
        self->state.launcher->KillAll();
        self->quit();
      },
  };
}

}  // namespace

caf::actor Spawn(caf::actor_system& system, RayletOptions options, caf::actor gcs,
                 caf::actor object_manager) {
  return system.spawn(Behavior, std::move(options), std::move(gcs), std::move(object_manager));
}

void SetAddress(const caf::actor& raylet, const std::string& host, uint16_t port) {
  caf::anon_send(raylet, address_atom::value, host, port);
}

void StartHeartbeats(const caf::actor& raylet, const std::string& record) {
  caf::anon_send(raylet, hb_start_atom::value, record);
}

}  // namespace ray::raylet
