// The worker actor of a worker process, and the thread that runs its tasks.
//
// The actor never blocks: it queues the raylet's ExecRequests for an executor
// thread, which runs them one at a time (user code may block, e.g. in Get)
// and reports each with (done, ExecReply) to the raylet. Queuing lets the
// raylet pipeline several tasks to one worker; `steal` gives back the queued
// tasks that have not started (the raylet does so when the running task blocks
// in Get, so a task never waits behind the task it waits for).
//
// Messages:
//   (exec, ExecRequest)  from the raylet; queued
//   (steal)              -> string: encoded ids of queued tasks removed from the queue
//   (exit_now)           quit after the running task; the process exits
// The worker quits when its raylet's connection drops.
#ifndef RAY_ACTORS_WORKER_WORKER_H_
#define RAY_ACTORS_WORKER_WORKER_H_

#include <caf/all.hpp>

#include <memory>

#include "actors/common/protocol.h"

namespace ray::worker {

/// Runs one task; implemented by the runtime, which knows the user's functions.
class TaskExecutor {
 public:
  virtual ~TaskExecutor() = default;
  virtual proto::ExecReply Execute(const proto::ExecRequest& request) = 0;
};

/// Spawns the worker actor serving `raylet` and its executor thread.
caf::actor Spawn(caf::actor_system& system, std::shared_ptr<TaskExecutor> executor,
                 caf::actor raylet);

}  // namespace ray::worker

#endif  // RAY_ACTORS_WORKER_WORKER_H_
