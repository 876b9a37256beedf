// A worker's messages, declared once as CAF typed-actor interfaces. The
// worker's address is its front door (actors/net/front_door.h), which queues
// exec and direct itself and passes the rest to the actor behind it, whose
// behavior (worker.cc) is checked against WorkerBehind when it compiles.
#ifndef RAY_ACTORS_INTERFACES_WORKER_H_
#define RAY_ACTORS_INTERFACES_WORKER_H_

#include <caf/all.hpp>

#include <string>

#include "actors/net/atoms.h"

namespace ray::worker {

/// The actor behind the front door.
using WorkerBehind = caf::typed_actor<
    /// -> vector<task id>: the queued tasks it gave back (not started).
    caf::replies_to<atoms::steal>::with<std::string>,
    /// The raylet has its last reply: the process exits.
    caf::reacts_to<atoms::exit_now>,
    /// Sends its recorded events to the raylet (ev_add) before answering.
    caf::replies_to<atoms::ev_flush>::with<bool>,
    /// (kind, args) -> JSON: the ObjectRefs this process holds (`ray memory`).
    caf::replies_to<atoms::observe, std::string, std::string>::with<std::string>>;

/// What the worker's address accepts.
using WorkerActor = WorkerBehind::extend<
    /// ExecRequest from the raylet.
    caf::reacts_to<atoms::exec, std::string>,
    /// (ExecRequest, caller): a driver's direct actor call; the reply goes to the caller.
    caf::reacts_to<atoms::direct, std::string, caf::actor>>;

}  // namespace ray::worker

#endif  // RAY_ACTORS_INTERFACES_WORKER_H_
