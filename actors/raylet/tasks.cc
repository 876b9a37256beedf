// The raylet: tasks and actors on this node, from submission to results.
#include "actors/raylet/raylet_state.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <sstream>

#include "actors/common/atoms.h"
#include "actors/common/ids.h"
#include "actors/common/logging.h"
#include "actors/common/net.h"
#include "actors/common/protocol.h"
#include "actors/common/safe_behavior.h"

namespace ray::raylet::detail {

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

/// A driver on this node gets the small results of its own tasks pushed to
/// it (Ray returns small values inline to the owner): its Get and Wait then
/// find them without asking the object manager.
void PushToCaller(Self self, const proto::TaskSpec& spec,
                  const std::vector<proto::ObjectEntry>& entries) {
  auto& st = self->state;
  auto d = st.drivers.find(spec.caller_id);
  if (d == st.drivers.end() || entries.empty()) return;
  // Every kind: the driver's Get waits for these instead of asking the object
  // manager (a shared-memory entry tells it the object is ready to read there).
  self->send(d->second, atoms::results::value, proto::Encode(entries));
}

/// Stores a task's results here and, when it came from another node, sends
/// the small ones back there (large ones are pulled through the GCS directory).
void Deliver(Self self, const proto::TaskSpec& spec,
             const std::vector<proto::ObjectEntry>& entries) {
  auto& st = self->state;
  for (const auto& e : entries) PutEntry(self, e);
  PushToCaller(self, spec, entries);
  st.rebuilding.erase(spec.task_id);
  if (spec.origin_node.empty() || spec.origin_node == st.options.node_id) return;
  auto origin = st.peers.find(spec.origin_node);
  if (origin == st.peers.end()) return;
  // All entries: the origin stores the small ones and tells the caller about
  // all (large ones stay here; the origin's object manager pulls them on demand).
  self->send(origin->second.raylet, atoms::fwd_done::value, spec.task_id, proto::Encode(entries));
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

void OnRelease(Self self, const std::string& id, bool may_free) {
  auto& st = self->state;
  const bool used_as_arg = st.used_as_arg.erase(id) > 0;
  // A free is a release that also removes the object: one message either way.
  if (may_free && !used_as_arg) {
    self->send(st.om, atoms::free_obj::value, id);
  } else {
    self->send(st.om, atoms::release::value, id);
  }
  st.release_batch.push_back(id);
  if (st.release_batch.size() >= 512) {
    FlushReleases(self);
  } else if (!st.release_flush_pending) {
    st.release_flush_pending = true;
    self->delayed_send(self, std::chrono::milliseconds(20), release_flush_atom::value);
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
  // Without the shim the driver's executable would run its own main as a
  // worker, start a cluster of its own, and so on: never start it then.
  std::string missing = access(argv[0].c_str(), X_OK) != 0 ? argv[0]
                        : env.count("LD_PRELOAD") && access(env["LD_PRELOAD"].c_str(), R_OK) != 0
                            ? env["LD_PRELOAD"]
                            : std::string();
  if (!missing.empty()) {
    st.startup_error = "cannot start workers: " + missing +
                       " is missing (build the whole tree: cmake --build build)";
    RAY_LOG(Error) << st.startup_error;
    st.startup_failures = st.options.max_worker_startup_failures;
    self->send(self, flush_atom::value);  // Schedule fails what waits for a worker
    return;
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
    if (t == st.tasks.end() || !will_restart) {
      FailActorCall(self, id, msg);
      continue;
    }
    // A direct call its caller sent on after this same death: counted already.
    const bool counted = !a.worker_id.empty() && t->second.spec.failed_worker == a.worker_id;
    if (counted || t->second.attempts < t->second.spec.max_retries) {
      if (!counted) ++t->second.attempts;
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
      .then(safe::Guard(self, "raylet", [on_ready](const std::string& bytes) {
        on_ready(proto::Decode<proto::GetReply>(bytes).entries);
      }),
            [](caf::error& err) {
              RAY_LOG(Warning) << "the object manager did not answer a get: " << net::Describe(err);
            });
}

void Submit(Self self, proto::TaskSpec spec) {
  auto& st = self->state;
  if (spec.origin_node.empty()) spec.origin_node = st.options.node_id;
  if (spec.hops == 0) {
    for (const auto& a : spec.args) {
      if (a.is_ref) st.used_as_arg.insert(a.object_id);
    }
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
  task.attempts = task.spec.attempts;
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
  if (!w.actor_id.empty() && reply.direct) {
    // A call the driver sent to the worker itself, reported because it has
    // results in shared memory to seal or ended the actor (the driver has the
    // results already; they are stored here for everyone else).
    for (const auto& e : reply.results) PutEntry(self, e);
    ++st.tasks_done;
    if (reply.exit_actor && !w.exiting) {
      w.exiting = true;
      self->send(w.handle, atoms::exit_now::value);
      MarkActorDead(self, w.actor_id, "it called ray::ExitActor");
    }
    return;
  }
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

}  // namespace ray::raylet::detail
