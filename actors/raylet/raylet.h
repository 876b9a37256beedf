// The raylet actor of a node: the CAF shell around raylet::Core
// (raylet_core.h), which holds the logic. The shell decodes messages, calls
// the core, and delivers what the core sends (raylet.cc, raylet_shell.cc).
//
// Its messages and their types: actors/interfaces/raylet.h (the behavior is
// checked against it when it compiles); what each one does:
// docs/architecture.md, "raylet" and "Many nodes".
#ifndef RAY_ACTORS_RAYLET_RAYLET_H_
#define RAY_ACTORS_RAYLET_RAYLET_H_

#include <caf/all.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "actors/raylet/raylet_core.h"

namespace ray::raylet {


/// Spawns the raylet. Workers are told to connect to `node_address`
/// ("host:port"), which the caller learns after publishing, so it is sent
/// afterwards with SetAddress.
caf::actor Spawn(caf::actor_system& system, RayletOptions options, caf::actor gcs,
                 caf::actor object_manager);
void SetAddress(const caf::actor& raylet, const std::string& host, uint16_t port);
/// Starts the heartbeats to the GCS once the node is registered with
/// `record` (an encoded NodeRecord, used again to re-register after a GCS
/// restart).
void StartHeartbeats(const caf::actor& raylet, const std::string& record);

}  // namespace ray::raylet

#endif  // RAY_ACTORS_RAYLET_RAYLET_H_
