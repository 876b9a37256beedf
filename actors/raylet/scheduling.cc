// The raylet core: placing runnable work on this node's workers and starting workers.
#include <algorithm>
#include <sstream>

#include "actors/common/logging.h"
#include "actors/raylet/raylet_core.h"

namespace ray::raylet {

namespace {
/// Tasks queued on one busy worker at most (the first runs, the others wait there).
constexpr size_t kPipelineDepth = 4;
}  // namespace

void Core::WarnIfInfeasible(const proto::TaskSpec& spec, bool* warned) {
  if (*warned || st_.pool.Feasible(spec.resources)) return;
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

void Core::PipelineToBusyWorkers() {
  std::vector<Worker*> busy;
  for (auto& [wid, w] : st_.workers) {
    if (w.dead || !w.connected) {
      if (!w.dead) return;  // a worker is starting: let it take the backlog
      continue;
    }
    if (w.actor_id.empty() && !w.exiting && !w.blocked && !w.assigned.empty() &&
        w.assigned.size() < kPipelineDepth) {
      busy.push_back(&w);
    }
  }
  if (busy.empty() || st_.ready.size() < 2 * busy.size()) return;
  size_t scanned = 0;
  bool placed = true;
  while (placed && !st_.ready.empty() && scanned < 256) {
    placed = false;
    for (Worker* w : busy) {
      if (st_.ready.empty() || w->assigned.size() >= kPipelineDepth) continue;
      std::string task_id = st_.ready.front();
      auto t = st_.tasks.find(task_id);
      ++scanned;
      if (t == st_.tasks.end()) {
        st_.ready.pop_front();
        placed = true;
        continue;
      }
      if (t->second.spec.job_id != w->job_id || t->second.spec.runtime_env != w->runtime_env ||
          t->second.spec.resources != w->lease) {
        continue;
      }
      st_.ready.pop_front();
      Dispatch(t->second, *w, w->allocation);
      placed = true;
    }
  }
}

void Core::ReclaimPipelinedForPeers() {
  if (st_.peers.empty()) return;
  for (auto& [wid, w] : st_.workers) {
    if (w.dead || w.stealing || w.assigned.size() < 2 || !w.actor_id.empty()) continue;
    bool room = false;
    for (const auto& [id, p] : st_.peers) {
      room = room || (p.confirmed && Fits(p.record.available, w.lease));
    }
    if (!room) continue;
    w.stealing = true;
    out_.StealTasks(wid, [this, wid = wid](StatusOr<std::vector<std::string>> ids) {
      auto w = st_.workers.find(wid);
      if (w == st_.workers.end()) return;
      w->second.stealing = false;
      // A failure is the worker's death, handled where it is noticed.
      if (!ids.ok() || w->second.dead) return;
      Requeue(w->second, *ids);
      Schedule();
    });
  }
}

void Core::PlaceActors(IdleWorkers& idle, size_t& idle_count, std::map<PoolKey, int>& wanted) {
  for (auto& [actor_id, a] : st_.actors) {
    if (!a.needs_worker) continue;
    WarnIfInfeasible(a.creation, &a.warned_infeasible);
    if (a.warned_infeasible && !st_.pool.Feasible(a.creation.resources)) continue;
    const PoolKey pool{a.creation.job_id, a.creation.runtime_env};
    auto& list = idle[pool];
    if (list.empty()) {
      ++wanted[pool];
      continue;
    }
    auto alloc = st_.pool.Acquire(a.creation.resources);
    if (!alloc) continue;
    Worker* w = list.back();
    list.pop_back();
    --idle_count;
    a.allocation = *alloc;
    a.needs_worker = false;
    a.worker_id = w->id;
    w->actor_id = actor_id;
    auto t = st_.tasks.find(a.creation.task_id);
    if (t == st_.tasks.end()) {
      // A restart: run the constructor again with the original arguments.
      t = st_.tasks.emplace(a.creation.task_id, Task{}).first;
      t->second.spec = a.creation;
      t->second.deps_ready = true;
    }
    Dispatch(t->second, *w, a.allocation);
  }
}

void Core::DispatchReadyTasks(IdleWorkers& idle, size_t& idle_count) {
  // First come first served, skipping those that do not fit now.
  std::deque<std::string> still_waiting;
  while (!st_.ready.empty() && idle_count > 0) {
    std::string task_id = std::move(st_.ready.front());
    st_.ready.pop_front();
    auto t = st_.tasks.find(task_id);
    if (t == st_.tasks.end()) continue;
    Task& task = t->second;
    auto& list = idle[{task.spec.job_id, task.spec.runtime_env}];
    std::optional<ResourceAllocation> alloc;
    if (list.empty() || !(alloc = st_.pool.Acquire(task.spec.resources))) {
      still_waiting.push_back(std::move(task_id));
      continue;
    }
    Worker* w = list.back();
    list.pop_back();
    --idle_count;
    Dispatch(task, *w, std::move(*alloc));
  }
  for (auto it = still_waiting.rbegin(); it != still_waiting.rend(); ++it) {
    st_.ready.push_front(std::move(*it));
  }
}

bool Core::FailIfWorkersCannotStart() {
  if (st_.startup_failures < st_.options.max_worker_startup_failures) return false;
  // Workers cannot start: fail what waits for them instead of hanging.
  for (const auto& task_id : st_.ready) {
    auto& task = st_.tasks[task_id];
    FailReturns(task.spec, proto::ErrorKind::kWorker, "RayWorkerException",
                !st_.startup_error.empty()
                    ? st_.startup_error
                    : "worker processes fail to start (see " + st_.options.session_dir +
                          "/logs/worker-*.err)");
    st_.tasks.erase(task_id);
  }
  st_.ready.clear();
  st_.startup_failures = 0;
  st_.startup_error.clear();
  return true;
}

void Core::StartWantedWorkers(std::map<PoolKey, int>& wanted) {
  // Task workers are capped (blocked workers lend their CPU and do not count);
  // workers for actors are not, since each actor holds one for its lifetime.
  int cap = std::max(4, static_cast<int>(2 * st_.pool.Total("CPU")));
  int pool_workers = 0;
  for (auto& [wid, w] : st_.workers) {
    if (!w.dead && w.actor_id.empty() && !w.blocked) ++pool_workers;
  }
  int budget = cap - pool_workers;
  for (auto& [job, n] : wanted) budget += n;  // actors bring their own worker
  if (budget > 0 && !st_.ready.empty()) {
    // Count the queued tasks that would run now if they had a worker; stop at the budget.
    // Bounded scan: the queue can be long while all CPUs are busy.
    ResourcePool probe = st_.pool;
    int counted = 0, scanned = 0;
    for (const auto& task_id : st_.ready) {
      if (counted >= budget || ++scanned > 64) break;
      auto t = st_.tasks.find(task_id);
      if (t != st_.tasks.end() && probe.Acquire(t->second.spec.resources)) {
        ++wanted[{t->second.spec.job_id, t->second.spec.runtime_env}];
        ++counted;
      }
    }
  }
  for (const auto& [pool, n] : wanted) {
    int starting = 0;
    for (auto& [wid, w] : st_.workers) {
      if (!w.dead && !w.connected && w.job_id == pool.first && w.runtime_env == pool.second) {
        ++starting;
      }
    }
    for (int i = starting; i < n && budget > 0; ++i, --budget) StartWorker(pool.first, pool.second);
  }
}

void Core::Schedule() {
  if (st_.shutting_down) return;
  IdleWorkers idle;
  size_t idle_count = 0;
  for (auto& [wid, w] : st_.workers) {
    if (w.idle && !w.dead && w.connected && w.actor_id.empty()) {
      idle[{w.job_id, w.runtime_env}].push_back(&w);
      ++idle_count;
    }
  }
  std::map<PoolKey, int> wanted;  // workers to start
  PlaceActors(idle, idle_count, wanted);
  if (idle_count > 0 && !st_.ready.empty()) DispatchReadyTasks(idle, idle_count);
  SpillToPeers();
  PipelineToBusyWorkers();
  if (FailIfWorkersCannotStart()) return;
  StartWantedWorkers(wanted);
}

}  // namespace ray::raylet
