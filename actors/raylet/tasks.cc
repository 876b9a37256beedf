// The raylet core: tasks and actors on this node, from submission to results.
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstring>

#include "actors/common/ids.h"
#include "actors/common/logging.h"
#include "actors/raylet/raylet_core.h"

namespace ray::raylet {

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

std::string ExitReason(int status) {
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + strsignal(WTERMSIG(status));
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  return "exited";
}

Core::Core(RayletOptions options, Outbox* outbox, WorkerHost* host, Timer* timer)
    : out_(*outbox), host_(*host), timer_(*timer) {
  st_.options = std::move(options);
  st_.pool = ResourcePool(st_.options.resources, st_.options.unit_ids);
}

/// A driver on this node gets the results of its own tasks pushed to it
/// (values and errors whole, shared-memory ones as a "ready" mark; Ray returns
/// small values inline to the owner the same way): its Get and Wait then need
/// no request to the object manager for them.
void Core::PushToCaller(const proto::TaskSpec& spec,
                        const std::vector<proto::ObjectEntry>& entries) {
  if (entries.empty() || !st_.drivers.count(spec.caller_id)) return;
  out_.PushResults(spec.caller_id, entries);
}

void Core::Deliver(const proto::TaskSpec& spec, const std::vector<proto::ObjectEntry>& entries) {
  for (const auto& e : entries) out_.PutObject(e);
  PushToCaller(spec, entries);
  st_.rebuilding.erase(spec.task_id);
  if (spec.origin_node.empty() || spec.origin_node == st_.options.node_id) return;
  if (!st_.peers.count(spec.origin_node)) return;
  // All entries: the origin stores the small ones and tells the caller about
  // all (large ones stay here; the origin's object manager pulls them on demand).
  out_.ReturnToOrigin(spec.origin_node, spec.task_id, entries);
}

void Core::FailReturns(const proto::TaskSpec& spec, proto::ErrorKind kind,
                       const std::string& type, const std::string& message) {
  std::vector<proto::ObjectEntry> entries;
  for (const auto& id : spec.return_ids) {
    entries.push_back(ErrorEntry(id, kind, type, message, DisplayName(spec)));
  }
  Deliver(spec, entries);
}

void Core::UnpinArgs(const Task& task) {
  std::vector<std::string> pinned;
  for (const auto& e : task.resolved) {
    if (e.kind == static_cast<uint8_t>(proto::ObjectKind::kShm)) pinned.push_back(e.id);
  }
  if (!pinned.empty()) out_.UnpinObjects(pinned);
}

void Core::OnRelease(const std::string& id, bool may_free) {
  const bool used_as_arg = st_.used_as_arg.erase(id) > 0;
  // A free is a release that also removes the object: one message either way.
  out_.ReleaseObject(id, may_free && !used_as_arg);
  st_.release_batch.push_back(id);
  if (st_.release_batch.size() >= 512) {
    FlushReleases();
  } else if (!st_.release_flush_pending) {
    st_.release_flush_pending = true;
    timer_.After(std::chrono::milliseconds(20), [this] {
      st_.release_flush_pending = false;
      FlushReleases();
    });
  }
}

void Core::FlushLineage() {
  if (st_.lineage_batch.empty() || st_.gcs_lost) return;  // kept until the GCS is back
  out_.AppendLineage(st_.lineage_batch);
  st_.lineage_batch.clear();
}

void Core::FlushReleases() {
  FlushLineage();
  if (st_.release_batch.empty() || st_.gcs_lost) return;
  out_.ReportReleased(st_.release_batch);
  st_.release_batch.clear();
}

void Core::PublishActor(const std::string& actor_id) {
  auto& a = st_.actors[actor_id];
  proto::ActorInfo info{actor_id, a.creation.actor_name, a.creation.job_id,
                        ActorStateName(a.state), a.creation.function, a.restarts,
                        a.death_cause, st_.options.node_id};
  info.ray_namespace = a.creation.name_namespace;
  info.detached = a.creation.detached;
  out_.UpdateActor(info);
}

// -- workers ------------------------------------------------------------------

void Core::StartWorker(const std::string& job_id, const std::string& runtime_env) {
  auto job = st_.jobs.find(job_id);
  if (job == st_.jobs.end()) {
    EnsureJob(job_id);  // a job started on another node
    return;
  }
  if ((job->second.finished && !JobKeepsActors(job_id)) || st_.address.empty()) return;
  std::string worker_id = ids::Random(16);
  std::vector<std::string> argv;
  std::map<std::string, std::string> env = st_.options.worker_env;
  if (!job->second.code_search_path.empty()) {
    argv = {st_.options.default_worker};
    std::string joined;
    for (const auto& p : job->second.code_search_path) joined += (joined.empty() ? "" : ":") + p;
    env["RAY_CODE_SEARCH_PATH"] = joined;
  } else {
    argv = {job->second.executable};
    env["LD_PRELOAD"] = st_.options.preload_library;
  }
  // Without the shim the driver's executable would run its own main as a
  // worker, start a cluster of its own, and so on: never start it then.
  std::string missing = !host_.Usable(argv[0], true) ? argv[0]
                        : env.count("LD_PRELOAD") && !host_.Usable(env["LD_PRELOAD"], false)
                            ? env["LD_PRELOAD"]
                            : std::string();
  if (!missing.empty()) {
    st_.startup_error = "cannot start workers: " + missing +
                        " is missing (build the whole tree: cmake --build build)";
    RAY_LOG(Error) << st_.startup_error;
    st_.startup_failures = st_.options.max_worker_startup_failures;
    timer_.After(std::chrono::milliseconds(0), [this] { Schedule(); });  // fails what waits
    return;
  }
  if (!runtime_env.empty() && !PrepareEnv(runtime_env, &env)) return;
  env["RAY_WORKER_MODE"] = "1";
  env["RAY_NODE_ADDRESS"] = st_.address;
  env["RAY_WORKER_ID"] = ids::Hex(worker_id);
  env["RAY_JOB_ID"] = ids::Hex(job_id);
  env["RAY_NODE_PID"] = std::to_string(getpid());
  std::string error;
  pid_t pid = host_.Launch(argv, env, &error);
  if (pid < 0) {
    RAY_LOG(Warning) << error;
    ++st_.startup_failures;
    return;
  }
  Worker w;
  w.id = worker_id;
  w.pid = pid;
  w.job_id = job_id;
  w.runtime_env = runtime_env;
  st_.worker_by_pid[pid] = worker_id;
  st_.workers.emplace(worker_id, std::move(w));
}

void Core::Dispatch(Task& task, Worker& w, ResourceAllocation allocation) {
  FlushLineage();  // the lineage record leaves before the task runs
  proto::ExecRequest req{task.spec, task.resolved, ForWorker(allocation)};
  w.idle = false;
  if (task.spec.Kind() == proto::TaskKind::kNormal) {
    if (w.assigned.empty()) {
      w.allocation = std::move(allocation);
      w.lease = task.spec.resources;
    }
    w.assigned.push_back(task.spec.task_id);
  }
  task.worker_id = w.id;
  out_.Execute(w.id, req);
}

// -- task lifecycle -----------------------------------------------------------

void Core::ResolveDependencies(const std::string& task_id) {
  auto& task = st_.tasks[task_id];
  std::vector<std::string> refs;
  for (const auto& a : task.spec.args) {
    if (a.is_ref) refs.push_back(a.object_id);
  }
  if (refs.empty()) {
    OnDependenciesResolved(task_id, {});
    return;
  }
  out_.GetObjects(refs, [this, task_id](StatusOr<std::vector<proto::ObjectEntry>> entries) {
    if (!entries.ok()) {
      RAY_LOG(Warning) << "the object manager did not answer a get: "
                       << entries.status().message();
      return;
    }
    OnDependenciesResolved(task_id, std::move(*entries));
  });
}

void Core::OnDependenciesResolved(const std::string& task_id,
                                  std::vector<proto::ObjectEntry> entries) {
  auto t = st_.tasks.find(task_id);
  if (t == st_.tasks.end()) return;
  Task& task = t->second;
  task.resolved = std::move(entries);
  task.deps_ready = true;
  for (const auto& e : task.resolved) {
    if (e.kind == static_cast<uint8_t>(proto::ObjectKind::kError)) {
      PropagateArgumentError(task_id, e);
      return;
    }
  }
  switch (task.spec.Kind()) {
    case proto::TaskKind::kNormal:
      WarnIfInfeasible(task.spec, &task.warned_infeasible);
      st_.ready.push_back(task_id);
      Schedule();
      break;
    case proto::TaskKind::kActorCreation:
      StartActorCreation(task.spec.actor_id);
      break;
    case proto::TaskKind::kActorMethod:
      PumpActor(task.spec.actor_id);
      break;
  }
}

void Core::PropagateArgumentError(const std::string& task_id, const proto::ObjectEntry& error) {
  auto t = st_.tasks.find(task_id);
  Task& task = t->second;
  auto info = proto::Decode<proto::ErrorInfo>(error.data);
  std::vector<proto::ObjectEntry> copies;
  for (const auto& id : task.spec.return_ids) {
    copies.push_back(error);
    copies.back().id = id;
  }
  Deliver(task.spec, copies);
  UnpinArgs(task);
  const proto::TaskKind kind = task.spec.Kind();
  const std::string actor_id = task.spec.actor_id;
  st_.tasks.erase(t);
  if (kind == proto::TaskKind::kActorCreation) {
    MarkActorDead(actor_id, "an argument of its constructor failed: " + info.message);
  } else if (kind == proto::TaskKind::kActorMethod) {
    PumpActor(actor_id);
  }
}

void Core::Submit(proto::TaskSpec spec) {
  if (spec.origin_node.empty()) spec.origin_node = st_.options.node_id;
  if (!spec.placement_group.empty() && st_.removed_groups.count(spec.placement_group)) {
    const std::string why = "its placement group " + spec.placement_group + " was removed";
    if (spec.Kind() == proto::TaskKind::kActorCreation) {
      st_.actors[spec.actor_id].creation = spec;
      MarkActorDead(spec.actor_id, why);
    } else {
      FailReturns(spec, proto::ErrorKind::kWorker, "RayWorkerException",
                  "task " + DisplayName(spec) + " cannot run: " + why);
    }
    return;
  }
  if (spec.hops == 0) {
    for (const auto& a : spec.args) {
      if (a.is_ref) st_.used_as_arg.insert(a.object_id);
    }
    st_.lineage_batch.push_back(spec);
    if (st_.lineage_batch.size() >= 256) FlushLineage();
  }
  if (!st_.peers.empty() && spec.hops < kMaxHops && RouteToCluster(spec)) return;
  SubmitLocal(std::move(spec));
}

bool Core::RouteToCluster(proto::TaskSpec& spec) {
  switch (spec.Kind()) {
    case proto::TaskKind::kNormal: {
      if (!st_.pool.Feasible(spec.resources)) {
        // Never runs here: send it on now, without fetching its arguments here.
        std::string node = PickPeer(spec.resources, false);
        if (node.empty()) node = PickPeer(spec.resources, true);
        if (!node.empty()) {
          Forward(std::move(spec), node);
          return true;
        }
      }
      bool has_refs = false;
      for (const auto& a : spec.args) has_refs = has_refs || a.is_ref;
      if (has_refs && !st_.gcs_lost) {  // locations come from the GCS
        SubmitWithLocality(std::move(spec));
        return true;
      }
      return false;
    }
    case proto::TaskKind::kActorCreation: {
      std::string node = PlaceActor(spec.resources);
      if (node == st_.options.node_id) return false;
      st_.actor_home[spec.actor_id] = node;
      st_.remote_creations[spec.actor_id] = spec;
      Forward(std::move(spec), node);
      return true;
    }
    case proto::TaskKind::kActorMethod:
      if (st_.actors.count(spec.actor_id)) return false;
      RouteActorCall(std::move(spec));
      return true;
  }
  return false;
}

void Core::SubmitLocal(proto::TaskSpec spec) {
  std::string task_id = spec.task_id;
  if (spec.Kind() == proto::TaskKind::kActorCreation) {
    auto& a = st_.actors[spec.actor_id];
    a.creation = spec;
    a.state = ActorState::kPending;
    PublishActor(spec.actor_id);
  } else if (spec.Kind() == proto::TaskKind::kActorMethod) {
    auto a = st_.actors.find(spec.actor_id);
    if (a == st_.actors.end() || a->second.state == ActorState::kDead) {
      std::string cause = a == st_.actors.end() ? "unknown actor" : a->second.death_cause;
      FailReturns(spec, proto::ErrorKind::kActor, "RayActorException",
                  "actor " + ids::Hex(spec.actor_id) + " is dead: " + cause);
      return;
    }
    a->second.queue.push_back(task_id);
  }
  Task& task = st_.tasks[task_id];
  task.spec = std::move(spec);
  task.seq = st_.next_seq++;
  task.attempts = task.spec.attempts;
  ResolveDependencies(task_id);
}

void Core::Requeue(Worker& w, const std::vector<std::string>& ids) {
  for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
    auto pos = std::find(w.assigned.begin(), w.assigned.end(), *it);
    if (pos == w.assigned.end()) continue;
    w.assigned.erase(pos);
    if (st_.tasks.count(*it)) st_.ready.push_front(*it);
  }
}

