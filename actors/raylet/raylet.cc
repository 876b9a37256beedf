#include "actors/raylet/raylet.h"

#include <signal.h>
#include <sys/wait.h>

#include <deque>
#include <sstream>
#include <memory>
#include <set>
#include <unordered_map>

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

constexpr const char* kRayletClient = "raylet";

struct Worker {
  std::string id;
  pid_t pid = -1;
  std::string job_id;
  caf::actor handle;       // set by hello
  bool idle = false;
  bool dead = false;
  bool exiting = false;    // max_calls reached or ExitActor
  std::string task_id;     // normal task running
  std::string actor_id;    // dedicated actor worker
  bool blocked = false;
  ResourceAllocation allocation;
  ResourceAllocation lent_cpu;  // CPU given back while blocked in Get
};

struct Task {
  proto::TaskSpec spec;
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
};

struct State {
  RayletOptions options;
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
  std::vector<proto::TaskSpec> lineage_batch;
  int starting_workers = 0;
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

void FailReturns(Self self, const proto::TaskSpec& spec, proto::ErrorKind kind,
                 const std::string& type, const std::string& message) {
  for (const auto& id : spec.return_ids) {
    PutEntry(self, ErrorEntry(id, kind, type, message, DisplayName(spec)));
  }
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
  if (st.lineage_batch.empty()) return;
  self->send(st.gcs, atoms::lineage::value, proto::Encode(st.lineage_batch));
  st.lineage_batch.clear();
}

void PublishActor(Self self, const std::string& actor_id) {
  auto& a = self->state.actors[actor_id];
  proto::ActorInfo info{actor_id, a.creation.actor_name, a.creation.job_id,
                        ActorStateName(a.state), a.creation.function, a.restarts,
                        a.death_cause};
  self->send(self->state.gcs, atoms::actor_upd::value, proto::Encode(info));
}

void Schedule(Self self);

// -- workers ------------------------------------------------------------------

void StartWorker(Self self, const std::string& job_id) {
  auto& st = self->state;
  auto job = st.jobs.find(job_id);
  if (job == st.jobs.end() || st.port == 0) return;
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
  ++st.starting_workers;
}

void Dispatch(Self self, Task& task, Worker& w, ResourceAllocation allocation) {
  FlushLineage(self);  // the lineage record leaves before the task runs
  proto::ExecRequest req{task.spec, task.resolved, allocation};
  w.idle = false;
  if (task.spec.Kind() == proto::TaskKind::kNormal) {
    w.task_id = task.spec.task_id;
    w.allocation = std::move(allocation);
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
  for (const auto& id : a.inflight) FailActorCall(self, id, msg);
  a.inflight.clear();
  st.pool.Release(a.allocation);
  a.allocation.clear();
  a.worker_id.clear();
  if (a.state == ActorState::kDead || st.shutting_down) return;
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
      for (const auto& id : task.spec.return_ids) {
        proto::ObjectEntry copy = e;
        copy.id = id;
        PutEntry(self, copy);
      }
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

void Submit(Self self, proto::TaskSpec spec) {
  auto& st = self->state;
  st.lineage_batch.push_back(spec);
  if (st.lineage_batch.size() >= 256) FlushLineage(self);
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
  st.tasks[task_id].spec = std::move(spec);
  ResolveDependencies(self, task_id);
}

void FinishNormalTask(Self self, Worker& w, const proto::ExecReply& reply) {
  auto& st = self->state;
  auto t = st.tasks.find(reply.task_id);
  st.pool.Release(w.allocation);
  w.allocation.clear();
  w.lent_cpu.clear();
  w.blocked = false;
  w.task_id.clear();
  if (t != st.tasks.end()) {
    Task& task = t->second;
    if (reply.user_error && task.spec.retry_exceptions && task.attempts < task.spec.max_retries) {
      ++task.attempts;
      st.ready.push_back(reply.task_id);
    } else {
      for (const auto& e : reply.results) PutEntry(self, e);
      UnpinArgs(self, task);
      st.tasks.erase(t);
      ++st.tasks_done;
    }
  }
  if (reply.exiting) {
    w.exiting = true;
  } else {
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
    for (const auto& e : reply.results) PutEntry(self, e);
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
  if (!w.handle) --st.starting_workers;
  self->send(st.om, atoms::gone::value, worker_id);
  st.pool.Release(w.allocation);
  w.allocation.clear();
  if (!w.task_id.empty()) {
    auto t = st.tasks.find(w.task_id);
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

void Schedule(Self self) {
  auto& st = self->state;
  if (st.shutting_down) return;
  std::map<std::string, int> wanted;  // job -> workers needed
  // Actors waiting for a worker and their resources.
  for (auto& [actor_id, a] : st.actors) {
    if (!a.needs_worker) continue;
    if (!st.pool.Feasible(a.creation.resources)) {
      if (!a.warned_infeasible) {
        RAY_LOG(Warning) << "actor " << DisplayName(a.creation)
                        << " requests resources no node has; it waits until they exist"
                       ;
        a.warned_infeasible = true;
      }
      continue;
    }
    Worker* idle = nullptr;
    for (auto& [wid, w] : st.workers) {
      if (w.idle && !w.dead && w.job_id == a.creation.job_id) {
        idle = &w;
        break;
      }
    }
    if (!idle) {
      ++wanted[a.creation.job_id];
      continue;
    }
    auto alloc = st.pool.Acquire(a.creation.resources);
    if (!alloc) continue;
    a.allocation = *alloc;
    a.needs_worker = false;
    a.worker_id = idle->id;
    idle->actor_id = actor_id;
    auto t = st.tasks.find(a.creation.task_id);
    if (t == st.tasks.end()) {
      // A restart: run the constructor again with the original arguments.
      st.tasks[a.creation.task_id].spec = a.creation;
      t = st.tasks.find(a.creation.task_id);
      t->second.deps_ready = true;
    }
    Dispatch(self, t->second, *idle, a.allocation);
  }
  // Normal tasks, first come first served, skipping those that do not fit now.
  std::deque<std::string> still_waiting;
  while (!st.ready.empty()) {
    std::string task_id = std::move(st.ready.front());
    st.ready.pop_front();
    auto t = st.tasks.find(task_id);
    if (t == st.tasks.end()) continue;
    Task& task = t->second;
    if (!st.pool.Feasible(task.spec.resources)) {
      if (!task.warned_infeasible) {
        std::string req;
        for (const auto& [n, v] : task.spec.resources) {
          std::ostringstream amount;
          amount << v;
          req += " " + n + "=" + amount.str();
        }
        RAY_LOG(Warning) << "task " << DisplayName(task.spec)
                        << " requests" << req
                        << ", more than this node has; it waits until such resources exist"
                       ;
        task.warned_infeasible = true;
      }
      still_waiting.push_back(task_id);
      continue;
    }
    Worker* idle = nullptr;
    for (auto& [wid, w] : st.workers) {
      if (w.idle && !w.dead && w.actor_id.empty() && w.job_id == task.spec.job_id) {
        idle = &w;
        break;
      }
    }
    if (!idle) {
      still_waiting.push_back(task_id);
      continue;
    }
    auto alloc = st.pool.Acquire(task.spec.resources);
    if (!alloc) {
      still_waiting.push_back(task_id);
      continue;
    }
    Dispatch(self, task, *idle, std::move(*alloc));
  }
  st.ready = std::move(still_waiting);
  // How many more workers the runnable tasks need: count those that would fit now.
  {
    ResourcePool probe = st.pool;
    for (const auto& task_id : st.ready) {
      auto& task = st.tasks[task_id];
      if (probe.Acquire(task.spec.resources)) ++wanted[task.spec.job_id];
    }
  }
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
  int waiting_actors = 0;
  for (auto& [aid, a] : st.actors) waiting_actors += a.needs_worker ? 1 : 0;
  for (const auto& [job_id, n] : wanted) {
    int starting = 0;
    for (auto& [wid, w] : st.workers) {
      if (!w.dead && !w.handle && w.job_id == job_id) ++starting;
    }
    for (int i = starting; i < n; ++i) {
      if (pool_workers >= cap + waiting_actors) break;
      StartWorker(self, job_id);
      ++pool_workers;
    }
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
    for (auto& [wid, w] : st.workers) {
      if (w.handle && w.handle.address() == msg.source) {
        st.launcher->Signal(w.pid, SIGKILL);  // lost contact: make sure it is gone
        HandleWorkerDeath(self, wid, "lost connection to the worker");
        return;
      }
    }
    for (auto it = st.jobs.begin(); it != st.jobs.end(); ++it) {
      if (it->second.driver && it->second.driver.address() == msg.source) {
        // The driver is gone: its workers and actors go with it.
        for (auto& [wid, w] : st.workers) {
          if (w.job_id == it->first && !w.dead) st.launcher->Signal(w.pid, SIGKILL);
        }
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
          auto promise = self->make_response_promise<std::string, caf::actor, caf::actor>();
          self->request(st.gcs, std::chrono::seconds(30), atoms::job::value)
              .then(
                  [=](const std::string& job_id) mutable {
                    auto& st = self->state;
                    st.jobs[job_id] = Job{hello.executable, hello.code_search_path, client};
                    if (client) self->monitor(client);
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
        --st.starting_workers;
        st.startup_failures = 0;
        self->monitor(client);
        info.job_id = w.job_id;
        self->send(self, flush_atom::value);  // schedule after the reply is out
        return {proto::Encode(info), st.om, st.gcs};
      },
      [=](flush_atom) { Schedule(self); },
      [=](atoms::submit, const std::string& bytes) {
        Submit(self, proto::Decode<proto::TaskSpec>(bytes));
      },
      [=](atoms::done, const std::string& bytes) {
        HandleDone(self, proto::Decode<proto::ExecReply>(bytes));
      },
      [=](atoms::blocked, const std::string& worker_id) {
        auto& st = self->state;
        auto w = st.workers.find(worker_id);
        if (w == st.workers.end() || w->second.blocked || w->second.task_id.empty()) return;
        w->second.blocked = true;
        w->second.lent_cpu = Extract(&w->second.allocation, "CPU");
        st.pool.Release(w->second.lent_cpu);
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
        if (a == st.actors.end() || a->second.state == ActorState::kDead) return;
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
               " cpu_available=" + std::to_string(st.pool.Available("CPU"));
      },
      [=](atoms::shutdown) {
        self->state.shutting_down = true;
        FlushLineage(self);
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

}  // namespace ray::raylet
