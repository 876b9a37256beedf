// The raylet core: what the shell hands in (hellos, lost connections, exited
// processes, blocked workers, kills, other nodes and the GCS coming and going).
#include <signal.h>
#include <sys/wait.h>

#include "actors/common/ids.h"
#include "actors/common/logging.h"
#include "actors/raylet/raylet_core.h"

namespace ray::raylet {

void Core::SetAddress(const std::string& address) {
  st_.address = address;
  Schedule();
}

void Core::AddDriver(const std::string& job_id, const proto::Hello& hello) {
  st_.jobs[job_id] = Job{hello.executable, hello.code_search_path};
  st_.drivers.insert(hello.client_id);
  out_.RegisterJob({job_id, hello.executable, hello.code_search_path, hello.load_code_from_local,
                    hello.ships_code, st_.options.node_id});
}

StatusOr<std::string> Core::OnWorkerHello(const std::string& worker_id) {
  auto w = st_.workers.find(worker_id);
  if (w == st_.workers.end() || w->second.dead) {
    return Status(Errc::kNotFound, "no live worker " + ids::Hex(worker_id) + " on this node");
  }
  w->second.connected = true;
  w->second.idle = true;
  st_.startup_failures = 0;
  timer_.After(std::chrono::milliseconds(0), [this] { Schedule(); });  // after the reply is out
  return w->second.job_id;
}

void Core::OnWorkerConnectionLost(const std::string& worker_id) {
  auto w = st_.workers.find(worker_id);
  if (w == st_.workers.end()) return;
  host_.Signal(w->second.pid, SIGKILL);  // lost contact: make sure it is gone
  HandleWorkerDeath(worker_id, "lost connection to the worker");
}

void Core::OnDriverGone(const std::string& job_id, const std::vector<std::string>& client_ids) {
  // Its workers and actors go with it, on every node.
  for (const auto& id : client_ids) st_.drivers.erase(id);
  EndJob(job_id);
  if (!st_.peers.empty()) out_.ReportJobEnded(job_id);
}

void Core::OnJobEnded(const std::string& job_id) {
  if (st_.jobs.count(job_id)) EndJob(job_id);
}

void Core::OnWorkerExited(pid_t pid, int status) {
  auto it = st_.worker_by_pid.find(pid);
  if (it == st_.worker_by_pid.end()) return;
  std::string worker_id = it->second;
  st_.worker_by_pid.erase(it);
  auto w = st_.workers.find(worker_id);
  // Killed from outside (SIGKILL, SIGTERM: the OOM killer, an operator)
  // says nothing about whether workers can start; a crash or an exit does.
  const bool killed =
      WIFSIGNALED(status) && (WTERMSIG(status) == SIGKILL || WTERMSIG(status) == SIGTERM);
  if (w != st_.workers.end() && !w->second.connected && !w->second.dead && !killed) {
    ++st_.startup_failures;
    RAY_LOG(Warning) << "worker pid " << pid << " " << ExitReason(status)
                     << " before connecting; see " << st_.options.session_dir << "/logs/worker-"
                     << pid << ".err";
  }
  HandleWorkerDeath(worker_id, ExitReason(status));
  st_.workers.erase(worker_id);
  Schedule();
}

void Core::OnWorkerBlocked(const std::string& worker_id) {
  auto w = st_.workers.find(worker_id);
  if (w == st_.workers.end() || w->second.blocked || w->second.assigned.empty()) return;
  w->second.blocked = true;
  w->second.lent_cpu = Extract(&w->second.allocation, "CPU");
  st_.pool.Release(w->second.lent_cpu);
  if (w->second.assigned.size() > 1) {
    // Tasks queued behind the blocked one may be what it waits for: take them back.
    out_.StealTasks(worker_id, [this, worker_id](StatusOr<std::vector<std::string>> ids) {
      // A failure is the worker's death, handled where it is noticed.
      auto w = st_.workers.find(worker_id);
      if (!ids.ok() || w == st_.workers.end() || w->second.dead) return;
      Requeue(w->second, *ids);
      Schedule();
    });
  }
  Schedule();
}

void Core::OnWorkerUnblocked(const std::string& worker_id) {
  auto w = st_.workers.find(worker_id);
  if (w == st_.workers.end() || !w->second.blocked) return;
  w->second.blocked = false;
  double cpus = 0;
  for (const auto& [id, f] : w->second.lent_cpu["CPU"]) cpus += f;
  w->second.lent_cpu.clear();
  // Take the CPU back if it is free; otherwise run oversubscribed until done.
  if (cpus > 0) {
    if (auto again = st_.pool.Acquire({{"CPU", cpus}})) {
      for (auto& [n, parts] : *again) w->second.allocation[n] = parts;
    }
  }
}

void Core::Kill(const std::string& actor_id, bool no_restart) {
  auto a = st_.actors.find(actor_id);
  if (a == st_.actors.end()) {
    // Hosted elsewhere: the node that has it kills it.
    if (auto home = st_.actor_home.find(actor_id); home != st_.actor_home.end()) {
      if (st_.peers.count(home->second)) out_.KillOnPeer(home->second, actor_id, no_restart);
    } else if (!st_.peers.empty()) {
      out_.LookupActor(actor_id, [this, actor_id, no_restart](StatusOr<proto::ActorInfo> info) {
        if (!info.ok()) {
          if (info.status().code() != Errc::kNotFound) {
            RAY_LOG(Warning) << "kill: the GCS did not say where the actor is: "
                             << info.status().message();
          }
          return;
        }
        if (st_.peers.count(info->node_id)) out_.KillOnPeer(info->node_id, actor_id, no_restart);
      });
    }
    return;
  }
  if (a->second.state == ActorState::kDead) return;
  auto w = st_.workers.find(a->second.worker_id);
  if (w != st_.workers.end()) {
    // Its death is handled here, not when the process is found gone, so that
    // calls submitted after Kill wait for the restarted instance.
    w->second.exiting = true;
    host_.Signal(w->second.pid, SIGKILL);
  }
  if (no_restart) {
    MarkActorDead(actor_id, "it was killed by ray::Kill");
  } else {
    OnActorWorkerLost(actor_id, "it was killed by ray::Kill(no_restart=false)");
  }
}

ActorRouteAnswer Core::RouteToActor(const std::string& actor_id) const {
  auto a = st_.actors.find(actor_id);
  if (a == st_.actors.end()) return {proto::ActorRoute::kRaylet, {}};
  switch (a->second.state) {
    case ActorState::kPending:
    case ActorState::kRestarting:
      return {proto::ActorRoute::kLater, {}};
    case ActorState::kDead:
      return {proto::ActorRoute::kRaylet, {}};
    case ActorState::kAlive:
      break;
  }
  auto w = st_.workers.find(a->second.worker_id);
  if (w == st_.workers.end() || w->second.dead || w->second.exiting || !w->second.connected) {
    return {proto::ActorRoute::kLater, {}};
  }
  return {proto::ActorRoute::kDirect, w->first};
}

// -- other nodes and the GCS ------------------------------------------------------

void Core::OnPeerAdded(const proto::NodeRecord& record) {
  if (record.node_id == st_.options.node_id) return;
  // Every node is connected to the head already; of two other nodes, one
  // connects (a second, redundant connection would be torn down again).
  if (!record.is_head && !st_.options.head_address.empty() &&
      st_.options.node_id > record.node_id) {
    out_.ConnectToPeer(record.address);
  }
  st_.peers[record.node_id] = Peer{record};
  Schedule();
}

void Core::OnPeerResults(const std::string& task_id,
                         const std::vector<proto::ObjectEntry>& entries) {
  for (const auto& e : entries) {
    // A shared-memory entry's offset is in the executing node's segment.
    if (e.kind != static_cast<uint8_t>(proto::ObjectKind::kShm)) out_.PutObject(e);
  }
  if (auto f = st_.forwarded.find(task_id); f != st_.forwarded.end()) {
    PushToCaller(f->second.spec, entries);
  }
  st_.forwarded.erase(task_id);
  st_.rebuilding.erase(task_id);
}

void Core::OnHeartbeatReply(std::vector<proto::NodeRecord> alive_nodes) {
  std::set<std::string> alive;
  for (auto& rec : alive_nodes) {
    alive.insert(rec.node_id);
    auto p = st_.peers.find(rec.node_id);
    if (p == st_.peers.end()) continue;
    p->second.record.available = std::move(rec.available);
    // Totals change too: a placement group's bundles are resources of their node.
    if (!rec.total.empty()) p->second.record.total = std::move(rec.total);
    p->second.confirmed = true;
  }
  // Fresh views of the peers' room: queued tasks that found none may go now,
  // and tasks pipelined behind busy workers are taken back to follow them.
  SpillToPeers();
  ReclaimPipelinedForPeers();
  if (!st_.prune_pending || timer_.Now() - st_.reregistered <= std::chrono::seconds(3)) return;
  // Nodes that did not come back to the restarted GCS are gone.
  st_.prune_pending = false;
  std::vector<std::string> gone;
  for (const auto& [id, p] : st_.peers) {
    if (!alive.count(id)) gone.push_back(id);
  }
  for (const auto& id : gone) OnNodeRemoved(id, "it did not rejoin after the GCS restarted");
}

void Core::OnGcsLost() { st_.gcs_lost = true; }

void Core::OnGcsBack() {
  st_.gcs_lost = false;
  st_.reregistered = timer_.Now();
  st_.prune_pending = true;
  for (auto& [id, p] : st_.peers) p.confirmed = false;  // until listed again
  FlushReleases();  // what waited while the GCS was away
}

std::map<std::string, double> Core::AvailableResources() const {
  std::map<std::string, double> available;
  for (const auto& [name, total] : st_.pool.totals()) available[name] = st_.pool.Available(name);
  return available;
}

std::string Core::Stats() const {
  int alive = 0;
  for (auto& [wid, w] : st_.workers) alive += w.dead ? 0 : 1;
  return "workers=" + std::to_string(alive) + " tasks_done=" + std::to_string(st_.tasks_done) +
         " queued=" + std::to_string(st_.ready.size()) +
         " actors=" + std::to_string(st_.actors.size()) +
         " peers=" + std::to_string(st_.peers.size()) +
         " rebuilds=" + std::to_string(st_.rebuilds) +
         " cpu_available=" + std::to_string(st_.pool.Available("CPU"));
}

void Core::Shutdown() {
  st_.shutting_down = true;
  FlushReleases();
  host_.KillAll();
}

void Core::OnExit() {
  st_.shutting_down = true;
  host_.KillAll();
}

}  // namespace ray::raylet