void Core::FinishNormalTask(Worker& w, const proto::ExecReply& reply) {
  auto t = st_.tasks.find(reply.task_id);
  auto pos = std::find(w.assigned.begin(), w.assigned.end(), reply.task_id);
  if (pos != w.assigned.end()) w.assigned.erase(pos);
  Requeue(w, reply.returned);
  w.blocked = false;
  w.lent_cpu.clear();
  if (w.assigned.empty() || reply.exiting) {
    st_.pool.Release(w.allocation);
    w.allocation.clear();
  }
  if (t != st_.tasks.end()) {
    Task& task = t->second;
    if (reply.user_error && task.spec.retry_exceptions && task.attempts < task.spec.max_retries) {
      ++task.attempts;
      st_.ready.push_back(reply.task_id);
    } else {
      Deliver(task.spec, reply.results);
      UnpinArgs(task);
      st_.tasks.erase(t);
      ++st_.tasks_done;
    }
  }
  if (reply.exiting) {
    w.exiting = true;
    out_.ExitWorker(w.id);
  } else if (w.assigned.empty()) {
    w.idle = true;
  }
}

void Core::HandleDone(const proto::ExecReply& reply) {
  auto wit = st_.workers.find(reply.worker_id);
  if (wit == st_.workers.end()) return;
  Worker& w = wit->second;
  if (!w.actor_id.empty() && reply.direct) {
    // A call the driver sent to the worker itself, reported because it has
    // results in shared memory to seal or ended the actor (the driver has the
    // results already; they are stored here for everyone else).
    for (const auto& e : reply.results) out_.PutObject(e);
    ++st_.tasks_done;
    if (reply.exit_actor && !w.exiting) {
      w.exiting = true;
      out_.ExitWorker(w.id);
      MarkActorDead(w.actor_id, "it called ray::ExitActor");
    }
    return;
  }
  if (!w.actor_id.empty()) {
    FinishActorTask(w, reply);
    return;
  }
  FinishNormalTask(w, reply);
  Schedule();
}

