// The worker actor: runs in each worker process, on its own thread (it blocks
// while user code runs), executing the raylet's ExecRequests one at a time.
//
// Messages:
//   (exec, ExecRequest)  from the raylet; answered with (done, ExecReply) to the raylet
//   (exit_now)           quit; the process exits
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

/// Spawns the (detached) worker actor serving `raylet`.
caf::actor Spawn(caf::actor_system& system, std::shared_ptr<TaskExecutor> executor,
                 caf::actor raylet);

}  // namespace ray::worker

#endif  // RAY_ACTORS_WORKER_WORKER_H_
