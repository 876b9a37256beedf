// The raylet's logic, as plain C++: the worker pool, resource-aware
// scheduling, the lifecycle of tasks and of the actors hosted on this node,
// and what the node does about other nodes (forwarding, spilling, routing
// actor calls, node deaths, rebuilding lost objects).
//
// No CAF here (the build forbids it: cmake/RayLayers.cmake). The core owns
// the state and decides; it reaches the world only through three interfaces:
//   Outbox     messages to the object manager, workers, drivers, the GCS and
//              other raylets, plus the requests whose answers come back later
//              as callbacks;
//   WorkerHost starting, signalling and killing worker processes, and the
//              files they run;
//   Timer      the time now, and callbacks later on the raylet's thread.
// raylet.cc implements them over CAF; tests/actors/raylet_core_test.cc with
// fakes, which makes every decision testable without processes or sleeps.
//
// Threading: a Core is used from one thread at a time (the raylet actor's),
// and every callback it hands out is called on that thread too.
#ifndef RAY_ACTORS_RAYLET_RAYLET_CORE_H_
#define RAY_ACTORS_RAYLET_RAYLET_CORE_H_

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "actors/common/placement.h"
#include "actors/common/protocol.h"
#include "actors/common/status.h"
#include "actors/raylet/raylet_ports.h"
#include "actors/raylet/resource_pool.h"

