// Internals of the raylet actor, shared by its source files: its state and
// the functions its behavior (raylet.cc) is made of. tasks.cc: task and
// actor lifecycle on this node; scheduling.cc: placing work on this node's
// workers; cluster.cc: other nodes (forwarding, spilling, routing actor calls,
// node deaths, rebuilding lost objects).
#ifndef RAY_ACTORS_RAYLET_RAYLET_STATE_H_
#define RAY_ACTORS_RAYLET_RAYLET_STATE_H_

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/common/protocol.h"
#include "actors/raylet/raylet.h"
#include "actors/raylet/resource_pool.h"
#include "actors/raylet/worker_launcher.h"

namespace ray::raylet::detail {

using address_atom = caf::atom_constant<caf::atom("address")>;
using exited_atom = caf::atom_constant<caf::atom("exited")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using hb_start_atom = caf::atom_constant<caf::atom("hb_start")>;
using hb_tick_atom = caf::atom_constant<caf::atom("hb_tick")>;
using lookup_actor_atom = caf::atom_constant<caf::atom("act_look")>;
using release_flush_atom = caf::atom_constant<caf::atom("rel_flush")>;
using reconnect_atom = caf::atom_constant<caf::atom("reconnect")>;
using gcs_back_atom = caf::atom_constant<caf::atom("gcs_back")>;

/// A task is forwarded to another node at most once (no ping-pong on stale views).
constexpr int kMaxHops = 1;

inline constexpr const char* kRayletClient = "raylet";

struct Worker {
  std::string id;
  pid_t pid = -1;
  std::string job_id;
  caf::actor handle;       // set by hello
  bool idle = false;
  bool dead = false;
  bool exiting = false;    // max_calls reached or ExitActor
  std::deque<std::string> assigned;  // normal tasks sent, in order; the first one runs
  ResourceRequest lease;             // resource shape of the tasks it holds
  std::string actor_id;    // dedicated actor worker
  bool blocked = false;
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
  caf::actor driver;
  bool finished = false;  // its driver disconnected: nothing of it runs again
};

/// Another node of the cluster, as the GCS last described it.
struct Peer {
  proto::NodeRecord record;  // `available` from the last heartbeat, minus what we sent since
  caf::actor raylet;
  caf::actor om;
  bool confirmed = true;     // false after a GCS restart until the GCS lists it again
};

/// A task this raylet sent to another node, kept until its results come back.
struct Forwarded {
  std::string node;
  proto::TaskSpec spec;
  int attempts = 0;
  uint64_t seq = 0;  // forwarding order
};

struct State {
  RayletOptions options;
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
  caf::actor gcs;
  caf::actor om;
  std::string host;
  uint16_t port = 0;
  ResourcePool pool;
  std::unique_ptr<WorkerLauncher> launcher;
  std::unordered_map<std::string, Worker> workers;
  std::unordered_map<pid_t, std::string> worker_by_pid;
  std::unordered_map<std::string, Task> tasks;        // normal tasks and actor calls
  std::deque<std::string> ready;                      // normal tasks with deps resolved
  std::unordered_map<std::string, ActorRecord> actors;
  std::unordered_map<std::string, Job> jobs;
  std::unordered_map<std::string, caf::actor> drivers;  // client id -> its anchor
  std::vector<proto::TaskSpec> lineage_batch;
  std::vector<std::string> release_batch;  // to the GCS: lineage garbage collection
  /// Objects that tasks submitted here took as arguments (by ref), until their
  /// owner releases them: such objects are not freed by the release, since a
  /// task may still fetch them (here or on another node) and rebuilding a lost
  /// result from its lineage may need them again.
  std::unordered_set<std::string> used_as_arg;
  std::string record;           // this node's NodeRecord, to register again
  bool gcs_lost = false;        // the head is gone: reconnecting, batches wait
  std::chrono::steady_clock::time_point reregistered;  // prune vanished peers after a while
  bool prune_pending = false;
  bool release_flush_pending = false;
  int startup_failures = 0;
  std::string startup_error;  // why workers cannot start at all (empty: see their logs)
  bool shutting_down = false;
  uint64_t tasks_done = 0;
  static inline const char* name = "raylet";
};

using Self = caf::stateful_actor<State>*;

// -- tasks.cc: tasks and actors on this node ---------------------------------

std::string ActorStateName(ActorState s);
std::string DisplayName(const proto::TaskSpec& spec);
proto::ObjectEntry ErrorEntry(const std::string& id, proto::ErrorKind kind,
                              const std::string& type, const std::string& message,
                              const std::string& task_name);
void PutEntry(Self self, const proto::ObjectEntry& entry);
/// A driver on this node gets the results of its own tasks pushed to it
/// (values and errors whole, shared-memory ones as a "ready" mark; Ray returns
/// small values inline to the owner the same way): its Get and Wait then need
/// no request to the object manager for them.
void PushToCaller(Self self, const proto::TaskSpec& spec,
                  const std::vector<proto::ObjectEntry>& entries);
/// Stores a task's results here and, when it came from another node, sends
/// them back there (large ones as entries only: they are pulled through the
/// GCS directory).
void Deliver(Self self, const proto::TaskSpec& spec,
             const std::vector<proto::ObjectEntry>& entries);
void FailReturns(Self self, const proto::TaskSpec& spec, proto::ErrorKind kind,
                 const std::string& type, const std::string& message);
void UnpinArgs(Self self, const Task& task);
/// An owner dropped its last ref to `id`; `may_free` when it never nested the
/// ref in a value, so no other process can hold one: then the object is freed
/// unless a task submitted here took it as an argument.
void OnRelease(Self self, const std::string& id, bool may_free);
void FlushLineage(Self self);
/// Sends the owners' releases to the GCS (lineage garbage collection), after
/// the records they concern: same destination, same sender, so in order.
/// Batched (512 ids or 20 ms): they are off every task's path.
void FlushReleases(Self self);
void PublishActor(Self self, const std::string& actor_id);
void StartWorker(Self self, const std::string& job_id);
void Dispatch(Self self, Task& task, Worker& w, ResourceAllocation allocation);
void FailActorCall(Self self, const std::string& task_id, const std::string& cause);
void MarkActorDead(Self self, const std::string& actor_id, const std::string& cause);
/// Sends queued calls whose arguments are resolved, in order, stopping at the first that is not.
void PumpActor(Self self, const std::string& actor_id);
void StartActorCreation(Self self, const std::string& actor_id);
void OnActorWorkerLost(Self self, const std::string& actor_id, const std::string& cause);
void ResolveDependencies(Self self, const std::string& task_id);
void Submit(Self self, proto::TaskSpec spec);
void SubmitLocal(Self self, proto::TaskSpec spec);
/// Puts tasks a worker gave back (unstarted) at the front of the queue, in order.
void Requeue(Self self, Worker& w, const std::vector<std::string>& ids);
void FinishNormalTask(Self self, Worker& w, const proto::ExecReply& reply);
void HandleDone(Self self, const proto::ExecReply& reply);
void HandleWorkerDeath(Self self, const std::string& worker_id, const std::string& why);
std::string ExitReason(int status);

// -- scheduling.cc: this node's workers --------------------------------------

void WarnIfInfeasible(Self self, const proto::TaskSpec& spec, bool* warned);
/// With a backlog and no worker idle or starting, queues more tasks of the same
/// resource shape on busy workers (they run in order on the worker's lease), so
/// the round trip to the worker does not limit throughput. Running tasks never
/// exceed the resources: only the first task of a worker runs.
void PipelineToBusyWorkers(Self self);
/// Dispatches what can run now and starts the workers that runnable work lacks.
/// Cost is proportional to the work dispatched plus the workers that may still
/// be started, not to the length of the queue.
void Schedule(Self self);

// -- cluster.cc: other nodes -------------------------------------------------

bool Fits(const std::map<std::string, double>& have, const ResourceRequest& request);
/// Opens an authenticated connection to the raylet at `address` ("host:port")
/// in the background, so traffic to that node need not go through the head.
void ConnectDirectly(Self self, const std::string& address);
/// The peer to send `request` to: one with it available now (most free CPU
/// first), or with `any_total` one that has it at all. Empty when none.
std::string PickPeer(Self self, const ResourceRequest& request, bool any_total);
/// Sends a task or actor call to another node's raylet.
void Forward(Self self, proto::TaskSpec spec, const std::string& node, int attempts = 0);
/// Where an actor should live: here when it fits now, else a peer where it
/// fits now, else here when it fits at all, else any peer where it does.
std::string PlaceActor(Self self, const ResourceRequest& request);
/// Sends calls for an actor hosted elsewhere to its node, asking the GCS
/// where that is the first time.
void RouteActorCall(Self self, proto::TaskSpec spec);
/// Asks the GCS where an actor lives, then routes the calls waiting for it.
void LookupActor(Self self, const std::string& actor_id);
/// Large arguments already on another node pull the task there, when that
/// node can run it.
void SubmitWithLocality(Self self, proto::TaskSpec spec);
/// Sends queued tasks that cannot run here now to nodes that can run them now,
/// and tasks this node can never run to a node that can. A task that came
/// from another node is only sent on when this node cannot run it at all.
void SpillToPeers(Self self);
/// Learns from the GCS how to run workers of a job whose driver is on another
/// node; with shipped code, writes it under <session>/code/<job>/ first.
void EnsureJob(Self self, const std::string& job_id);
/// A job ended (its driver disconnected here or on another node): its workers
/// and actors go with it.
void EndJob(Self self, const std::string& job_id);
/// A node left the cluster: what was sent there is retried here (or fails),
/// and actors that lived there are dead.
void OnNodeRemoved(Self self, const std::string& node_id, const std::string& reason);
/// An object someone waits for is in no store any more: run the task that
/// made it again, from the lineage log (its lost arguments are rebuilt the
/// same way when that task resolves them). Objects made by Put or by actor
/// calls cannot be replayed: they become an ObjectLostException saying why.
void Rebuild(Self self, const std::string& object_id, const std::string& why);

}  // namespace ray::raylet::detail

#endif  // RAY_ACTORS_RAYLET_RAYLET_STATE_H_
