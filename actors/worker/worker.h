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
//   (direct, ExecRequest, reply_to)  a driver's direct actor call: queued; the
//                        reply goes to the raylet (done) and reply_to (dir_done)
// exec and direct are queued by a front door (a caf::actor_companion) on the
// delivering thread; the front door's handle is the worker's address.
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

struct Handles {
  caf::actor front;  // the worker's address for the raylet and callers
  caf::actor actor;  // the worker actor itself: it terminates when the worker must exit
};

/// Spawns the worker actor serving `raylet`, its executor thread, and its front door.
Handles Spawn(caf::actor_system& system, std::shared_ptr<TaskExecutor> executor,
              caf::actor raylet);

}  // namespace ray::worker

#endif  // RAY_ACTORS_WORKER_WORKER_H_
