// The raylet and other nodes: forwarding, spilling, routing actor calls,
// node deaths, rebuilding lost objects from the lineage log.
#include "actors/raylet/raylet_state.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <sstream>

#include "actors/common/atoms.h"
#include "actors/common/ids.h"
#include "actors/common/logging.h"
#include "actors/common/net.h"
#include "actors/common/protocol.h"
#include "actors/common/safe_behavior.h"

namespace ray::raylet::detail {

// -- other nodes ----------------------------------------------------------------

bool Fits(const std::map<std::string, double>& have, const ResourceRequest& request) {
  for (const auto& [name, amount] : request) {
    if (amount <= 0) continue;
    auto it = have.find(name);
    if (it == have.end() || it->second + 1e-9 < amount) return false;
  }
  return true;
}

/// The peer to send `request` to: one with it available now (most free CPU
/// first), or with `any_total` one that has it at all. Empty when none.
std::string PickPeer(Self self, const ResourceRequest& request, bool any_total) {
  auto& st = self->state;
  std::string best;
  double best_cpu = -std::numeric_limits<double>::infinity();
  for (auto& [id, p] : st.peers) {
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
    for (const auto& [name, amount] : request) st.peers[best].record.available[name] -= amount;
  }
  return best;
}

/// Sends a task or actor call to another node's raylet.
void ConnectDirectly(Self self, const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) return;
  std::string host = address.substr(0, colon);
  auto port = static_cast<uint16_t>(std::atoi(address.c_str() + colon + 1));
  self->system().spawn<caf::detached + caf::hidden>([host, port](caf::blocking_actor* b) {
    std::string why;
    if (!net::Connect(b->system(), host, port, std::chrono::seconds(10), &why)) {
      RAY_LOG(Warning) << "no direct connection to a peer node (its traffic goes through the head): "
                       << why;
    }
  });
}

void Forward(Self self, proto::TaskSpec spec, const std::string& node, int attempts) {
  auto& st = self->state;
  auto peer = st.peers.find(node);
  if (peer == st.peers.end()) return;
  ++spec.hops;
  FlushLineage(self);  // logged here before it runs there
  self->send(peer->second.raylet, atoms::submit::value, proto::Encode(spec));
  if (spec.Kind() != proto::TaskKind::kActorCreation) {
    std::string id = spec.task_id;
    st.forwarded[id] = Forwarded{node, std::move(spec), attempts, st.next_seq++};
  }
}

/// Where an actor should live: here when it fits now, else a peer where it
/// fits now, else here when it fits at all, else any peer where it does.
std::string PlaceActor(Self self, const ResourceRequest& request) {
  auto& st = self->state;
  ResourcePool probe = st.pool;
  if (st.peers.empty() || probe.Acquire(request)) return st.options.node_id;
  std::string peer = PickPeer(self, request, false);
  if (!peer.empty()) return peer;
  if (st.pool.Feasible(request)) return st.options.node_id;
  peer = PickPeer(self, request, true);
  return peer.empty() ? st.options.node_id : peer;
}

/// Sends calls for an actor hosted elsewhere to its node, asking the GCS
/// where that is the first time.
void RouteActorCall(Self self, proto::TaskSpec spec) {
  auto& st = self->state;
  std::string actor_id = spec.actor_id;
  if (auto home = st.actor_home.find(actor_id); home != st.actor_home.end()) {
    Forward(self, std::move(spec), home->second);
    return;
  }
  if (auto dead = st.remote_actor_dead.find(actor_id); dead != st.remote_actor_dead.end()) {
    FailReturns(self, spec, proto::ErrorKind::kActor, "RayActorException",
                "actor " + ids::Hex(actor_id) + " is dead: " + dead->second);
    return;
  }
  auto& waiting = st.awaiting_actor[actor_id];
  waiting.push_back(std::move(spec));
  if (waiting.size() == 1) LookupActor(self, actor_id);  // else one is on its way
}

