// The raylet core and other nodes: forwarding, spilling, routing actor calls,
// jobs started elsewhere, node deaths, rebuilding lost objects from the lineage log.
#include <signal.h>

#include <algorithm>
#include <limits>

#include "actors/common/ids.h"
#include "actors/common/logging.h"
#include "actors/raylet/raylet_core.h"

namespace ray::raylet {

bool Fits(const std::map<std::string, double>& have, const ResourceRequest& request) {
  for (const auto& [name, amount] : request) {
    if (amount <= 0) continue;
    auto it = have.find(name);
    if (it == have.end() || it->second + 1e-9 < amount) return false;
  }
  return true;
}

std::string Core::PickPeer(const ResourceRequest& request, bool any_total) {
  std::string best;
  double best_cpu = -std::numeric_limits<double>::infinity();
  for (auto& [id, p] : st_.peers) {
    if (!p.confirmed || !Fits(p.record.total, request)) continue;
    if (!any_total && !Fits(p.record.available, request)) continue;
    double cpu = p.record.available.count("CPU") ? p.record.available.at("CPU") : 0;
    if (cpu > best_cpu) {
      best_cpu = cpu;
      best = id;
    }
  }
  if (!best.empty()) {
    // Count it as taken until the next heartbeat, so a backlog spreads out.
    for (const auto& [name, amount] : request) st_.peers[best].record.available[name] -= amount;
  }
  return best;
}

void Core::Forward(proto::TaskSpec spec, const std::string& node, int attempts) {
  if (!st_.peers.count(node)) return;
  ++spec.hops;
  FlushLineage();  // logged here before it runs there
  out_.SubmitToPeer(node, spec);
  if (spec.Kind() != proto::TaskKind::kActorCreation) {
    std::string id = spec.task_id;
    st_.forwarded[id] = Forwarded{node, std::move(spec), attempts, st_.next_seq++};
  }
}

std::string Core::PlaceActor(const ResourceRequest& request) {
  ResourcePool probe = st_.pool;
  if (st_.peers.empty() || probe.Acquire(request)) return st_.options.node_id;
  std::string peer = PickPeer(request, false);
  if (!peer.empty()) return peer;
  if (st_.pool.Feasible(request)) return st_.options.node_id;
  peer = PickPeer(request, true);
  return peer.empty() ? st_.options.node_id : peer;
}

void Core::RouteActorCall(proto::TaskSpec spec) {
  std::string actor_id = spec.actor_id;
  if (auto home = st_.actor_home.find(actor_id); home != st_.actor_home.end()) {
    Forward(std::move(spec), home->second);
    return;
  }
  if (auto dead = st_.remote_actor_dead.find(actor_id); dead != st_.remote_actor_dead.end()) {
    FailReturns(spec, proto::ErrorKind::kActor, "RayActorException",
                "actor " + ids::Hex(actor_id) + " is dead: " + dead->second);
    return;
  }
  auto& waiting = st_.awaiting_actor[actor_id];
  waiting.push_back(std::move(spec));
  if (waiting.size() == 1) LookupActor(actor_id);  // else one is on its way
}

void Core::LookupActor(const std::string& actor_id) {
  out_.LookupActor(actor_id, [this, actor_id](StatusOr<proto::ActorInfo> info) {
    OnActorLocated(actor_id, info);
  });
}

void Core::OnActorLocated(const std::string& actor_id, const StatusOr<proto::ActorInfo>& info) {
  std::string cause = "unknown actor";
  if (info.ok()) {
    if (info->state == ActorStateName(ActorState::kDead)) {
      FailAwaitingCalls(actor_id, info->death_cause);
      return;
    }
    const bool here = info->node_id == st_.options.node_id && st_.actors.count(actor_id);
    if (st_.peers.count(info->node_id) || here) {
      auto calls = std::move(st_.awaiting_actor[actor_id]);
      st_.awaiting_actor.erase(actor_id);
      st_.actor_lookups.erase(actor_id);
      if (!here) st_.actor_home[actor_id] = info->node_id;
      for (auto& c : calls) {
        if (here) {
          SubmitLocal(std::move(c));
        } else {
          Forward(std::move(c), info->node_id);
        }
      }
      return;
    }
    if (++st_.actor_lookups[actor_id] <= 20) {
      // Its node is gone; it may be restarting elsewhere: ask again shortly.
      timer_.After(std::chrono::milliseconds(500), [this, actor_id] { LookupActor(actor_id); });
      return;
    }
    cause = "its node " + ids::Hex(info->node_id) + " is not in the cluster";
  }
  FailAwaitingCalls(actor_id, cause);
}

void Core::FailAwaitingCalls(const std::string& actor_id, const std::string& cause) {
  auto calls = std::move(st_.awaiting_actor[actor_id]);
  st_.awaiting_actor.erase(actor_id);
  st_.actor_lookups.erase(actor_id);
  st_.remote_actor_dead[actor_id] = cause;
  for (auto& c : calls) {
    FailReturns(c, proto::ErrorKind::kActor, "RayActorException",
                "actor " + ids::Hex(actor_id) + " is dead: " + cause);
  }
}

void Core::SubmitWithLocality(proto::TaskSpec spec) {
  std::vector<std::string> refs;
  for (const auto& a : spec.args) {
    if (a.is_ref) refs.push_back(a.object_id);
  }
  std::string task_id = spec.task_id;
  st_.tasks[task_id].spec = std::move(spec);
  out_.LocateNow(refs, [this, task_id](StatusOr<std::vector<proto::Location>> locations) {
    if (!locations.ok()) {
      ResolveDependencies(task_id);
      return;
    }
    PlaceByLocality(task_id, *locations);
  });
}

void Core::PlaceByLocality(const std::string& task_id,
                           const std::vector<proto::Location>& locations) {
  auto t = st_.tasks.find(task_id);
  if (t == st_.tasks.end()) return;
  std::map<std::string, uint64_t> bytes_on;
  for (const auto& loc : locations) {
    if (loc.size > proto::kInlineObjectLimit) bytes_on[loc.node_id] += loc.size;
  }
  std::string best = st_.options.node_id;
  uint64_t most = bytes_on[best];
  for (const auto& [node, n] : bytes_on) {
    auto peer = st_.peers.find(node);
    if (n > most && peer != st_.peers.end() &&
        Fits(peer->second.record.total, t->second.spec.resources)) {
      best = node;
      most = n;
    }
  }
  if (best == st_.options.node_id) {
    ResolveDependencies(task_id);
    return;
  }
  proto::TaskSpec spec = std::move(t->second.spec);
  st_.tasks.erase(t);
  Forward(std::move(spec), best);
}

void Core::SpillToPeers() {
  if (st_.peers.empty() || st_.ready.empty()) return;
  ResourcePool probe = st_.pool;  // what would start here, in queue order
  std::deque<std::string> keep;
  size_t scanned = 0;
  while (!st_.ready.empty() && scanned++ < 256) {
    std::string task_id = std::move(st_.ready.front());
    st_.ready.pop_front();
    auto t = st_.tasks.find(task_id);
    if (t == st_.tasks.end()) continue;
    const proto::TaskSpec& spec = t->second.spec;
    bool feasible = st_.pool.Feasible(spec.resources);
    std::string target;
    if (spec.hops < kMaxRoomHops || !feasible) {
      if (!(feasible && probe.Acquire(spec.resources))) {
        target = PickPeer(spec.resources, false);
        if (target.empty() && !feasible) target = PickPeer(spec.resources, true);
      }
    }
    if (target.empty()) {
      keep.push_back(std::move(task_id));
      continue;
    }
    UnpinArgs(t->second);
    proto::TaskSpec moved = std::move(t->second.spec);
    int attempts = t->second.attempts;
    st_.tasks.erase(t);
    Forward(std::move(moved), target, attempts);
  }
  for (auto it = keep.rbegin(); it != keep.rend(); ++it) st_.ready.push_front(std::move(*it));
}

// -- jobs started on other nodes ------------------------------------------------

void Core::EnsureJob(const std::string& job_id) {
  if (!st_.job_lookups.insert(job_id).second) return;
  out_.LookupJob(job_id, [this, job_id](StatusOr<proto::JobInfo> info) {
    if (!info.ok()) {
      FailJobTasks(job_id, info.status().code() == Errc::kNotFound
                               ? "the GCS does not know the job"
                               : info.status().message());
      return;
    }
    bool local = st_.options.load_code_from_local || info->load_code_from_local ||
                 !info->ships_code || info->driver_node == st_.options.node_id;
    if (local) {
      InstallJob(job_id, *info, {});
      return;
    }
    out_.FetchCode(job_id, [this, job_id, info = *info](StatusOr<proto::CodePackage> code) {
      if (!code.ok()) {
        FailJobTasks(job_id, code.status().code() == Errc::kNotFound
                                 ? "its driver's code never reached the GCS"
                                 : code.status().message());
        return;
      }
      InstallJob(job_id, info, *code);
    });
  });
}

void Core::FailJobTasks(const std::string& job_id, const std::string& why) {
  st_.job_lookups.erase(job_id);
  RAY_LOG(Error) << "cannot run tasks of job " << ids::Hex(job_id) << ": " << why;
  for (auto it = st_.ready.begin(); it != st_.ready.end();) {
    auto t = st_.tasks.find(*it);
    if (t != st_.tasks.end() && t->second.spec.job_id == job_id) {
      FailReturns(t->second.spec, proto::ErrorKind::kWorker, "RayWorkerException",
                  "node " + ids::Hex(st_.options.node_id) +
                      " cannot start workers of this job: " + why);
      UnpinArgs(t->second);
      st_.tasks.erase(t);
      it = st_.ready.erase(it);
    } else {
      ++it;
    }
  }
}

void Core::InstallJob(const std::string& job_id, const proto::JobInfo& info,
                      const proto::CodePackage& code) {
  Job job;
  job.executable = info.executable;
  job.code_search_path = info.code_search_path;
  if (!code.empty()) {
    std::string dir = st_.options.session_dir + "/code/" + ids::Hex(job_id);
    Status written = host_.InstallCode(dir, code);
    if (!written.ok()) {
      FailJobTasks(job_id, written.message());
      return;
    }
    if (info.code_search_path.empty()) {
      job.executable = dir + "/" + code.front().first;
    } else {
      job.code_search_path = {dir};
    }
  }
  st_.job_lookups.erase(job_id);
  st_.jobs[job_id] = std::move(job);
  Schedule();
}

void Core::EndJob(const std::string& job_id) {
  auto& job = st_.jobs[job_id];
  if (job.finished) return;
  job.finished = true;
  std::set<std::string> kept;  // detached actors, and those their owners keep
  for (const auto& [aid, a] : st_.actors) {
    if (a.creation.job_id == job_id && a.state != ActorState::kDead && OutlivesItsJob(a.creation)) {
      kept.insert(aid);
    }
  }
  for (auto& [aid, a] : st_.actors) {
    if (a.creation.job_id == job_id && a.state != ActorState::kDead && !kept.count(aid)) {
      MarkActorDead(aid, "its driver exited");
    }
  }
  for (auto t = st_.tasks.begin(); t != st_.tasks.end();) {
    t = t->second.spec.job_id == job_id ? st_.tasks.erase(t) : std::next(t);
  }
  for (auto f = st_.forwarded.begin(); f != st_.forwarded.end();) {
    f = f->second.spec.job_id == job_id ? st_.forwarded.erase(f) : std::next(f);
  }
  for (auto& [wid, w] : st_.workers) {
    if (w.job_id == job_id && !w.dead && !kept.count(w.actor_id)) host_.Signal(w.pid, SIGKILL);
  }
}

}  // namespace ray::raylet