void Core::RetryOrFailRunningTask(const Worker& w, const std::string& task_id,
                                  const std::string& why) {
  auto t = st_.tasks.find(task_id);
  if (t == st_.tasks.end()) return;
  Task& task = t->second;
  if (task.attempts < task.spec.max_retries && !st_.shutting_down &&
      !st_.removed_groups.count(task.spec.placement_group)) {
    ++task.attempts;
    task.worker_id.clear();
    st_.ready.push_back(task.spec.task_id);
    return;
  }
  FailReturns(task.spec, proto::ErrorKind::kWorker, "RayWorkerException",
              "the worker process (pid " + std::to_string(w.pid) + ") running task " +
                  DisplayName(task.spec) + " died: " + why +
                  (task.spec.max_retries > 0
                       ? " (after " + std::to_string(task.attempts) + " retries)"
                       : ""));
  UnpinArgs(task);
  st_.tasks.erase(t);
}

void Core::HandleWorkerDeath(const std::string& worker_id, const std::string& why) {
  auto wit = st_.workers.find(worker_id);
  if (wit == st_.workers.end() || wit->second.dead) return;
  Worker& w = wit->second;
  w.dead = true;
  out_.WorkerGone(worker_id);
  st_.pool.Release(w.allocation);
  w.allocation.clear();
  // Only the first assigned task was running; the others go back to the queue as they are.
  if (w.assigned.size() > 1) {
    Requeue(w, std::vector<std::string>(w.assigned.begin() + 1, w.assigned.end()));
  }
  if (!w.assigned.empty()) {
    std::string running = w.assigned.front();
    w.assigned.clear();
    RetryOrFailRunningTask(w, running, why);
  }
  KillActorsOwnedBy(worker_id, "(pid " + std::to_string(w.pid) + ") died: " + why);
  if (!w.actor_id.empty()) {
    for (const auto& driver : st_.drivers) out_.TellWorkerGone(driver, worker_id);
  }
  std::string actor_id = w.actor_id;
  if (!actor_id.empty() && !w.exiting) {
    // A creation still in flight fails the same way as a crash after creation.
    for (auto it = st_.tasks.begin(); it != st_.tasks.end();) {
      if (it->second.spec.Kind() == proto::TaskKind::kActorCreation &&
          it->second.spec.actor_id == actor_id && it->second.worker_id == worker_id) {
        UnpinArgs(it->second);
        it = st_.tasks.erase(it);
      } else {
        ++it;
      }
    }
    OnActorWorkerLost(actor_id, "its worker process (pid " + std::to_string(w.pid) +
                                    ") died: " + why);
  } else if (!actor_id.empty()) {
    auto& a = st_.actors[actor_id];
    if (a.worker_id == worker_id) a.worker_id.clear();
  }
  Schedule();
}

}  // namespace ray::raylet
