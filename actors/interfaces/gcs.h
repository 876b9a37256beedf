// The GCS's messages, declared once as a CAF typed-actor interface: gcs.cc's
// behavior is checked against it when it compiles, senders holding a
// GcsActor handle are checked too, and tests/actors/protocol_roundtrip_test.cc
// sends every message of it across a real connection. Payloads are msgpack
// structs of actors/common/protocol.h carried as std::string; what each
// message does is in gcs.h.
#ifndef RAY_ACTORS_INTERFACES_GCS_H_
#define RAY_ACTORS_INTERFACES_GCS_H_

#include <caf/all.hpp>

#include <string>

#include "actors/net/atoms.h"

namespace ray::gcs {

// The GCS's own timers.
using check_atom = caf::atom_constant<caf::atom("hb_check")>;
using code_timeout_atom = caf::atom_constant<caf::atom("code_tmo")>;
/// The head's process tells its GCS where the dashboard is (observe "info").
using webui_atom = caf::atom_constant<caf::atom("webui")>;

using GcsActor = caf::typed_actor<
    // -- jobs and shipped code
    caf::replies_to<atoms::job>::with<std::string>,
    caf::reacts_to<atoms::job_reg, std::string>,
    caf::replies_to<atoms::job_info, std::string>::with<std::string>,
    caf::reacts_to<atoms::job_end, std::string>,
    caf::replies_to<atoms::code_put, std::string, std::string>::with<bool>,
    caf::replies_to<atoms::pg, std::string, std::string>::with<std::string>,
    caf::replies_to<atoms::code_get, std::string>::with<std::string>,
    // -- actors and their names
    caf::replies_to<atoms::reserve, std::string, std::string>::with<bool>,
    caf::replies_to<atoms::lookup, std::string>::with<std::string>,
    caf::reacts_to<atoms::actor_upd, std::string>,
    caf::replies_to<atoms::actor_get, std::string>::with<std::string>,
    caf::replies_to<atoms::stats>::with<std::string>,
    // -- membership
    caf::replies_to<atoms::node_reg, std::string, caf::actor, caf::actor>::with<std::string>,
    caf::replies_to<atoms::heartbeat, std::string, std::string>::with<std::string>,
    caf::replies_to<atoms::nodes>::with<std::string>,
    // -- the object directory and the lineage log
    caf::reacts_to<atoms::loc_add, std::string, std::string>,
    caf::reacts_to<atoms::loc_del, std::string, std::string, std::string>,
    caf::reacts_to<atoms::locate, std::string, caf::actor>,
    caf::reacts_to<atoms::rebuild_sub, std::string, caf::actor>,
    caf::replies_to<atoms::locs_now, std::string>::with<std::string>,
    caf::reacts_to<atoms::lineage, std::string>,
    caf::reacts_to<atoms::released, std::string>,
    caf::replies_to<atoms::lineage_get, std::string>::with<std::string>,
    // -- observability
    /// (node id, event count, events::Batch) from a raylet.
    caf::reacts_to<atoms::ev_add, std::string, uint32_t, std::string>,
    /// job id (empty: all) -> events::EventsReply.
    caf::replies_to<atoms::ev_get, std::string>::with<std::string>,
    /// (kind, JSON args) -> JSON: the cluster's report, from the GCS's tables
    /// and every live raylet's (docs/cli.md).
    caf::replies_to<atoms::observe, std::string, std::string>::with<std::string>,
    /// The autoscaler's report (JSON), shown by `ray status` and /api/cluster_status.
    caf::reacts_to<atoms::as_report, std::string>,
    // -- its own process
    caf::reacts_to<check_atom>,
    caf::reacts_to<code_timeout_atom>,
    caf::reacts_to<webui_atom, std::string>>;

}  // namespace ray::gcs

#endif  // RAY_ACTORS_INTERFACES_GCS_H_