/// Asks the GCS where an actor lives, then routes the calls waiting for it.
void LookupActor(Self self, const std::string& actor_id) {
  auto resolve = [self, actor_id](const std::string& bytes) {
    auto& st = self->state;
    std::string cause = "unknown actor";
    if (!bytes.empty()) {
      auto info = proto::Decode<proto::ActorInfo>(bytes);
      if (info.state == "DEAD") {
        cause = info.death_cause;
      } else if (st.peers.count(info.node_id)) {
        auto calls = std::move(st.awaiting_actor[actor_id]);
        st.awaiting_actor.erase(actor_id);
        st.actor_lookups.erase(actor_id);
        st.actor_home[actor_id] = info.node_id;
        for (auto& c : calls) Forward(self, std::move(c), info.node_id);
        return;
      } else if (info.node_id == st.options.node_id && st.actors.count(actor_id)) {
        auto calls = std::move(st.awaiting_actor[actor_id]);
        st.awaiting_actor.erase(actor_id);
        st.actor_lookups.erase(actor_id);
        for (auto& c : calls) SubmitLocal(self, std::move(c));
        return;
      } else if (++st.actor_lookups[actor_id] <= 20) {
        // Its node is gone; it may be restarting elsewhere: ask again shortly.
        self->delayed_send(self, std::chrono::milliseconds(500), lookup_actor_atom::value,
                           actor_id);
        return;
      } else {
        cause = "its node " + ids::Hex(info.node_id) + " is not in the cluster";
      }
    }
    auto calls = std::move(st.awaiting_actor[actor_id]);
    st.awaiting_actor.erase(actor_id);
    st.actor_lookups.erase(actor_id);
    st.remote_actor_dead[actor_id] = cause;
    for (auto& c : calls) {
      FailReturns(self, c, proto::ErrorKind::kActor, "RayActorException",
                  "actor " + ids::Hex(actor_id) + " is dead: " + cause);
    }
  };
  self->request(self->state.gcs, std::chrono::seconds(30), atoms::actor_get::value, actor_id)
      .then(safe::Guard(self, "raylet", resolve),
            safe::Guard(self, "raylet", [resolve](caf::error&) { resolve(std::string()); }));
}

/// Large arguments already on another node pull the task there, when that
/// node can run it.
void SubmitWithLocality(Self self, proto::TaskSpec spec) {
  auto& st = self->state;
  std::vector<std::string> refs;
  for (const auto& a : spec.args) {
    if (a.is_ref) refs.push_back(a.object_id);
  }
  std::string task_id = spec.task_id;
  st.tasks[task_id].spec = std::move(spec);
  auto local = [self, task_id] { ResolveDependencies(self, task_id); };
  self->request(st.gcs, std::chrono::seconds(10), atoms::locs_now::value, proto::Encode(refs))
      .then(
          safe::Guard(self, "raylet", [self, task_id, local](const std::string& bytes) {
            auto& st = self->state;
            auto t = st.tasks.find(task_id);
            if (t == st.tasks.end()) return;
            std::map<std::string, uint64_t> bytes_on;
            for (const auto& loc : proto::Decode<std::vector<proto::Location>>(bytes)) {
              if (loc.size > proto::kInlineObjectLimit) bytes_on[loc.node_id] += loc.size;
            }
            std::string best = st.options.node_id;
            uint64_t most = bytes_on[best];
            for (const auto& [node, n] : bytes_on) {
              auto peer = st.peers.find(node);
              if (n > most && peer != st.peers.end() &&
                  Fits(peer->second.record.total, t->second.spec.resources)) {
                best = node;
                most = n;
              }
            }
            if (best == st.options.node_id) {
              local();
              return;
            }
            proto::TaskSpec spec = std::move(t->second.spec);
            st.tasks.erase(t);
            Forward(self, std::move(spec), best);
          }),
          [local](caf::error&) { local(); });
}

