// The object manager's messages, declared once as a CAF typed-actor
// interface: object_manager.cc's behavior is checked against it when it
// compiles, senders holding an ObjectManagerActor handle are checked too,
// and tests/actors/protocol_roundtrip_test.cc sends every message of it
// across a real connection. What each message does is in object_manager.h.
#ifndef RAY_ACTORS_INTERFACES_OBJECT_MANAGER_H_
#define RAY_ACTORS_INTERFACES_OBJECT_MANAGER_H_

#include <caf/all.hpp>

#include <cstdint>
#include <string>

#include "actors/net/atoms.h"

namespace ray::object_manager {

// The core's timers.
using timeout_atom = caf::atom_constant<caf::atom("om_tmo")>;
using create_timeout_atom = caf::atom_constant<caf::atom("om_ctmo")>;
using flush_atom = caf::atom_constant<caf::atom("om_flush")>;

using ObjectManagerActor = caf::typed_actor<
    // -- this node
    caf::reacts_to<atoms::put, std::string>,
    caf::reacts_to<atoms::set_raylet, caf::actor>,
    caf::reacts_to<atoms::set_gcs, caf::actor>,
    /// (id, size) -> CreateReply.
    caf::replies_to<atoms::create, std::string, uint64_t>::with<std::string>,
    /// GetRequest -> GetReply; WaitRequest -> '0'/'1' per id.
    caf::replies_to<atoms::get, std::string>::with<std::string>,
    caf::replies_to<atoms::wait, std::string>::with<std::string>,
    caf::reacts_to<atoms::release, std::string>,
    caf::reacts_to<atoms::free_obj, std::string>,
    /// (client, ids), (client): pins of a client let go.
    caf::reacts_to<atoms::unpin, std::string, std::string>,
    caf::reacts_to<atoms::gone, std::string>,
    caf::replies_to<atoms::stats>::with<std::string>,
    /// (kind, JSON args) -> JSON: the store's part of the node's report ("status": use and
    /// capacity; "memory": every object held).
    caf::replies_to<atoms::observe, std::string, std::string>::with<std::string>,
    // -- other nodes
    caf::reacts_to<atoms::node_add, std::string, caf::actor>,
    caf::reacts_to<atoms::node_del, std::string>,
    caf::reacts_to<atoms::located, std::string>,
    /// (id, requester) -> ObjectEntry; (id, offset, len) -> bytes.
    caf::replies_to<atoms::pull, std::string, std::string>::with<std::string>,
    caf::replies_to<atoms::chunk, std::string, uint64_t, uint64_t>::with<std::string>,
    caf::reacts_to<atoms::pull_end, std::string, std::string>,
    /// Relayed by the owner's node (the flag tells them from the owner's own).
    caf::reacts_to<atoms::free_obj, std::string, bool>,
    caf::reacts_to<atoms::release, std::string, bool>,
    // -- its own process
    caf::reacts_to<timeout_atom, uint64_t>,
    caf::reacts_to<create_timeout_atom, uint64_t>,
    caf::reacts_to<flush_atom>>;

}  // namespace ray::object_manager

#endif  // RAY_ACTORS_INTERFACES_OBJECT_MANAGER_H_
