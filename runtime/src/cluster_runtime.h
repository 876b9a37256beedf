// The runtime of a driver or worker process attached to a node over CAF's
// middleman: submits tasks and actor calls to the node's raylet, reads and
// writes objects through its object manager and shared-memory segment.
//
// A facade over the pieces that do the work: Session (the connection, and
// the CAF side of the others), ReferenceCounter (refs, ownership, values kept
// here, pushed results), DirectCalls (direct actor-call routing); what is left
// here is the task context (ids of nested tasks and puts, resources) and the
// requests of Get, Wait and Put to the object store.
//
// Thread safety: the RuntimeInterface may be called from any thread; the
// anchor's deliveries (OnPushedResults, OnDirectDone, OnDirectWorkerDown) run
// on the middleman's thread. mu_ guards the task context and is never held
// while calling the pieces, which lock for themselves (DirectCalls' lock
// before the ReferenceCounter's, never the reverse; see their headers).
#ifndef RAY_RUNTIME_SRC_CLUSTER_RUNTIME_H_
#define RAY_RUNTIME_SRC_CLUSTER_RUNTIME_H_

#include <caf/all.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "actors/common/protocol.h"
#include "actors/worker/worker.h"
#include "ray/api/ray_config.h"
#include "ray/api/runtime_interface.h"
#include "runtime/src/direct_calls.h"
#include "runtime/src/reference_counter.h"
#include "runtime/src/session.h"

namespace ray::runtime {

class ClusterRuntime : public internal::RuntimeInterface {
 public:
  ~ClusterRuntime() override;

  /// Driver with an embedded node (address empty) or attached to `address`.
  static std::unique_ptr<ClusterRuntime> StartDriver(const RayConfig& config,
                                                     const std::string& address,
                                                     std::string* error);
  using ExecutorFactory =
      std::function<std::shared_ptr<worker::TaskExecutor>(ClusterRuntime* runtime)>;
  /// Worker process: connects to its node and starts the worker actor (its
  /// handle goes to `*worker`) running tasks through the executor made here.
  static std::unique_ptr<ClusterRuntime> StartWorker(const std::string& address,
                                                     const std::string& worker_id,
                                                     const ExecutorFactory& make_executor,
                                                     caf::actor* worker, std::string* error);

  /// Stops the embedded node (if any) and the actor system.
  void Shutdown() { session_.Shutdown(); }
  caf::actor_system& system() { return session_.system(); }

  // -- RuntimeInterface -------------------------------------------------------
  std::vector<std::string> SubmitTask(const std::string& function,
                                      std::vector<internal::TaskArg> args,
                                      const internal::CallOptions& options) override;
  std::string CreateActor(const std::string& factory, std::vector<internal::TaskArg> args,
                          const internal::ActorOptions& options) override;
  std::vector<std::string> SubmitActorTask(const std::string& actor_id,
                                           const std::string& method,
                                           std::vector<internal::TaskArg> args,
                                           const internal::CallOptions& options) override;
  std::string Put(const internal::SerializedObject& object) override;
  std::vector<std::shared_ptr<internal::ObjectBuffer>> Get(const std::vector<std::string>& ids,
                                                           int64_t timeout_ms) override;
  std::vector<bool> Wait(const std::vector<const std::string*>& ids, int num_objects,
                         int64_t timeout_ms) override;
  std::optional<std::string> GetNamedActor(const std::string& name,
                                           const std::string& ray_namespace) override;
  std::string GetNamespace() override;
  void KillActor(const std::string& actor_id, bool no_restart) override;
  void ExitActor() override;
  std::vector<int> GetGpuIds() override;
  internal::ResourceIds GetResourceIds() override;
  bool IsLocalMode() const override { return false; }
  void AddLocalReference(const std::string& id) override { refs_.AddLocalReference(id); }
  void RemoveLocalReference(const std::string& id) override { refs_.RemoveLocalReference(id); }
  void NoteNestedRef(const std::string& id) override { refs_.NoteNestedRef(id); }
  std::string ObjectStoreStats() override;
  std::string RuntimeStats() override;
  std::string WebuiUrl() override { return session_.WebuiUrl(); }
  std::string QueryEvents(const std::string& job_id) override {
    return session_.QueryEvents(job_id);
  }
  std::string CreatePlacementGroup(const internal::PlacementGroupData& spec) override;
  void RemovePlacementGroup(const std::string& id) override;
  std::optional<internal::PlacementGroupData> GetPlacementGroup(const std::string& key,
                                                                bool by_name) override;
  std::vector<internal::PlacementGroupData> GetAllPlacementGroups() override;
  bool WaitPlacementGroupReady(const std::string& id, int timeout_seconds) override;
  /// This process's events to its raylet, and wait until it has them.
  void FlushEvents() { session_.FlushEvents(true); }

