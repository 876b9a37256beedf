// The Chrome trace of profile events (profile_events.h), as `ray timeline`
// and ray::Timeline write it: a JSON array loadable in Perfetto
// (ui.perfetto.dev) and chrome://tracing. Format in docs/cli.md:
//   - one process (pid) per node, named by a `process_name` metadata event;
//   - one thread (tid) per recording thread of each driver and worker process,
//     and one per node for its raylet and object manager, named by
//     `thread_name` events ("worker:<pid>", "driver:<pid>", "raylet");
//   - complete events (ph "X") with cat (the event type), name, pid, tid, ts
//     and dur in microseconds, cname and args; a task is expanded into `task`
//     (named by its function) and its phases task:deserialize_arguments,
//     task:execute and task:store_outputs, and the gaps between a worker's
//     tasks become worker_idle.
#ifndef RAY_ACTORS_COMMON_TIMELINE_H_
#define RAY_ACTORS_COMMON_TIMELINE_H_

#include <cstddef>
#include <string>

#include "actors/common/profile_events.h"

namespace ray::timeline {

struct Options {
  std::string job_id;  // binary; empty: every job (and the nodes' own events)
};

struct Summary {
  size_t spans = 0;     // ph "X" events written
  size_t dropped = 0;   // events the cluster dropped (reply.dropped)
};

/// The trace of `reply` as JSON text.
std::string ChromeTrace(const events::EventsReply& reply, const Options& options,
                        Summary* summary = nullptr);

}  // namespace ray::timeline

#endif  // RAY_ACTORS_COMMON_TIMELINE_H_
