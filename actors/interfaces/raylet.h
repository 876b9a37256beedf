// The raylet's messages, declared once as a CAF typed-actor interface. The
// behavior (raylet.cc) is checked against it when it compiles: a message it
// does not handle, or handles with other types, is a compile error. Senders
// holding a RayletActor handle are checked the same way, and
// tests/actors/protocol_roundtrip_test.cc sends every message of it across
// a real connection. Payloads are msgpack structs of actors/common/protocol.h
// carried as std::string.
#ifndef RAY_ACTORS_INTERFACES_RAYLET_H_
#define RAY_ACTORS_INTERFACES_RAYLET_H_

#include <caf/all.hpp>

#include <cstdint>
#include <string>

#include "actors/net/atoms.h"

namespace ray::raylet {

// Messages of the raylet's own process (its timers, its worker launcher).
using address_atom = caf::atom_constant<caf::atom("address")>;
using exited_atom = caf::atom_constant<caf::atom("exited")>;
using timer_atom = caf::atom_constant<caf::atom("timer")>;
using hb_start_atom = caf::atom_constant<caf::atom("hb_start")>;
using hb_tick_atom = caf::atom_constant<caf::atom("hb_tick")>;
using reconnect_atom = caf::atom_constant<caf::atom("reconnect")>;
using gcs_back_atom = caf::atom_constant<caf::atom("gcs_back")>;
using stack_done_atom = caf::atom_constant<caf::atom("stack_done")>;

using RayletActor = caf::typed_actor<
    // -- drivers and workers of this node
    /// (Hello, client) -> (NodeInfo, object manager, GCS); a driver gets a new job id.
    caf::replies_to<atoms::hello, std::string, caf::actor>::with<std::string, caf::actor,
                                                                  caf::actor>,
    /// TaskSpec: a task, an actor creation or an actor call.
    caf::reacts_to<atoms::submit, std::string>,
    /// ExecReply of a worker.
    caf::reacts_to<atoms::done, std::string>,
    /// A worker waits in Get (its CPU is lent out) / is back; worker id.
    caf::reacts_to<atoms::blocked, std::string>,
    caf::reacts_to<atoms::unblocked, std::string>,
    /// (object id, may_free): the owner dropped its last ref.
    caf::reacts_to<atoms::release, std::string, bool>,
    /// (object id, size) -> CreateReply, delegated to the object manager.
    caf::replies_to<atoms::create, std::string, uint64_t>::with<std::string>,
    /// actor id -> (ActorRoute, worker handle, worker id).
    caf::replies_to<atoms::actor_ep, std::string>::with<int32_t, caf::actor, std::string>,
    /// (actor id, no_restart).
    caf::reacts_to<atoms::kill, std::string, bool>,
    caf::replies_to<atoms::stats>::with<std::string>,
    caf::reacts_to<atoms::shutdown>,
    /// (event count, events::Batch) of a process of this node, passed on to the GCS.
    caf::replies_to<atoms::ev_add, uint32_t, std::string>::with<bool>,
    caf::reacts_to<atoms::metrics, std::string, std::string>,
    caf::replies_to<atoms::bundle, std::string, std::string, int32_t, std::string>::with<bool>,
    /// Flushes the events of this node's workers (and its own) to the GCS; true when done.
    caf::replies_to<atoms::ev_flush>::with<bool>,
    /// (kind, JSON args) -> JSON: this node's report for `ray status`, `memory`,
    /// `stack` or `logs` (docs/cli.md).
    caf::replies_to<atoms::observe, std::string, std::string>::with<std::string>,
    // -- other nodes and the GCS
    /// (NodeRecord, raylet, object manager) / (node id, reason), from the GCS.
    caf::reacts_to<atoms::node_add, std::string, caf::actor, caf::actor>,
    caf::reacts_to<atoms::node_del, std::string, std::string>,
    /// (object id, why): the object manager found an object lost.
    caf::reacts_to<atoms::rebuild, std::string, std::string>,
    /// (task id, vector<ObjectEntry>): results of a task forwarded to another node.
    caf::reacts_to<atoms::fwd_done, std::string, std::string>,
    caf::reacts_to<atoms::job_end, std::string>,
    /// unused -> ("", GCS): how a joining node finds the GCS.
    caf::replies_to<atoms::gcs_of, std::string>::with<std::string, caf::actor>,
    // -- its own process
    caf::reacts_to<address_atom, std::string, uint16_t>,
    caf::reacts_to<exited_atom, int32_t, int32_t>,
    caf::reacts_to<timer_atom, uint64_t>,
    caf::reacts_to<hb_start_atom, std::string>,
    caf::reacts_to<hb_tick_atom>,
    caf::reacts_to<reconnect_atom>,
    caf::reacts_to<gcs_back_atom, caf::actor>,
    /// (token, JSON) from the thread that ran gdb for an observe("stack").
    caf::reacts_to<stack_done_atom, uint64_t, std::string>>;

}  // namespace ray::raylet

#endif  // RAY_ACTORS_INTERFACES_RAYLET_H_
