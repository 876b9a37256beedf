// CAF atoms naming the messages of protocol.h (at most 10 characters each).
#ifndef RAY_ACTORS_COMMON_ATOMS_H_
#define RAY_ACTORS_COMMON_ATOMS_H_

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

}  // namespace ray::atoms

#endif  // RAY_ACTORS_COMMON_ATOMS_H_
