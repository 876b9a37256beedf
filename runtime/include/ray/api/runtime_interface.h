// The boundary between the header-only typed API and the runtime library.
// Not for direct use: everything here is reached through ray/api.h.
#ifndef RAY_API_RUNTIME_INTERFACE_H_
#define RAY_API_RUNTIME_INTERFACE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ray/api/serializer.h"

namespace ray {
namespace internal {

/// One argument of a call: an inline serialized value, or an object id that the
/// runtime resolves (waiting for it) before the call runs.
struct TaskArg {
  bool is_ref = false;
  std::string object_id;
  std::string value;
};

struct CallOptions {
  std::string name;                           // shown in errors; default: function name
  std::map<std::string, double> resources;    // "CPU", "GPU" and custom names
  int num_returns = 1;
  int max_calls = 0;                          // 0: unlimited
  int max_retries = 3;                        // retries when the worker process dies
  bool retry_exceptions = false;              // also retry when the task throws
  std::string runtime_env;                    // RuntimeEnv::Serialize(); empty: the caller's
  std::string placement_group;                // hex id; empty: none
  int bundle_index = -1;                      // -1: any bundle of the group
};

struct ActorOptions {
  std::string name;                           // registers a named actor
  std::string ray_namespace;                  // of the name; empty: the caller's
  std::map<std::string, double> resources;    // held for the actor's lifetime
  int max_restarts = 0;                       // -1: infinite
  int max_concurrency = 1;                    // calls that run at once
  std::optional<bool> detached;               // unset: RayConfig::default_actor_lifetime
  std::string runtime_env;                    // RuntimeEnv::Serialize(); empty: the caller's
  std::string placement_group;                // hex id; empty: none
  int bundle_index = -1;                      // -1: any bundle of the group
};

/// A placement group as the runtime describes it (ray::PlacementGroup's data).
struct PlacementGroupData {
  std::string id;  // hex
  std::string name;
  int strategy = 0;  // ray::PlacementStrategy
  std::vector<std::map<std::string, double>> bundles;
  int state = -1;    // ray::PlacementGroupState
};

/// Readable bytes of an object. Objects in shared memory stay pinned (never
/// evicted) while any ObjectBuffer that views them is alive.
class ObjectBuffer {
 public:
  virtual ~ObjectBuffer() = default;
  virtual const char* data() const = 0;
  virtual size_t size() const = 0;
  /// True when the bytes are read in place from the shared-memory store.
  virtual bool in_shared_memory() const { return false; }
};

using ResourceIds = std::map<std::string, std::vector<std::pair<int64_t, double>>>;

class RuntimeInterface {
 public:
  virtual ~RuntimeInterface() = default;

  /// Returns the ids of the task's `options.num_returns` return objects.
  virtual std::vector<std::string> SubmitTask(const std::string& function,
                                              std::vector<TaskArg> args,
                                              const CallOptions& options) = 0;
  /// Returns the new actor's id.
  virtual std::string CreateActor(const std::string& factory, std::vector<TaskArg> args,
                                  const ActorOptions& options) = 0;
  virtual std::vector<std::string> SubmitActorTask(const std::string& actor_id,
                                                   const std::string& method,
                                                   std::vector<TaskArg> args,
                                                   const CallOptions& options) = 0;
  virtual std::string Put(const SerializedObject& object) = 0;
  /// Waits for all ids (timeout_ms < 0: forever). Throws the object's error
  /// (RayTaskException, ...) or RayTimeoutException.
  virtual std::vector<std::shared_ptr<ObjectBuffer>> Get(const std::vector<std::string>& ids,
                                                         int64_t timeout_ms) = 0;
  /// Returns which ids are ready once `num_objects` are, or at the timeout
  /// (possibly more than `num_objects`; ray::Wait reports exactly that many).
  /// The ids are unique and point into the caller's refs.
  virtual std::vector<bool> Wait(const std::vector<const std::string*>& ids, int num_objects,
                                 int64_t timeout_ms) = 0;
  /// The live actor named `name` in `ray_namespace` (empty: the caller's namespace).
  virtual std::optional<std::string> GetNamedActor(const std::string& name,
                                                   const std::string& ray_namespace) = 0;
  /// The namespace of the running job (in a task or actor: the job it belongs to).
  virtual std::string GetNamespace() = 0;
  virtual void KillActor(const std::string& actor_id, bool no_restart) = 0;
  /// Called from inside an actor method: the actor exits after the call.
  virtual void ExitActor() = 0;
  virtual std::vector<int> GetGpuIds() = 0;
  virtual ResourceIds GetResourceIds() = 0;
  virtual bool IsLocalMode() const = 0;
  /// ObjectRef bookkeeping (see object_ref.h); no-ops by default.
  virtual void AddLocalReference(const std::string& id) { (void)id; }
  virtual void RemoveLocalReference(const std::string& id) { (void)id; }
  virtual void NoteNestedRef(const std::string& id) { (void)id; }
  /// The local object manager's counters ("objects=N shm_bytes=B ..."); empty in local mode.
  virtual std::string ObjectStoreStats() { return std::string(); }
  /// This process's and its raylet's counters ("direct_calls_sent=N workers=..."); empty in local mode.
  virtual std::string RuntimeStats() { return std::string(); }
  /// The cluster's profile events (an encoded events::EventsReply) of `job_id`
  /// (empty: all), after flushing this process's and its node's.
  /// The cluster's dashboard URL; empty when none runs.
  virtual std::string WebuiUrl() { return std::string(); }
  virtual std::string QueryEvents(const std::string& job_id) {
    (void)job_id;
    return std::string();
  }
  // -- placement groups (local mode has none: these throw there) --
  virtual std::string CreatePlacementGroup(const PlacementGroupData& spec);
  virtual void RemovePlacementGroup(const std::string& id);
  /// By hex id, or (`by_name`) by name in the caller's namespace; nullopt when none.
  virtual std::optional<PlacementGroupData> GetPlacementGroup(const std::string& key, bool by_name);
  virtual std::vector<PlacementGroupData> GetAllPlacementGroups();
  virtual bool WaitPlacementGroupReady(const std::string& id, int timeout_seconds);
};

/// The runtime of this process; throws RayException when Init has not run.
RuntimeInterface& Runtime();

/// Throws RayException naming the option when a resource request is negative,
/// NaN, infinite, 0 for a custom resource, fractional above 1, or has an empty
/// name (as Ray's CheckTaskOptions). `what` names the call, e.g. "ray::Task(f).Remote".
void CheckResources(const std::map<std::string, double>& resources, const char* what);

/// Throws RayException when an actor's options are out of range: a
/// max_concurrency below 1, a max_restarts below -1, a namespace given without
/// a name or an empty name given with one.
void CheckActorOptions(const ActorOptions& options, const char* what);

}  // namespace internal
}  // namespace ray

#endif  // RAY_API_RUNTIME_INTERFACE_H_
