// CAF atoms naming the messages of protocol.h (at most 10 characters each).
#ifndef RAY_ACTORS_NET_ATOMS_H_
#define RAY_ACTORS_NET_ATOMS_H_

#include <caf/all.hpp>

namespace ray::atoms {

using hello = caf::atom_constant<caf::atom("hello")>;        // client -> raylet: Hello
using submit = caf::atom_constant<caf::atom("submit")>;      // client -> raylet: TaskSpec
using exec = caf::atom_constant<caf::atom("exec")>;          // raylet -> worker: ExecRequest
using done = caf::atom_constant<caf::atom("done")>;          // worker -> raylet: ExecReply
using blocked = caf::atom_constant<caf::atom("blocked")>;    // worker -> raylet: worker id
using unblocked = caf::atom_constant<caf::atom("unblocked")>;
using kill = caf::atom_constant<caf::atom("kill")>;          // client -> raylet: actor id, no_restart
using put = caf::atom_constant<caf::atom("put")>;            // -> object manager: ObjectEntry
using create = caf::atom_constant<caf::atom("create")>;      // -> object manager: id, size
using get = caf::atom_constant<caf::atom("get")>;            // -> object manager: GetRequest
using wait = caf::atom_constant<caf::atom("wait")>;          // -> object manager: WaitRequest
using unpin = caf::atom_constant<caf::atom("unpin")>;        // -> object manager: client id, ids
using release = caf::atom_constant<caf::atom("release")>;  // -> object manager: id (owner dropped it)
using free_obj = caf::atom_constant<caf::atom("free_obj")>;  // raylet -> object manager: id
using gone = caf::atom_constant<caf::atom("gone")>;          // -> object manager: client id
using stats = caf::atom_constant<caf::atom("stats")>;        // -> any: debug counters
using lineage = caf::atom_constant<caf::atom("lineage")>;    // -> GCS: encoded records
using reserve = caf::atom_constant<caf::atom("reserve")>;    // -> GCS: name, actor id
using lookup = caf::atom_constant<caf::atom("lookup")>;      // -> GCS: name
using actor_upd = caf::atom_constant<caf::atom("actor_upd")>;// -> GCS: ActorInfo
using job = caf::atom_constant<caf::atom("job")>;            // -> GCS: new job id
using shutdown = caf::atom_constant<caf::atom("shutdown")>;  // -> raylet/worker: stop
using exit_now = caf::atom_constant<caf::atom("exit_now")>;  // raylet -> worker
using steal = caf::atom_constant<caf::atom("steal")>;        // raylet -> worker: give back queued tasks
// Direct actor calls: a driver calls a local actor's worker without the raylet.
using actor_ep = caf::atom_constant<caf::atom("actor_ep")>;  // driver -> raylet: actor id -> route, worker
using direct = caf::atom_constant<caf::atom("direct")>;      // driver -> worker: ExecRequest, reply-to
using dir_done = caf::atom_constant<caf::atom("dir_done")>;  // worker -> driver: ExecReply

// Cluster: membership, object directory, transfers, forwarding.
using node_reg = caf::atom_constant<caf::atom("node_reg")>;  // node -> GCS: NodeRecord, raylet, om
using node_add = caf::atom_constant<caf::atom("node_add")>;  // GCS -> raylets: NodeRecord, raylet, om
using node_del = caf::atom_constant<caf::atom("node_del")>;  // GCS -> raylets: node id, reason
using heartbeat = caf::atom_constant<caf::atom("heartbeat")>;// raylet -> GCS: node id, available
using gcs_of = caf::atom_constant<caf::atom("gcs_of")>;      // joining node -> head raylet
using loc_add = caf::atom_constant<caf::atom("loc_add")>;    // om -> GCS: node id, vector<Location>
using loc_del = caf::atom_constant<caf::atom("loc_del")>;    // om -> GCS: node id, ids, why
using locate = caf::atom_constant<caf::atom("locate")>;      // om -> GCS: ids, om (subscribe)
using located = caf::atom_constant<caf::atom("located")>;    // GCS -> om: vector<Location>
using locs_now = caf::atom_constant<caf::atom("locs_now")>;  // raylet -> GCS: ids -> vector<Location>
using pull = caf::atom_constant<caf::atom("pull")>;          // om -> om: id, node -> ObjectEntry
using chunk = caf::atom_constant<caf::atom("chunk")>;        // om -> om: id, offset, len -> bytes
using pull_end = caf::atom_constant<caf::atom("pull_end")>;  // om -> om: id, node (unpin)
using fwd_done = caf::atom_constant<caf::atom("fwd_done")>;  // raylet -> origin raylet
using job_reg = caf::atom_constant<caf::atom("job_reg")>;    // raylet -> GCS: JobInfo
using job_info = caf::atom_constant<caf::atom("job_info")>;  // raylet -> GCS: job id -> JobInfo
using job_end = caf::atom_constant<caf::atom("job_end")>;    // raylet -> GCS -> raylets: job id
using code_put = caf::atom_constant<caf::atom("code_put")>;  // driver -> GCS: job, CodePackage
using code_get = caf::atom_constant<caf::atom("code_get")>;  // raylet -> GCS: job -> CodePackage
using actor_get = caf::atom_constant<caf::atom("actor_get")>;// -> GCS: actor id -> ActorInfo
using nodes = caf::atom_constant<caf::atom("nodes")>;        // -> GCS: vector<NodeRecord>
// Fault tolerance: rebuilding lost objects from the lineage log.
using rebuild = caf::atom_constant<caf::atom("rebuild")>;    // om -> raylet: object id, why lost
using lineage_get = caf::atom_constant<caf::atom("lin_get")>;// -> GCS: object id -> TaskSpec
using rebuild_sub = caf::atom_constant<caf::atom("reb_sub")>;// raylet -> GCS: ids, om
using set_raylet = caf::atom_constant<caf::atom("set_rlt")>; // node -> om: raylet
using released = caf::atom_constant<caf::atom("released")>; // raylet -> GCS: ids owners dropped
using set_gcs = caf::atom_constant<caf::atom("set_gcs")>;    // raylet -> om: the restarted GCS
using results = caf::atom_constant<caf::atom("results")>;    // raylet -> driver: small results of its tasks
// Observability: profile events and the cluster queries of `ray status/memory/stack/logs`.
using ev_add = caf::atom_constant<caf::atom("ev_add")>;      // process -> raylet -> GCS: events::Batch
using metrics = caf::atom_constant<caf::atom("metrics")>;    // process -> raylet: client id, metrics::Snapshot
using pg = caf::atom_constant<caf::atom("pg")>;              // -> GCS: placement group op, payload
using bundle = caf::atom_constant<caf::atom("bundle")>;      // GCS -> raylet: op, group, index, Bundle
using ev_get = caf::atom_constant<caf::atom("ev_get")>;      // -> GCS: job id -> events::EventsReply
using ev_flush = caf::atom_constant<caf::atom("ev_flush")>;  // raylet -> worker, driver -> raylet: flush now
using observe = caf::atom_constant<caf::atom("observe")>;    // -> GCS/raylet/om: kind, JSON args -> JSON
using as_report = caf::atom_constant<caf::atom("as_report")>;// autoscaler -> GCS: its state and decisions (JSON)

}  // namespace ray::atoms

#endif  // RAY_ACTORS_NET_ATOMS_H_
