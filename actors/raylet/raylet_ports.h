// What the raylet's core reaches the world through (see raylet_core.h):
// Outbox (messages and requests to the object manager, workers, drivers, the
// GCS and other raylets), WorkerHost (processes and the files they run) and
// Timer. raylet.cc implements them over CAF; tests/actors/raylet_core_test.cc
// with fakes. No CAF here.
#ifndef RAY_ACTORS_RAYLET_RAYLET_PORTS_H_
#define RAY_ACTORS_RAYLET_RAYLET_PORTS_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "actors/common/protocol.h"
#include "actors/common/status.h"

namespace ray::raylet {

/// What the raylet sends. Components are named by id: workers and drivers by
/// their client id, other nodes by node id; the shell maps ids to actors.
/// Requests take a callback, called later (never from inside the request).
class Outbox {
 public:
  template <class T>
  using Reply = std::function<void(StatusOr<T>)>;
  virtual ~Outbox() = default;

  // -- this node's object manager
  virtual void PutObject(const proto::ObjectEntry& entry) = 0;
  virtual void UnpinObjects(const std::vector<std::string>& ids) = 0;
  /// The owner dropped its last ref; `free` also removes the object.
  virtual void ReleaseObject(const std::string& id, bool free) = 0;
  virtual void WorkerGone(const std::string& worker_id) = 0;
  virtual void PeerRemoved(const std::string& node_id) = 0;
  /// Waits until every object is here (fetching from other nodes as needed).
  virtual void GetObjects(const std::vector<std::string>& ids,
                          Reply<std::vector<proto::ObjectEntry>> done) = 0;

  // -- workers and drivers of this node
  virtual void Execute(const std::string& worker_id, const proto::ExecRequest& request) = 0;
  virtual void ExitWorker(const std::string& worker_id) = 0;
  /// Takes back the tasks queued on a worker behind the one it runs.
  virtual void StealTasks(const std::string& worker_id, Reply<std::vector<std::string>> done) = 0;
  virtual void PushResults(const std::string& driver_id,
                           const std::vector<proto::ObjectEntry>& entries) = 0;
  /// An actor's worker died: drivers that call it direct through this node
  /// hear of it here (CAF sends them no down message across the node).
  virtual void TellWorkerGone(const std::string& driver_id, const std::string& worker_id) = 0;

  // -- the GCS
  virtual void AppendLineage(const std::vector<proto::TaskSpec>& specs) = 0;
  virtual void ReportReleased(const std::vector<std::string>& ids) = 0;
  virtual void UpdateActor(const proto::ActorInfo& info) = 0;
  virtual void RegisterJob(const proto::JobInfo& job) = 0;
  virtual void ReportJobEnded(const std::string& job_id) = 0;
  /// This node's object manager learns where these objects appear.
  virtual void SubscribeRebuilt(const std::vector<std::string>& ids) = 0;
  /// kNotFound when the GCS knows no such actor / job / lineage record.
  virtual void LookupActor(const std::string& actor_id, Reply<proto::ActorInfo> done) = 0;
  virtual void LookupJob(const std::string& job_id, Reply<proto::JobInfo> done) = 0;
  virtual void FetchCode(const std::string& job_id, Reply<proto::CodePackage> done) = 0;
  virtual void FetchLineage(const std::string& object_id, Reply<proto::TaskSpec> done) = 0;
  virtual void LocateNow(const std::vector<std::string>& ids,
                         Reply<std::vector<proto::Location>> done) = 0;

  // -- other nodes
  virtual void SubmitToPeer(const std::string& node_id, const proto::TaskSpec& spec) = 0;
  virtual void ReturnToOrigin(const std::string& node_id, const std::string& task_id,
                              const std::vector<proto::ObjectEntry>& entries) = 0;
  virtual void KillOnPeer(const std::string& node_id, const std::string& actor_id,
                          bool no_restart) = 0;
  /// Opens a connection to another node's raylet ("host:port"), in the background.
  virtual void ConnectToPeer(const std::string& address) = 0;
};

/// Worker processes and the files they run.
class WorkerHost {
 public:
  virtual ~WorkerHost() = default;
  /// Starts `argv` with `env` added; the pid, or -1 with `*error` set. Its
  /// exit comes back as Core::OnWorkerExited.
  virtual pid_t Launch(const std::vector<std::string>& argv,
                       const std::map<std::string, std::string>& env, std::string* error) = 0;
  virtual void Signal(pid_t pid, int sig) = 0;
  /// SIGKILLs every worker and waits for them.
  virtual void KillAll() = 0;
  /// Whether `path` can be run (`executable`) or read.
  virtual bool Usable(const std::string& path, bool executable) = 0;
  /// Writes a job's shipped code (executables) into `dir`.
  virtual Status InstallCode(const std::string& dir, const proto::CodePackage& code) = 0;
  /// Writes a runtime env's working_dir (relative paths, subdirectories made)
  /// into `dir`; a path that would leave `dir` is refused.
  virtual Status InstallWorkingDir(const std::string& dir, const proto::CodePackage& files) = 0;
};

class Timer {
 public:
  virtual ~Timer() = default;
  virtual std::chrono::steady_clock::time_point Now() = 0;
  /// Calls `fn` after `delay` (0: as soon as the current message is done).
  virtual void After(std::chrono::milliseconds delay, std::function<void()> fn) = 0;
};

}  // namespace ray::raylet

#endif  // RAY_ACTORS_RAYLET_RAYLET_PORTS_H_