namespace ray::raylet {

struct RayletOptions {
  std::string node_id;
  std::map<std::string, double> resources;                 // totals, incl. CPU/GPU
  std::map<std::string, std::vector<int64_t>> unit_ids;    // e.g. GPU ids
  std::string session_dir;                                 // logs go to <session_dir>/logs
  std::string shm_name;
  std::string shm_directory;
  bool log_to_driver = true;
  std::string preload_library;       // libray_worker_preload.so
  std::string default_worker;        // ray_default_worker (code_search_path mode)
  std::map<std::string, std::string> worker_env;  // logging settings etc.
  int max_worker_startup_failures = 3;
  int64_t heartbeat_period_ms = 500;
  bool exit_on_removal = false;      // raynode: SIGTERM itself when the GCS declared it dead
  bool load_code_from_local = false; // run other nodes' jobs from code_search_path, not shipped code
  std::string head_address;          // non-head nodes: reconnect here when the GCS is lost
};

/// A task is forwarded to another node at most once (no ping-pong on stale views)...
constexpr int kMaxHops = 1;
/// ...except that one waiting here for room may move on to a peer whose last
/// heartbeat showed room, up to this many hops in all: tasks a CPU-less head
/// handed to the first node that joined spread over the nodes that join later.
constexpr int kMaxRoomHops = 3;

struct Worker {
  std::string id;
  pid_t pid = -1;
  std::string job_id;
  bool connected = false;  // said hello
  bool idle = false;
  bool dead = false;
  bool exiting = false;    // max_calls reached or ExitActor
  std::deque<std::string> assigned;  // normal tasks sent, in order; the first one runs
  ResourceRequest lease;             // resource shape of the tasks it holds
  std::string actor_id;    // dedicated actor worker
  std::string runtime_env; // the env it was started in (TaskSpec::runtime_env; "" none)
  bool blocked = false;
  bool stealing = false;  // a steal of its queued tasks is in flight
  ResourceAllocation allocation;
  ResourceAllocation lent_cpu;  // CPU given back while blocked in Get
};

struct Task {
  proto::TaskSpec spec;
  uint64_t seq = 0;  // submission order on this raylet
  std::vector<proto::ObjectEntry> resolved;
  bool deps_ready = false;
  int attempts = 0;
  std::string worker_id;
  bool warned_infeasible = false;
};

enum class ActorState { kPending, kAlive, kRestarting, kDead };
std::string ActorStateName(ActorState s);

struct ActorRecord {
  proto::TaskSpec creation;
  ActorState state = ActorState::kPending;
  std::string worker_id;
  int restarts = 0;
  std::deque<std::string> queue;      // calls not sent yet, in submission order
  std::set<std::string> inflight;     // calls sent to the worker
  ResourceAllocation allocation;
  std::string death_cause;
  bool needs_worker = false;
  bool warned_infeasible = false;
};

struct Job {
  std::string executable;
  std::vector<std::string> code_search_path;
  bool finished = false;  // its driver disconnected: nothing of it runs again
};

/// Another node of the cluster, as the GCS last described it.
struct Peer {
  proto::NodeRecord record;  // `available` from the last heartbeat, minus what we sent since
  bool confirmed = true;     // false after a GCS restart until the GCS lists it again
};

/// A task this raylet sent to another node, kept until its results come back.
struct Forwarded {
  std::string node;
  proto::TaskSpec spec;
  int attempts = 0;
  uint64_t seq = 0;  // forwarding order
};

/// A runtime env's working_dir on this node (<session>/runtime_resources/<key>).
struct WorkingDir {
  bool fetching = false;  // asked the GCS for its files
  bool ready = false;     // written: workers may start in it
  std::string path;
};

/// A placement group's bundle on this node: set aside when prepared, usable
/// by the group's tasks and actors once committed.
struct BundleRecord {
  std::map<std::string, double> bundle;
  ResourceAllocation reserved;
  bool committed = false;
};

/// Workers are pooled per job and runtime env: a task runs only in a worker
/// started for its own.
using PoolKey = std::pair<std::string, std::string>;  // job id, TaskSpec::runtime_env

/// Everything the raylet knows. Plain data: the Core changes it, tests read it.
struct State {
  RayletOptions options;
  std::string address;  // "host:port" workers connect to; empty until published
  ResourcePool pool;
  std::map<std::string, Peer> peers;
  std::unordered_map<std::string, Forwarded> forwarded;
  uint64_t next_seq = 1;
  std::unordered_map<std::string, std::string> actor_home;  // remote actor -> its node
  std::unordered_map<std::string, std::string> remote_actor_dead;  // actor -> cause
  std::unordered_map<std::string, std::vector<proto::TaskSpec>> awaiting_actor;  // GCS lookup
  std::set<std::string> job_lookups;  // jobs of other nodes being fetched from the GCS
  std::set<std::string> rebuilding;   // tasks re-run to rebuild lost objects
  uint64_t rebuilds = 0;
  /// Actors this raylet placed on other nodes: their creation (restarted
  /// elsewhere when that node dies, within max_restarts).
  std::unordered_map<std::string, proto::TaskSpec> remote_creations;
  std::unordered_map<std::string, int> actor_lookups;  // retries while an actor restarts
  std::unordered_map<std::string, Worker> workers;
  std::unordered_map<pid_t, std::string> worker_by_pid;
  std::unordered_map<std::string, Task> tasks;        // normal tasks and actor calls
  std::deque<std::string> ready;                      // normal tasks with deps resolved
  std::unordered_map<std::string, ActorRecord> actors;
  std::unordered_map<std::string, Job> jobs;
  std::map<std::string, WorkingDir> working_dirs;  // by key ("working_dir_<sha256>")
  std::map<std::pair<std::string, int>, BundleRecord> bundles;  // (group hex id, index)
  std::set<std::string> removed_groups;  // their tasks and actors fail here
  std::unordered_set<std::string> drivers;  // client ids of this node's drivers
  std::vector<proto::TaskSpec> lineage_batch;
  std::vector<std::string> release_batch;  // to the GCS: lineage garbage collection
  /// Objects that tasks submitted here took as arguments (by ref), until their
  /// owner releases them: such objects are not freed by the release, since a
  /// task may still fetch them (here or on another node) and rebuilding a lost
  /// result from its lineage may need them again.
  std::unordered_set<std::string> used_as_arg;
  bool gcs_lost = false;        // the head is gone: reconnecting, batches wait
  std::chrono::steady_clock::time_point reregistered;  // prune vanished peers after a while
  bool prune_pending = false;
  bool release_flush_pending = false;
  int startup_failures = 0;
  std::string startup_error;  // why workers cannot start at all (empty: see their logs)
  bool shutting_down = false;
  uint64_t tasks_done = 0;
};

/// A live worker as `ray status` and `ray stack` show it.
struct WorkerView {
  std::string worker_id;
  pid_t pid = -1;
  std::string job_id;
  std::string state;        // STARTING, IDLE, BUSY, BLOCKED (in ray::Get)
  std::string actor_id;     // empty for a task worker
  std::string actor_class;  // the actor's factory
  std::string task_id;      // the task or actor call it runs (via the raylet)
  std::string function;
};

/// How a driver reaches an actor's worker (answer to actor_ep).
struct ActorRouteAnswer {
  proto::ActorRoute route = proto::ActorRoute::kRaylet;
  std::string worker_id;  // kDirect only
};

class Core {
 public:
  Core(RayletOptions options, Outbox* outbox, WorkerHost* host, Timer* timer);
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  const State& state() const { return st_; }

