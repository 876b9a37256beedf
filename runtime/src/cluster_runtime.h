// The runtime of a driver or worker process attached to a node over CAF's
// middleman: submits tasks and actor calls to the node's raylet, reads and
// writes objects through its object manager and shared-memory segment.
#ifndef RAY_RUNTIME_SRC_CLUSTER_RUNTIME_H_
#define RAY_RUNTIME_SRC_CLUSTER_RUNTIME_H_

#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "actors/common/protocol.h"
#include "actors/node/node.h"
#include "actors/worker/worker.h"
#include "ray/api/ray_config.h"
#include "ray/api/runtime_interface.h"
#include "storage/object_store/shm_store.h"

namespace ray::runtime {

/// What a process needs to read and write the node's store; shared with the
/// buffers it hands out, so a view stays readable after Shutdown.
struct StoreClient {
  std::unique_ptr<storage::ShmStore> shm;
  caf::actor om;
  std::string client_id;
  std::mutex mu;
  bool open = true;  // GUARDED_BY(mu): false once the actor system is gone
  void Unpin(const std::string& id);
};

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
  void Shutdown();
  caf::actor_system& system() { return *system_; }

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
  std::optional<std::string> GetNamedActor(const std::string& name) override;
  void KillActor(const std::string& actor_id, bool no_restart) override;
  void ExitActor() override;
  std::vector<int> GetGpuIds() override;
  internal::ResourceIds GetResourceIds() override;
  bool IsLocalMode() const override { return false; }
  void AddLocalReference(const std::string& id) override;
  void RemoveLocalReference(const std::string& id) override;
  void NoteNestedRef(const std::string& id) override;
  std::string ObjectStoreStats() override;
  std::string RuntimeStats() override;

  // -- used by the worker's task executor -------------------------------------
  /// Sets the running task: ids of nested tasks/puts derive from it.
  void BeginTask(const proto::ExecRequest& request);
  /// Clears it; returns true when ray::ExitActor was called during the task.
  bool EndTask();
  /// Writes a task's return value: inline when small, else into shared memory.
  proto::ObjectEntry StoreResult(const std::string& id, const internal::SerializedObject& value);
  /// Blocks until the handshake with the node is complete (workers can receive
  /// their first task while it is still finishing on another thread).
  void WaitReady();
  /// Results of this driver's tasks, pushed by its raylet: small values kept
  /// like objects already read, errors kept to throw, shared-memory objects
  /// noted as ready; Get waits for them without asking the object manager.
  void OnPushedResults(const std::string& bytes);
  /// Driver only, from its anchor's front door (on the delivering thread):
  /// the reply to a direct actor call, and the death of a worker it called
  /// directly (its unanswered calls are retried through the raylet or fail,
  /// as if the raylet had sent them).
  void OnDirectDone(const std::string& bytes);
  void OnDirectWorkerDown(const caf::actor_addr& worker);
  /// Views an argument resolved by the raylet (inline or in shared memory).
  std::pair<const char*, size_t> ArgBytes(const proto::ObjectEntry& entry) const;

 private:
  ClusterRuntime();
  bool Connect(const std::string& host, uint16_t port, const proto::Hello& hello,
               const caf::actor& client, std::string* error);
  bool Handshake(const proto::Hello& hello, const caf::actor& client, std::string* error);
  std::string NextTaskId();
  std::vector<proto::Arg> PrepareArgs(std::vector<internal::TaskArg> args);
  proto::TaskSpec NewSpec(proto::TaskKind kind, const std::string& function,
                          std::vector<internal::TaskArg> args, int num_returns);
  /// Allocates `size` bytes for object `id` in the store; throws when it cannot.
  int64_t Create(const std::string& id, uint64_t size);

  std::unique_ptr<caf::actor_system_config> config_;
  std::unique_ptr<caf::actor_system> system_;
  std::optional<node::Node> node_;  // embedded node
  caf::actor raylet_;
  /// The GCS; after a restart of the head, asked again from the raylet.
  caf::actor Gcs();
  void RefreshGcs();
  std::mutex gcs_mu_;
  caf::actor gcs_;  // GUARDED_BY(gcs_mu_)
  /// A driver's identity for the raylet (its death ends the job): a front
  /// door (caf::actor_companion) for results, direct-call replies and worker
  /// deaths, run on the delivering thread; and the actor behind it for requests.
  void SpawnAnchor();
  caf::actor anchor_;
  caf::actor anchor_back_;
  std::shared_ptr<StoreClient> store_;
  std::string client_id_;
  std::string job_id_;
  bool is_worker_ = false;

  std::mutex ready_mu_;
  std::condition_variable ready_cv_;
  bool ready_ = false;  // GUARDED_BY(ready_mu_)

  mutable std::mutex mu_;
  std::string current_task_;           // GUARDED_BY(mu_)
  bool in_normal_task_ = false;        // GUARDED_BY(mu_)
  bool in_actor_ = false;              // GUARDED_BY(mu_)
  bool exit_actor_ = false;            // GUARDED_BY(mu_)
  proto::Allocation allocation_;       // GUARDED_BY(mu_)
  uint64_t task_counter_ = 0;          // GUARDED_BY(mu_)
  uint32_t put_counter_ = 0;           // GUARDED_BY(mu_)