  // -- used by the worker's task executor -------------------------------------
  /// Sets the running task: ids of nested tasks/puts derive from it.
  void BeginTask(const proto::ExecRequest& request);
  /// Clears it; returns true when ray::ExitActor was called during the task.
  bool EndTask();
  /// Writes a task's return value: inline when small, else into shared memory.
  proto::ObjectEntry StoreResult(const std::string& id, const internal::SerializedObject& value);
  /// Blocks until the handshake with the node is complete (workers can receive
  /// their first task while it is still finishing on another thread).
  void WaitReady() { session_.WaitReady(); }
  /// Views an argument resolved by the raylet (inline or in shared memory).
  std::pair<const char*, size_t> ArgBytes(const proto::ObjectEntry& entry) const;

 private:
  ClusterRuntime();

  // -- what a driver's anchor delivers (on the delivering thread) ----------------
  /// Results of this driver's tasks, pushed by its raylet.
  void OnPushedResults(const std::string& bytes);
  /// The reply to a direct actor call, and the death of a worker called
  /// directly (its unanswered calls are retried through the raylet or fail,
  /// as if the raylet had sent them).
  void OnDirectDone(const std::string& bytes);
  void OnDirectWorkerDown(const caf::actor_addr& worker);
  /// What a dead worker's direct calls leave: releases, then failed results.
  void HandleWorkerDown(DirectCalls::WorkerDown down);

  /// The resolved env of a call's `serialized` RuntimeEnv (empty: none),
  /// merged over `inherited` (the caller's): checked, its working_dir shipped
  /// to the GCS. Throws RayRuntimeEnvException naming `what`.
  std::string ResolveRuntimeEnv(const std::string& inherited, const std::string& serialized,
                                const std::string& what);
  /// A task's or actor's own runtime env (merged over the one it inherited)
  /// and placement group bundle (its requests become the group's resources).
  void ApplyEnvAndGroup(proto::TaskSpec* spec, const std::string& runtime_env,
                        const std::string& placement_group, int bundle_index,
                        const std::string& what);
  std::vector<proto::Arg> PrepareArgs(std::vector<internal::TaskArg> args);
  proto::TaskSpec NewSpec(proto::TaskKind kind, const std::string& function,
                          std::vector<internal::TaskArg> args, int num_returns);
  /// Allocates `size` bytes for object `id` in the store; throws when it cannot.
  int64_t Create(const std::string& id, uint64_t size);
  /// Get from the object manager (lending this worker's CPU while it blocks).
  std::vector<std::shared_ptr<internal::ObjectBuffer>> GetFromStore(
      const std::vector<std::string>& ids, int64_t timeout_ms);
  /// The buffers of a Get's reply; throws its first error.
  std::vector<std::shared_ptr<internal::ObjectBuffer>> ReadEntries(proto::GetReply& reply);

  // Declared first, destroyed last: the others send through it.
  Session session_;
  ReferenceCounter refs_{&session_};
  DirectCalls direct_{&session_, &refs_};

  /// What ids and options of nested tasks, puts and actors derive from: the
  /// running task's (one per executor thread of an actor with
  /// max_concurrency > 1), or the driver's own.
  struct TaskContext {
    std::string task_id;
    uint64_t task_counter = 0;
    uint32_t put_counter = 0;
    bool in_normal_task = false;
    bool in_actor = false;
    std::string ray_namespace;     // the job's (an actor's: its creator's)
    bool default_detached = false; // the job's RayConfig::default_actor_lifetime
    bool exit_actor = false;       // ray::ExitActor was called in it
    std::string runtime_env;       // resolved (runtime_env_util.h); "" none
  };
  /// The calling thread's task, else the process's latest one. Needs mu_.
  TaskContext& Context();

  /// The task context (workers: the running task; drivers: the driver's own).
  mutable std::mutex mu_;
  /// The latest task begun in this process (the driver's own in a driver):
  /// threads that user code starts inside a task use it.
  std::shared_ptr<TaskContext> context_ = std::make_shared<TaskContext>();  // GUARDED_BY(mu_)
  std::string actor_namespace_;   // GUARDED_BY(mu_) the hosted actor's creator's namespace
  std::string actor_env_;         // GUARDED_BY(mu_) the hosted actor's runtime env
  /// working_dir path -> its resolved URI, once shipped (packed once per process).
  std::map<std::string, std::string> shipped_dirs_;  // GUARDED_BY(mu_)
  proto::Allocation allocation_;  // GUARDED_BY(mu_)
};

}  // namespace ray::runtime

#endif  // RAY_RUNTIME_SRC_CLUSTER_RUNTIME_H_