  // -- events.cc: what the shell hands in -----------------------------------
  /// Workers are told to connect to `address` ("host:port"), known once published.
  void SetAddress(const std::string& address);
  /// A driver of this node started job `job_id` (the GCS gave the id).
  void AddDriver(const std::string& job_id, const proto::Hello& hello);
  /// A worker this raylet started said hello; kNotFound for an unknown or dead one.
  StatusOr<std::string> OnWorkerHello(const std::string& worker_id);
  void OnWorkerConnectionLost(const std::string& worker_id);
  /// The driver of `job_id` disconnected; `client_ids` are its clients here.
  void OnDriverGone(const std::string& job_id, const std::vector<std::string>& client_ids);
  void OnWorkerExited(pid_t pid, int status);
  void OnWorkerBlocked(const std::string& worker_id);
  void OnWorkerUnblocked(const std::string& worker_id);
  void Kill(const std::string& actor_id, bool no_restart);
  ActorRouteAnswer RouteToActor(const std::string& actor_id) const;
  void OnPeerAdded(const proto::NodeRecord& record);
  void OnPeerResults(const std::string& task_id, const std::vector<proto::ObjectEntry>& entries);
  void OnJobEnded(const std::string& job_id);
  /// The GCS listed the live nodes in answer to a heartbeat.
  void OnHeartbeatReply(std::vector<proto::NodeRecord> alive);
  void OnGcsLost();
  /// This node registered again with a restarted GCS.
  void OnGcsBack();
  std::map<std::string, double> AvailableResources() const;
  std::string Stats() const;
  /// The raylet stops: releases go out, then every worker is killed.
  void Shutdown();
  /// The raylet's actor ended (nothing can be sent any more): workers are killed.
  void OnExit();

  // -- observe.cc: what `ray status` and `ray stack` show ----------------------
  /// JSON: resources, pending and infeasible demand by shape, actors, workers.
  std::string StatusJson() const;
  std::vector<WorkerView> Workers() const;
  /// Could any node of the cluster (this one or a peer) ever run `shape`?
  bool FitsAnywhere(const ResourceRequest& shape) const;

  // -- tasks.cc: tasks and actors on this node -------------------------------
  void Submit(proto::TaskSpec spec);
  void HandleDone(const proto::ExecReply& reply);
  /// An owner dropped its last ref to `id`; `may_free` when it never nested the
  /// ref in a value, so no other process can hold one: then the object is freed
  /// unless a task submitted here took it as an argument.
  void OnRelease(const std::string& id, bool may_free);
  /// Sends the owners' releases to the GCS (lineage garbage collection), after
  /// the records they concern: same destination, same sender, so in order.
  /// Batched (512 ids or 20 ms): they are off every task's path.
  void FlushReleases();

  // -- bundles.cc: placement group bundles (the GCS asks) ----------------------
  /// Sets `bundle` aside for bundle `index` of group `group` (hex id); false
  /// when it does not fit now (nothing is taken then).
  bool PrepareBundle(const std::string& group, int index, const proto::Bundle& bundle);
  /// The prepared bundle's resources become the group's (proto::BundleResources).
  void CommitBundle(const std::string& group, int index);
  /// Gives the bundle back; index -1: the group was removed, and its tasks and
  /// actors here end (and every bundle of it here is given back).
  void ReturnBundle(const std::string& group, int index);

  // -- scheduling.cc ----------------------------------------------------------
  /// Dispatches what can run now and starts the workers that runnable work lacks.
  /// Cost is proportional to the work dispatched plus the workers that may still
  /// be started, not to the length of the queue.
  void Schedule();