/// Sends queued tasks that cannot run here now to nodes that can run them now,
/// and tasks this node can never run to a node that can. A task that came
/// from another node is only sent on when this node cannot run it at all.
void SpillToPeers(Self self) {
  auto& st = self->state;
  if (st.peers.empty() || st.ready.empty()) return;
  ResourcePool probe = st.pool;  // what would start here, in queue order
  std::deque<std::string> keep;
  size_t scanned = 0;
  while (!st.ready.empty() && scanned++ < 256) {
    std::string task_id = std::move(st.ready.front());
    st.ready.pop_front();
    auto t = st.tasks.find(task_id);
    if (t == st.tasks.end()) continue;
    const proto::TaskSpec& spec = t->second.spec;
    bool feasible = st.pool.Feasible(spec.resources);
    std::string target;
    if (spec.hops < kMaxHops || !feasible) {
      if (!(feasible && probe.Acquire(spec.resources))) {
        target = PickPeer(self, spec.resources, false);
        if (target.empty() && !feasible) target = PickPeer(self, spec.resources, true);
      }
    }
    if (target.empty()) {
      keep.push_back(std::move(task_id));
      continue;
    }
    UnpinArgs(self, t->second);
    proto::TaskSpec moved = std::move(t->second.spec);
    int attempts = t->second.attempts;
    st.tasks.erase(t);
    Forward(self, std::move(moved), target, attempts);
  }
  for (auto it = keep.rbegin(); it != keep.rend(); ++it) st.ready.push_front(std::move(*it));
}

/// Learns from the GCS how to run workers of a job whose driver is on another
/// node; with shipped code, writes it under <session>/code/<job>/ first.
void EnsureJob(Self self, const std::string& job_id) {
  auto& st = self->state;
  if (!st.job_lookups.insert(job_id).second) return;
  auto fail = [self, job_id](const std::string& why) {
    auto& st = self->state;
    st.job_lookups.erase(job_id);
    RAY_LOG(Error) << "cannot run tasks of job " << ids::Hex(job_id) << ": " << why;
    for (auto it = st.ready.begin(); it != st.ready.end();) {
      auto t = st.tasks.find(*it);
      if (t != st.tasks.end() && t->second.spec.job_id == job_id) {
        FailReturns(self, t->second.spec, proto::ErrorKind::kWorker, "RayWorkerException",
                    "node " + ids::Hex(st.options.node_id) + " cannot start workers of this job: " +
                        why);
        UnpinArgs(self, t->second);
        st.tasks.erase(t);
        it = st.ready.erase(it);
      } else {
        ++it;
      }
    }
  };
  auto install = [self, job_id](proto::JobInfo info, const proto::CodePackage& code) {
    auto& st = self->state;
    st.job_lookups.erase(job_id);
    Job job;
    job.executable = info.executable;
    job.code_search_path = info.code_search_path;
    if (!code.empty()) {
      std::string dir = st.options.session_dir + "/code/" + ids::Hex(job_id);
      std::string cmd_dir = st.options.session_dir + "/code";
      mkdir(cmd_dir.c_str(), 0755);
      mkdir(dir.c_str(), 0755);
      for (const auto& [name, bytes] : code) {
        std::string path = dir + "/" + name;
        FILE* f = std::fopen(path.c_str(), "wb");
        if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
          if (f) std::fclose(f);
          RAY_LOG(Error) << "cannot write shipped code to " << path;
          return;
        }
        std::fclose(f);
        chmod(path.c_str(), 0755);
      }
      if (info.code_search_path.empty()) {
        job.executable = dir + "/" + code.front().first;
      } else {
        job.code_search_path = {dir};
      }
    }
    st.jobs[job_id] = std::move(job);
    Schedule(self);
  };
  self->request(st.gcs, std::chrono::seconds(30), atoms::job_info::value, job_id)
      .then(
          safe::Guard(self, "raylet", [=](const std::string& bytes) {
            auto& st = self->state;
            if (bytes.empty()) {
              fail("the GCS does not know the job");
              return;
            }
            auto info = proto::Decode<proto::JobInfo>(bytes);
            bool local = st.options.load_code_from_local || info.load_code_from_local ||
                         !info.ships_code || info.driver_node == st.options.node_id;
            if (local) {
              install(info, {});
              return;
            }
            self->request(st.gcs, std::chrono::seconds(60), atoms::code_get::value, job_id)
                .then(
                    safe::Guard(self, "raylet", [=](const std::string& package) {
                      if (package.empty()) {
                        fail("its driver's code never reached the GCS");
                        return;
                      }
                      install(info, proto::Decode<proto::CodePackage>(package));
                    }),
                    [=](caf::error& err) { fail(net::Describe(err)); });
          }),
          [=](caf::error& err) { fail(net::Describe(err)); });
}

