// The public C++ API: Ray's C++ API names, plus the Ray 0.7 options it lacks.
//
//   ray::Init();                                     // embedded one-node cluster
//   auto ref = ray::Task(Plus).Remote(1, 2);         // ObjectRef<int>
//   int three = *ray::Get(ref);
//   auto counter = ray::Actor(Counter::Create).Remote(0);
//   auto r = counter.Task(&Counter::Add).Remote(1);
//   ray::Shutdown();
#ifndef RAY_API_H_
#define RAY_API_H_

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ray/api/actor.h"
#include "ray/api/buffer_view.h"
#include "ray/api/function_manager.h"
#include "ray/api/logging.h"
#include "ray/api/metric.h"
#include "ray/api/placement_group.h"
#include "ray/api/object_ref.h"
#include "ray/api/profile.h"
#include "ray/api/ray_config.h"
#include "ray/api/ray_exception.h"
#include "ray/api/runtime_interface.h"
#include "ray/api/serializer.h"
#include "ray/api/task_caller.h"

namespace ray {

/// Starts an embedded one-node cluster, or connects to config.address / RAY_ADDRESS.
/// Throws RayException on a bad or unsupported option, naming it.
void Init();
void Init(RayConfig& config);
/// As Init(config); command-line flags override it: --ray-address=, --ray-num-cpus=,
/// --ray-num-gpus=, --ray-object-store-memory=, --ray-local-mode, --ray-temp-dir=.
void Init(RayConfig& config, int argc, char** argv);
bool IsInitialized();
/// Stops what Init started (processes, shared memory, sockets). Safe to call
/// twice; runs at exit; Init works again afterwards.
void Shutdown();

/// Stores a value in the object store.
template <typename T>
ObjectRef<T> Put(const T& value) {
  return ObjectRef<T>(internal::Runtime().Put(internal::Serialize(value)));
}

template <typename T>
std::vector<std::shared_ptr<T>> Get(const std::vector<ObjectRef<T>>& refs,
                                    int64_t timeout_ms = -1) {
  std::vector<std::string> ids;
  ids.reserve(refs.size());
  for (const auto& r : refs) ids.push_back(r.ID());
  auto buffers = internal::Runtime().Get(ids, timeout_ms);
  std::vector<std::shared_ptr<T>> out;
  out.reserve(buffers.size());
  for (const auto& b : buffers) {
    out.push_back(std::make_shared<T>(internal::Deserialize<T>(b->data(), b->size())));
  }
  return out;
}

namespace internal {
/// Throws unless the ids are unique and 0 <= num_objects <= ids.size().
void CheckWaitArguments(const std::vector<const std::string*>& ids, int num_objects);
/// Counters of this node's object manager, e.g. "objects=12 shm_bytes=0 pinned=0
/// evicted=0 freed=3 pulled_bytes=0" (for tests and debugging; empty in local mode).
inline std::string ObjectStoreStats() { return Runtime().ObjectStoreStats(); }
/// Counters of this process and its raylet, e.g. "direct_calls_sent=5 workers=2
/// tasks_done=9 queued=0 ..." (for tests and debugging; empty in local mode).
inline std::string RuntimeStats() { return Runtime().RuntimeStats(); }
}  // namespace internal

template <typename T>
struct WaitResult {
  std::vector<ObjectRef<T>> ready;
  std::vector<ObjectRef<T>> unready;
};

/// Returns once `num_objects` of `refs` are ready or after `timeout_ms`
/// (negative: no timeout). Both lists keep the input order. Ids must be unique.
template <typename T>
WaitResult<T> Wait(const std::vector<ObjectRef<T>>& refs, int num_objects,
                   int64_t timeout_ms = -1) {
  std::vector<const std::string*> ids;
  ids.reserve(refs.size());
  for (const auto& r : refs) ids.push_back(&r.ID());
  internal::CheckWaitArguments(ids, num_objects);
  std::vector<bool> ready = internal::Runtime().Wait(ids, num_objects, timeout_ms);
  WaitResult<T> result;
  int taken = 0;  // exactly num_objects are reported ready (the seed's rule), in input order
  for (size_t i = 0; i < refs.size(); ++i) {
    const bool report_ready = ready[i] && taken < num_objects;
    taken += report_ready;
    (report_ready ? result.ready : result.unready).push_back(refs[i]);
  }
  return result;
}

/// GPU ids assigned to the calling task or actor (CUDA_VISIBLE_DEVICES is set to match).
std::vector<int> GetGpuIds();
/// Resource name -> (id, fraction) pairs reserved for the calling worker.
internal::ResourceIds GetResourceIds();
/// The seed's get_webui_url: the cluster's dashboard ("http://127.0.0.1:8265"),
/// or empty when none runs (start the head with --include-webui, or set
/// RayConfig::include_webui for an embedded cluster).
std::string GetWebuiUrl();
/// Inside an actor (its constructor and methods): whether this instance is a
/// restart (SetMaxRestarts) after its process died. False in drivers and tasks.
bool WasCurrentActorRestarted();

// -- placement groups (Ray's api.h) ---------------------------------------------
/// Registers a group; the GCS reserves its bundles across nodes, all or
/// nothing (PlacementGroup::Wait says when). Throws RayException for no
/// bundles, an empty bundle, a bad amount, or a name its namespace already has.
PlacementGroup CreatePlacementGroup(const PlacementGroupCreationOptions& options);
/// Frees its bundles; its actors die, and its tasks waiting anywhere fail.
void RemovePlacementGroup(const std::string& placement_group_id);
std::vector<PlacementGroup> GetAllPlacementGroups();
/// The group with this (hex) id, with its state now; Empty() when unknown.
PlacementGroup GetPlacementGroupById(const std::string& id);
/// The live group of this name in the caller's namespace; Empty() when none.
PlacementGroup GetPlacementGroup(const std::string& name);

}  // namespace ray

#endif  // RAY_API_H_