  // -- cluster.cc ------------------------------------------------------------
  /// A node left the cluster: what was sent there is retried here (or fails),
  /// and actors that lived there are dead.
  void OnNodeRemoved(const std::string& node_id, const std::string& reason);
  /// An object someone waits for is in no store any more: run the task that
  /// made it again, from the lineage log (its lost arguments are rebuilt the
  /// same way when that task resolves them). Objects made by Put or by actor
  /// calls cannot be replayed: they become an ObjectLostException saying why.
  void Rebuild(const std::string& object_id, const std::string& why);

 private:
  // -- tasks.cc
  void PushToCaller(const proto::TaskSpec& spec, const std::vector<proto::ObjectEntry>& entries);
  /// Stores a task's results here and, when it came from another node, sends
  /// them back there (large ones as entries only: they are pulled through the
  /// GCS directory).
  void Deliver(const proto::TaskSpec& spec, const std::vector<proto::ObjectEntry>& entries);
  void FailReturns(const proto::TaskSpec& spec, proto::ErrorKind kind, const std::string& type,
                   const std::string& message);
  void UnpinArgs(const Task& task);
  void FlushLineage();
  void PublishActor(const std::string& actor_id);
  void StartWorker(const std::string& job_id, const std::string& runtime_env);
  // -- runtime_env.cc
  /// Adds a worker's runtime env to `env`: its env_vars, and RAY_WORKING_DIR
  /// once its working_dir is written here. False when the worker cannot start
  /// yet (the working_dir is being fetched; Schedule runs again when it is
  /// written) or at all (what waits for the env has failed).
  bool PrepareEnv(const std::string& runtime_env, std::map<std::string, std::string>* env);
  void OnWorkingDirFetched(const std::string& key, const std::string& runtime_env,
                           StatusOr<proto::CodePackage> files);
  /// Fails the tasks and actors waiting for a worker of `runtime_env`.
  void FailEnv(const std::string& runtime_env, const std::string& why);
  void RemoveGroup(const std::string& group);
  void FailGroupTasks(const std::string& group, const std::string& why);
  /// Fails the queued tasks `match` picks: "task <name> <why>".
  void FailReadyTasks(const std::function<bool(const proto::TaskSpec&)>& match,
                      const std::string& why);
  void Dispatch(Task& task, Worker& w, ResourceAllocation allocation);
  void FailActorCall(const std::string& task_id, const std::string& cause);
  void MarkActorDead(const std::string& actor_id, const std::string& cause);
  /// Sends queued calls whose arguments are resolved, in order, stopping at the first that is not.
  void PumpActor(const std::string& actor_id);
  void StartActorCreation(const std::string& actor_id);
  void OnActorWorkerLost(const std::string& actor_id, const std::string& cause);
  /// Whether an actor stays after its job ends: it is detached, or its owner
  /// is an actor that stays.
  bool OutlivesItsJob(const proto::TaskSpec& creation, int depth = 0) const;
  /// Whether an ended job still has actors that stay (their workers may start).
  bool JobKeepsActors(const std::string& job_id) const;
  /// The process `owner_id` (a worker of this node) died: the non-detached
  /// actors it created die with it, here and on other nodes.
  void KillActorsOwnedBy(const std::string& owner_id, const std::string& why);
  void ResolveDependencies(const std::string& task_id);
  void OnDependenciesResolved(const std::string& task_id, std::vector<proto::ObjectEntry> entries);
  /// A task whose argument is an error: the error becomes its results.
  void PropagateArgumentError(const std::string& task_id, const proto::ObjectEntry& error);
  /// Where a task goes when other nodes exist (false: it stays here).
  bool RouteToCluster(proto::TaskSpec& spec);
  void SubmitLocal(proto::TaskSpec spec);
  /// Puts tasks a worker gave back (unstarted) at the front of the queue, in order.
  void Requeue(Worker& w, const std::vector<std::string>& ids);
  void FinishNormalTask(Worker& w, const proto::ExecReply& reply);
  void FinishActorTask(Worker& w, const proto::ExecReply& reply);
  void HandleWorkerDeath(const std::string& worker_id, const std::string& why);
  void RetryOrFailRunningTask(const Worker& w, const std::string& task_id, const std::string& why);