  /// Live ObjectRefs per id in this process, and the ids this process created
  /// (it owns them: their last ref here lets the store evict them).
  std::mutex refs_mu_;
  std::unordered_map<std::string, int> ref_counts_;  // GUARDED_BY(refs_mu_)
  std::unordered_set<std::string> owned_;            // GUARDED_BY(refs_mu_)
  /// Owned ids whose refs were serialized inside values: others may hold them,
  /// so their release does not let the store free them.
  std::unordered_set<std::string> nested_;           // GUARDED_BY(refs_mu_)
  /// Small objects this process put or already read, kept while it holds refs
  /// to them: objects are immutable, so a repeated Get needs no round trip.
  std::unordered_map<std::string, std::shared_ptr<internal::ObjectBuffer>>
      local_objects_;  // GUARDED_BY(refs_mu_)
  void CacheLocally(const std::string& id, std::shared_ptr<internal::ObjectBuffer> buffer);
  /// Ids this process saw ready (and still holds refs to): Wait skips them.
  std::unordered_set<std::string> known_ready_;  // GUARDED_BY(refs_mu_)
  void MarkOwned(const std::vector<std::string>& ids);
  /// Driver only: the returns of tasks it submitted whose results the raylet
  /// has not pushed yet, and the errors it pushed (id -> serialized ErrorInfo).
  std::unordered_set<std::string> awaiting_push_;                 // GUARDED_BY(refs_mu_)
  std::unordered_map<std::string, std::string> pushed_errors_;    // GUARDED_BY(refs_mu_)
  std::atomic<uint64_t> push_seq_{0};  // counts arrivals (GetPushed spins on it)
  std::condition_variable push_cv_;  // signalled (under refs_mu_) when results arrive
  void MarkSubmitted(const std::vector<std::string>& return_ids);
  /// Waits for pushed results of `ids` (see Get): returns true with `*out`
  /// filled when all arrived as values, throws an arrived error, and returns
  /// false when the object manager must be asked (shared-memory results, ids
  /// not awaited, or no push within the wait; `*timeout_ms` is then what is left).
  bool GetPushed(const std::vector<std::string>& ids, int64_t* timeout_ms,
                 std::vector<std::shared_ptr<internal::ObjectBuffer>>* out);
  /// Keeps pushed or directly returned entries (values, errors, ready marks).
  /// owner_only: the store does not have them (direct-call results): they
  /// stay in this process until a ref to them is shared (see Share).
  void KeepResults(std::vector<proto::ObjectEntry> entries, bool owner_only);
  /// Ids whose refs are about to leave this process (task arguments, refs
  /// nested in values) or be asked of the store (Get, Wait): results only
  /// this process holds are given to the object manager now, those still on
  /// their way when they arrive.
  void Share(const std::vector<std::string>& ids);
  /// Ownership of direct-call results (Ray's "small objects stay with their
  /// owner"), all GUARDED_BY(refs_mu_):
  std::unordered_set<std::string> unshared_;          // held here only
  std::unordered_set<std::string> direct_pending_;    // returns of unanswered direct calls
  std::unordered_set<std::string> share_on_arrival_;  // pending, but their refs were shared

  /// Direct actor calls (driver only). Once a local actor is alive, the
  /// driver sends its calls straight to the actor's worker and gets the reply
  /// from it; small results stay with the driver until shared (see Share),
  /// shared-memory ones are sealed by the raylet. Calls keep their order: a driver switches from the raylet to the
  /// direct path only when every call it sent through the raylet to that
  /// actor has returned, and back only when every direct call has. A call
  /// with ref arguments (the raylet resolves them) goes through the raylet.
  struct ActorRoute {
    caf::actor worker;              // the actor's worker, once the raylet named it
    std::string worker_id;          // its id at the raylet
    bool worker_exited = false;     // it called ray::ExitActor: no new direct calls
    size_t via_raylet = 0;          // returns of calls sent through the raylet, not yet pushed
    std::deque<proto::TaskSpec> direct;  // calls sent to `worker`, unanswered, in order
    std::deque<proto::TaskSpec> held;    // waiting for `direct` to drain, then via the raylet
    std::chrono::steady_clock::time_point next_probe{};
    proto::ActorRoute last_probe = proto::ActorRoute::kLater;
  };
  void RouteActorCall(proto::TaskSpec spec);
  /// Sends a call through the raylet (route_mu_ held).
  void SendViaRaylet(ActorRoute& route, proto::TaskSpec spec);
  /// The raylet's answer on how to reach an actor: its worker when direct.
  proto::ActorRoute ProbeActor(const std::string& actor_id, caf::actor* worker,
                               std::string* worker_id);
  std::mutex route_mu_;
  std::unordered_map<std::string, ActorRoute> routes_;           // GUARDED_BY(route_mu_)
  std::unordered_map<std::string, std::string> raylet_returns_;  // GUARDED_BY(route_mu_): id -> actor
  std::unordered_map<std::string, std::string> direct_tasks_;    // GUARDED_BY(route_mu_): task -> actor
  // Actors this process killed (Kill(no_restart)) or saw exit (ExitActor):
  // later calls fail here at once, without racing the kill to the worker.
  std::unordered_map<std::string, std::string> ended_actors_;    // GUARDED_BY(route_mu_): actor -> cause
  std::atomic<uint64_t> direct_sent_{0};
};

/// Fills a CAF configuration with what every process of the cluster uses.
void ConfigureActorSystem(caf::actor_system_config& config, int scheduler_threads);

}  // namespace ray::runtime

#endif  // RAY_RUNTIME_SRC_CLUSTER_RUNTIME_H_