/// A job ended (its driver disconnected here or on another node): its workers
/// and actors go with it.
void EndJob(Self self, const std::string& job_id) {
  auto& st = self->state;
  auto& job = st.jobs[job_id];
  if (job.finished) return;
  job.finished = true;
  for (auto& [aid, a] : st.actors) {
    if (a.creation.job_id == job_id && a.state != ActorState::kDead) {
      MarkActorDead(self, aid, "its driver exited");
    }
  }
  for (auto t = st.tasks.begin(); t != st.tasks.end();) {
    t = t->second.spec.job_id == job_id ? st.tasks.erase(t) : std::next(t);
  }
  for (auto f = st.forwarded.begin(); f != st.forwarded.end();) {
    f = f->second.spec.job_id == job_id ? st.forwarded.erase(f) : std::next(f);
  }
  for (auto& [wid, w] : st.workers) {
    if (w.job_id == job_id && !w.dead) st.launcher->Signal(w.pid, SIGKILL);
  }
}

/// A node left the cluster: what was sent there is retried here (or fails),
/// and actors that lived there are dead.
void OnNodeRemoved(Self self, const std::string& node_id, const std::string& reason) {
  auto& st = self->state;
  st.peers.erase(node_id);
  self->send(st.om, atoms::node_del::value, node_id);
  std::string why = "node " + ids::Hex(node_id) + " died: " + reason;
  std::vector<std::string> homeless;
  for (auto it = st.actor_home.begin(); it != st.actor_home.end();) {
    if (it->second == node_id) {
      homeless.push_back(it->first);
      it = st.actor_home.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& actor_id : homeless) {
    auto c = st.remote_creations.find(actor_id);
    if (c == st.remote_creations.end()) continue;  // placed by another raylet: ask the GCS later
    proto::TaskSpec creation = c->second;
    if (creation.max_restarts == 0) {
      st.remote_actor_dead[actor_id] = why;
      st.remote_creations.erase(c);
      proto::ActorInfo info{actor_id, creation.actor_name, creation.job_id, "DEAD",
                            creation.function, 0, why, node_id};
      self->send(st.gcs, atoms::actor_upd::value, proto::Encode(info));
      continue;
    }
    // Restart it on a node that can hold it; the new node has one restart less to spend.
    if (creation.max_restarts > 0) --creation.max_restarts;
    c->second = creation;
    creation.hops = 0;
    RAY_LOG(Info) << "restarting actor " << ids::Hex(actor_id) << " elsewhere: " << why;
    std::string node = PlaceActor(self, creation.resources);
    if (node == st.options.node_id) {
      st.remote_creations.erase(actor_id);
      SubmitLocal(self, std::move(creation));
    } else {
      st.actor_home[actor_id] = node;
      Forward(self, std::move(creation), node);
    }
  }
  std::vector<Forwarded> lost;
  for (auto it = st.forwarded.begin(); it != st.forwarded.end();) {
    if (it->second.node == node_id) {
      lost.push_back(std::move(it->second));
      it = st.forwarded.erase(it);
    } else {
      ++it;
    }
  }
  std::sort(lost.begin(), lost.end(),
            [](const Forwarded& a, const Forwarded& b) { return a.seq < b.seq; });
  for (auto& f : lost) {
    if (f.spec.Kind() == proto::TaskKind::kActorMethod) {
      const std::string& actor_id = f.spec.actor_id;
      bool restarting = st.actor_home.count(actor_id) || st.actors.count(actor_id);
      if (restarting && f.attempts < f.spec.max_retries) {
        f.spec.hops = 0;
        if (auto home = st.actor_home.find(actor_id); home != st.actor_home.end()) {
          Forward(self, std::move(f.spec), home->second, f.attempts + 1);
        } else {
          SubmitLocal(self, std::move(f.spec));
        }
        continue;
      }
      FailReturns(self, f.spec, proto::ErrorKind::kActor, "RayActorException",
                  "actor " + ids::Hex(actor_id) + " died: " + why);
    } else if (f.attempts < f.spec.max_retries) {
      RAY_LOG(Info) << "retrying task " << DisplayName(f.spec) << ": " << why;
      f.spec.hops = 0;
      std::string task_id = f.spec.task_id;
      Task& task = st.tasks[task_id];
      task.spec = std::move(f.spec);
      task.attempts = f.attempts + 1;
      ResolveDependencies(self, task_id);
    } else {
      FailReturns(self, f.spec, proto::ErrorKind::kWorker, "RayWorkerException",
                  "task " + DisplayName(f.spec) + " was running on " + why +
                      (f.spec.max_retries > 0
                           ? " (after " + std::to_string(f.attempts) + " retries)"
                           : ""));
    }
  }
  Schedule(self);
}

/// An object someone waits for is in no store any more: run the task that
/// made it again, from the lineage log (its lost arguments are rebuilt the
/// same way when that task resolves them). Objects made by Put or by actor
/// calls cannot be replayed: they become an ObjectLostException saying why.
void Rebuild(Self self, const std::string& object_id, const std::string& why) {
  auto& st = self->state;
  std::string task_id = ids::TaskOf(object_id);
  auto fail = [self, object_id, why](const std::string& because) {
    PutEntry(self, ErrorEntry(object_id, proto::ErrorKind::kLost, "ObjectLostException",
                              "object " + ids::Hex(object_id) + " is lost: " + why + "; " +
                                  because,
                              ""));
  };
  if (ids::IsPut(object_id)) {
    fail("it was made by ray::Put, which cannot be replayed (only task results can be rebuilt)");
    return;
  }
  if (st.rebuilding.count(task_id) || st.tasks.count(task_id) || st.forwarded.count(task_id)) {
    // Already being made again: only learn where it appears.
    self->send(st.gcs, atoms::rebuild_sub::value, proto::Encode(std::vector<std::string>{object_id}),
               st.om);
    return;
  }
  st.rebuilding.insert(task_id);
  self->request(st.gcs, std::chrono::seconds(30), atoms::lineage_get::value, object_id)
      .then(
          safe::Guard(self, "raylet", [=](const std::string& bytes) {
            auto& st = self->state;
            if (bytes.empty()) {
              st.rebuilding.erase(task_id);
              fail("the task that made it is not in the lineage log");
              return;
            }
            auto spec = proto::Decode<proto::TaskSpec>(bytes);
            if (spec.Kind() != proto::TaskKind::kNormal) {
              st.rebuilding.erase(task_id);
              fail("it was made by an actor method call, which cannot be replayed");
              return;
            }
            spec.origin_node = st.options.node_id;
            spec.hops = 0;
            ++st.rebuilds;
            RAY_LOG(Info) << "rebuilding object " << ids::Hex(object_id) << " by running "
                          << DisplayName(spec) << " again (" << why << ")";
            self->send(st.gcs, atoms::rebuild_sub::value, proto::Encode(spec.return_ids), st.om);
            Submit(self, std::move(spec));
          }),
          [=](caf::error& err) {
            self->state.rebuilding.erase(task_id);
            fail("the lineage log could not be read: " + net::Describe(err));
          });
}

}  // namespace ray::raylet::detail
