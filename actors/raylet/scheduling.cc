// The raylet: placing runnable work on this node's workers and starting workers.
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
#include "actors/common/protocol.h"

namespace ray::raylet::detail {

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
                  !st.startup_error.empty()
                      ? st.startup_error
                      : "worker processes fail to start (see " + st.options.session_dir +
                            "/logs/worker-*.err)");
      st.tasks.erase(task_id);
    }
    st.ready.clear();
    st.startup_failures = 0;
    st.startup_error.clear();
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

}  // namespace ray::raylet::detail