  // -- scheduling.cc
  void WarnIfInfeasible(const proto::TaskSpec& spec, bool* warned);
  /// With a backlog and no worker idle or starting, queues more tasks of the same
  /// resource shape on busy workers (they run in order on the worker's lease), so
  /// the round trip to the worker does not limit throughput. Running tasks never
  /// exceed the resources: only the first task of a worker runs.
  void PipelineToBusyWorkers();
  /// Takes back the tasks queued behind busy workers when a peer has room for
  /// them (a node just joined, or freed up), so that they spill there.
  void ReclaimPipelinedForPeers();
  using IdleWorkers = std::map<PoolKey, std::vector<Worker*>>;  // idle task workers
  /// Gives waiting actors a worker each; counts the workers still wanted per pool.
  void PlaceActors(IdleWorkers& idle, size_t& idle_count, std::map<PoolKey, int>& wanted);
  void DispatchReadyTasks(IdleWorkers& idle, size_t& idle_count);
  /// Fails what waits for a worker when workers cannot start (true: it did).
  bool FailIfWorkersCannotStart();
  void StartWantedWorkers(std::map<PoolKey, int>& wanted);

  // -- cluster.cc
  /// The peer to send `request` to: one with it available now (most free CPU
  /// first), or with `any_total` one that has it at all. Empty when none.
  std::string PickPeer(const ResourceRequest& request, bool any_total);
  /// Sends a task or actor call to another node's raylet.
  void Forward(proto::TaskSpec spec, const std::string& node, int attempts = 0);
  /// Where an actor should live: here when it fits now, else a peer where it
  /// fits now, else here when it fits at all, else any peer where it does.
  std::string PlaceActor(const ResourceRequest& request);
  /// Sends calls for an actor hosted elsewhere to its node, asking the GCS
  /// where that is the first time.
  void RouteActorCall(proto::TaskSpec spec);
  /// Asks the GCS where an actor lives, then routes the calls waiting for it.
  void LookupActor(const std::string& actor_id);
  void OnActorLocated(const std::string& actor_id, const StatusOr<proto::ActorInfo>& info);
  void FailAwaitingCalls(const std::string& actor_id, const std::string& cause);
  /// Large arguments already on another node pull the task there, when that
  /// node can run it.
  void SubmitWithLocality(proto::TaskSpec spec);
  void PlaceByLocality(const std::string& task_id, const std::vector<proto::Location>& locations);
  /// Sends queued tasks that cannot run here now to nodes that can run them now,
  /// and tasks this node can never run to a node that can. A task that came
  /// from another node is only sent on when this node cannot run it at all.
  void SpillToPeers();
  /// Learns from the GCS how to run workers of a job whose driver is on another
  /// node; with shipped code, writes it under <session>/code/<job>/ first.
  void EnsureJob(const std::string& job_id);
  void FailJobTasks(const std::string& job_id, const std::string& why);
  void InstallJob(const std::string& job_id, const proto::JobInfo& info,
                  const proto::CodePackage& code);
  /// A job ended (its driver disconnected here or on another node): its workers
  /// and actors go with it.
  void EndJob(const std::string& job_id);
  void RestartActorsOf(const std::string& node_id, const std::string& why);
  void RetryForwardedTo(const std::string& node_id, const std::string& why);
  void OnLineageRecord(const std::string& object_id, const std::string& why,
                       StatusOr<proto::TaskSpec> spec);
  void FailLostObject(const std::string& object_id, const std::string& why,
                      const std::string& because);

  State st_;
  Outbox& out_;
  WorkerHost& host_;
  Timer& timer_;
};

// Helpers shared by the core's files and its tests.
std::string DisplayName(const proto::TaskSpec& spec);
proto::ObjectEntry ErrorEntry(const std::string& id, proto::ErrorKind kind,
                              const std::string& type, const std::string& message,
                              const std::string& task_name);
bool Fits(const std::map<std::string, double>& have, const ResourceRequest& request);
/// What a worker is told it was given: a placement group's resources also
/// under their plain names (a bundle's GPUs are the task's GPUs).
proto::Allocation ForWorker(const ResourceAllocation& allocation);
std::string ExitReason(int status);

}  // namespace ray::raylet

#endif  // RAY_ACTORS_RAYLET_RAYLET_CORE_H_
