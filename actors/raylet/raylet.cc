#include "actors/raylet/raylet.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>

#include <algorithm>
#include <limits>
#include <deque>
#include <sstream>
#include <memory>
#include <set>
#include <unordered_map>

#include <caf/io/all.hpp>

#include "actors/common/atoms.h"
#include "actors/common/ids.h"
#include "actors/common/logging.h"
#include "actors/common/net.h"
#include "actors/common/protocol.h"
#include "actors/common/safe_behavior.h"
#include "actors/raylet/raylet_state.h"

namespace ray::raylet {
namespace {

using namespace detail;

caf::behavior Behavior(Self self, RayletOptions options, caf::actor gcs, caf::actor om) {
  auto& st = self->state;
  st.options = std::move(options);
  st.gcs = std::move(gcs);
  st.om = std::move(om);
  st.pool = ResourcePool(st.options.resources, st.options.unit_ids);
  caf::actor me = caf::actor_cast<caf::actor>(self);
  st.launcher = std::make_unique<WorkerLauncher>(
      st.options.session_dir + "/logs", st.options.log_to_driver,
      [me](pid_t pid, int status) {
        caf::anon_send(me, exited_atom::value, static_cast<int32_t>(pid),
                       static_cast<int32_t>(status));
      });
  self->set_down_handler([=](const caf::down_msg& msg) {
    auto& st = self->state;
    if (st.gcs && msg.source == st.gcs.address() && !st.options.head_address.empty()) {
      if (!st.gcs_lost) {
        st.gcs_lost = true;
        RAY_LOG(Warning) << "lost the GCS (head " << st.options.head_address
                         << "); reconnecting until it is back";
        self->send(self, reconnect_atom::value);
      }
      return;
    }
    for (auto& [wid, w] : st.workers) {
      if (w.handle && w.handle.address() == msg.source) {
        st.launcher->Signal(w.pid, SIGKILL);  // lost contact: make sure it is gone
        HandleWorkerDeath(self, wid, "lost connection to the worker");
        return;
      }
    }
    for (auto it = st.jobs.begin(); it != st.jobs.end(); ++it) {
      if (it->second.driver && it->second.driver.address() == msg.source) {
        // The driver is gone: its workers and actors go with it, on every node.
        std::string job_id = it->first;
        for (auto d = st.drivers.begin(); d != st.drivers.end();) {
          d = d->second.address() == msg.source ? st.drivers.erase(d) : std::next(d);
        }
        EndJob(self, job_id);
        if (!st.peers.empty()) self->send(st.gcs, atoms::job_end::value, job_id);
        return;
      }
    }
  });
  self->attach_functor([self] {
    self->state.shutting_down = true;
    if (self->state.launcher) self->state.launcher->KillAll();
  });
  return safe::Behavior(
      self, "raylet",
      [=](address_atom, const std::string& host, uint16_t port) {
        self->state.host = host;
        self->state.port = port;
        Schedule(self);
      },
      [=](atoms::hello, const std::string& bytes,
          const caf::actor& client) -> caf::result<std::string, caf::actor, caf::actor> {
        auto& st = self->state;
        auto hello = proto::Decode<proto::Hello>(bytes);
        proto::NodeInfo info{st.options.node_id, hello.job_id, st.options.shm_name,
                             st.options.shm_directory, st.options.session_dir,
                             st.options.resources};
        if (hello.is_driver) {
          auto promise = self->make_response_promise<std::string, caf::actor, caf::actor>();
          self->request(st.gcs, std::chrono::seconds(30), atoms::job::value)
              .then(
                  safe::Guard(self, "raylet", [=](const std::string& job_id) mutable {
                    auto& st = self->state;
                    st.jobs[job_id] = Job{hello.executable, hello.code_search_path, client};
                    if (client) st.drivers[hello.client_id] = client;
                    if (client) self->monitor(client);
                    proto::JobInfo job{job_id,
                                       hello.executable,
                                       hello.code_search_path,
                                       hello.load_code_from_local,
                                       hello.ships_code,
                                       st.options.node_id};
                    self->send(st.gcs, atoms::job_reg::value, proto::Encode(job));
                    proto::NodeInfo reply = info;
                    reply.job_id = job_id;
                    promise.deliver(proto::Encode(reply), st.om, st.gcs);
                  }),
                  [=](caf::error& err) mutable { promise.deliver(err); });
          return promise;
        }
        // A worker this raylet started.
        auto wit = st.workers.find(hello.client_id);
        if (wit == st.workers.end() || wit->second.dead || !client) {
          return caf::make_error(caf::sec::unexpected_message);
        }
        Worker& w = wit->second;
        w.handle = client;
        w.idle = true;
        st.startup_failures = 0;
        self->monitor(client);
        info.job_id = w.job_id;
        self->send(self, flush_atom::value);  // schedule after the reply is out
        return {proto::Encode(info), st.om, st.gcs};
      },
      [=](flush_atom) { Schedule(self); },
      // -- the cluster -----------------------------------------------------------
      [=](hb_start_atom, const std::string& record) {
        auto& st = self->state;
        st.record = record;
        if (!st.options.head_address.empty()) self->monitor(st.gcs);
        self->send(self, hb_tick_atom::value);
      },
      [=](reconnect_atom) {
        // Blocking connects run in a detached actor, never in the raylet.
        auto& st = self->state;
        caf::actor me = caf::actor_cast<caf::actor>(self);
        std::string head = st.options.head_address;
        self->system().spawn<caf::detached>([me, head](caf::blocking_actor* b) {
          auto colon = head.rfind(':');
          std::string why;
          auto raylet =
              net::Connect(b->system(), head.substr(0, colon),
                           static_cast<uint16_t>(std::atoi(head.c_str() + colon + 1)),
                           std::chrono::seconds(5), &why);
          caf::actor gcs;
          if (raylet) {
            b->request(raylet, std::chrono::seconds(5), atoms::gcs_of::value, std::string())
                .receive(
                    [&](const std::string& why, const caf::actor& handle) {
                      if (why.empty()) gcs = handle;
                    },
                    [&](caf::error&) {});
          }
          if (gcs) {
            b->send(me, gcs_back_atom::value, gcs);
          } else {
            b->delayed_send(me, std::chrono::milliseconds(500), reconnect_atom::value);
          }
        });
      },
      [=](gcs_back_atom, const caf::actor& gcs) {
        auto& st = self->state;
        if (!st.gcs_lost) return;
        self->request(gcs, std::chrono::seconds(10), atoms::node_reg::value, st.record,
                      caf::actor_cast<caf::actor>(self), st.om)
            .then(
                safe::Guard(self, "raylet", [=](const std::string& refused) {
                  auto& st = self->state;
                  if (!refused.empty() && refused.find("already registered") == std::string::npos) {
                    RAY_LOG(Error) << "the restarted GCS refused this node: " << refused;
                    self->delayed_send(self, std::chrono::seconds(1), reconnect_atom::value);
                    return;
                  }
                  st.gcs = gcs;
                  st.gcs_lost = false;
                  self->monitor(gcs);
                  self->send(st.om, atoms::set_gcs::value, gcs);
                  st.reregistered = std::chrono::steady_clock::now();
                  st.prune_pending = true;
                  for (auto& [id, p] : st.peers) p.confirmed = false;  // until listed again
                  RAY_LOG(Info) << "rejoined the cluster at " << st.options.head_address;
                  FlushReleases(self);  // what waited while the GCS was away
                }),
                [=](caf::error&) {
                  self->delayed_send(self, std::chrono::milliseconds(500), reconnect_atom::value);
                });
      },
      [=](hb_tick_atom) {
        auto& st = self->state;
        if (st.gcs_lost) {
          self->delayed_send(self, std::chrono::milliseconds(st.options.heartbeat_period_ms),
                             hb_tick_atom::value);
          return;
        }
        std::map<std::string, double> available;
        for (const auto& [name, total] : st.pool.totals()) available[name] = st.pool.Available(name);
        self->request(st.gcs, std::chrono::milliseconds(4 * st.options.heartbeat_period_ms + 1000),
                      atoms::heartbeat::value, st.options.node_id, proto::Encode(available))
            .then(
                safe::Guard(self, "raylet", [=](const std::string& reply) {
                  auto& st = self->state;
                  if (reply == "!removed") {
                    RAY_LOG(Error) << "the GCS removed this node from the cluster (it missed its "
                                      "heartbeats); stopping";
                    if (st.options.exit_on_removal) kill(getpid(), SIGTERM);
                    return;
                  }
                  std::set<std::string> alive;
                  for (auto& rec : proto::Decode<std::vector<proto::NodeRecord>>(reply)) {
                    alive.insert(rec.node_id);
                    auto p = st.peers.find(rec.node_id);
                    if (p == st.peers.end()) continue;
                    p->second.record.available = std::move(rec.available);
                    p->second.confirmed = true;
                  }
                  if (st.prune_pending &&
                      std::chrono::steady_clock::now() - st.reregistered > std::chrono::seconds(3)) {
                    // Nodes that did not come back to the restarted GCS are gone.
                    st.prune_pending = false;
                    std::vector<std::string> gone;
                    for (const auto& [id, p] : st.peers) {
                      if (!alive.count(id)) gone.push_back(id);
                    }
                    for (const auto& id : gone) {
                      OnNodeRemoved(self, id, "it did not rejoin after the GCS restarted");
                    }
                  }
                  self->delayed_send(self, std::chrono::milliseconds(st.options.heartbeat_period_ms),
                                     hb_tick_atom::value);
                }),
                [=](caf::error& err) {
                  RAY_LOG(Warning) << "heartbeat to the GCS failed: " << net::Describe(err);
                  self->delayed_send(self,
                                     std::chrono::milliseconds(self->state.options.heartbeat_period_ms),
                                     hb_tick_atom::value);
                });
      },
      [=](atoms::node_add, const std::string& bytes, const caf::actor& raylet,
          const caf::actor& om) {
        auto& st = self->state;
        auto rec = proto::Decode<proto::NodeRecord>(bytes);
        if (rec.node_id == st.options.node_id) return;
        // Every node is connected to the head already; of two other nodes, one
        // connects (a second, redundant connection would be torn down again).
        if (!rec.is_head && !st.options.head_address.empty() && st.options.node_id > rec.node_id) {
          ConnectDirectly(self, rec.address);
        }
        self->send(st.om, atoms::node_add::value, rec.node_id, om);
        st.peers[rec.node_id] = Peer{rec, raylet, om};
        Schedule(self);
      },
      [=](lookup_actor_atom, const std::string& actor_id) { LookupActor(self, actor_id); },
      [=](atoms::rebuild, const std::string& object_id, const std::string& why) {
        Rebuild(self, object_id, why);
      },
      [=](atoms::node_del, const std::string& node_id, const std::string& reason) {
        OnNodeRemoved(self, node_id, reason);
      },
      [=](atoms::fwd_done, const std::string& task_id, const std::string& entries) {
        auto& st = self->state;
        auto list = proto::Decode<std::vector<proto::ObjectEntry>>(entries);
        for (const auto& e : list) {
          // A shared-memory entry's offset is in the executing node's segment.
          if (e.kind != static_cast<uint8_t>(proto::ObjectKind::kShm)) PutEntry(self, e);
        }
        if (auto f = st.forwarded.find(task_id); f != st.forwarded.end()) {
          PushToCaller(self, f->second.spec, list);
        }
        st.forwarded.erase(task_id);
        st.rebuilding.erase(task_id);
      },
      [=](atoms::job_end, const std::string& job_id) {
        if (self->state.jobs.count(job_id)) EndJob(self, job_id);
      },
      [=](atoms::gcs_of, const std::string&) -> caf::result<std::string, caf::actor> {
        auto& st = self->state;
        // The connection's auth handshake (net.h) already proved the token.
        return {std::string(), st.gcs};
      },
      [=](atoms::submit, const std::string& bytes) {
        Submit(self, proto::Decode<proto::TaskSpec>(bytes));
      },
      [=](atoms::release, const std::string& id, bool may_free) {
        // After any earlier submit of the same client (see ClusterRuntime).
        OnRelease(self, id, may_free);
      },
      [=](release_flush_atom) {
        self->state.release_flush_pending = false;
        FlushReleases(self);
      },
      [=](atoms::create, const std::string& id, uint64_t size) {
        // Through here so that it follows the client's earlier releases, whose
        // memory it can then reuse.
        return self->delegate(self->state.om, atoms::create::value, id, size);
      },
      [=](atoms::done, const std::string& bytes) {
        HandleDone(self, proto::Decode<proto::ExecReply>(bytes));
      },
      [=](atoms::actor_ep,
          const std::string& actor_id) -> caf::result<int32_t, caf::actor, std::string> {
        auto route = [&](proto::ActorRoute r, caf::actor worker, std::string worker_id = {}) {
          // A handle is always sent (CAF serializes it); only kDirect's is used.
          if (!worker) worker = caf::actor_cast<caf::actor>(self);
          return caf::result<int32_t, caf::actor, std::string>(static_cast<int32_t>(r),
                                                               std::move(worker), worker_id);
        };
        auto& st = self->state;
        auto a = st.actors.find(actor_id);
        if (a == st.actors.end()) return route(proto::ActorRoute::kRaylet, nullptr);
        switch (a->second.state) {
          case ActorState::kPending:
          case ActorState::kRestarting:
            return route(proto::ActorRoute::kLater, nullptr);
          case ActorState::kDead:
            return route(proto::ActorRoute::kRaylet, nullptr);
          case ActorState::kAlive:
            break;
        }
        auto w = st.workers.find(a->second.worker_id);
        if (w == st.workers.end() || w->second.dead || w->second.exiting || !w->second.handle) {
          return route(proto::ActorRoute::kLater, nullptr);
        }
        return route(proto::ActorRoute::kDirect, w->second.handle, w->first);
      },
      [=](atoms::blocked, const std::string& worker_id) {
        auto& st = self->state;
        auto w = st.workers.find(worker_id);
        if (w == st.workers.end() || w->second.blocked || w->second.assigned.empty()) return;
        w->second.blocked = true;
        w->second.lent_cpu = Extract(&w->second.allocation, "CPU");
        st.pool.Release(w->second.lent_cpu);
        if (w->second.assigned.size() > 1) {
          // Tasks queued behind the blocked one may be what it waits for: take them back.
          std::string id = worker_id;
          self->request(w->second.handle, caf::infinite, atoms::steal::value)
              .then(safe::Guard(self, "raylet", [=](const std::string& bytes) {
                auto& st = self->state;
                auto w = st.workers.find(id);
                if (w == st.workers.end() || w->second.dead) return;
                Requeue(self, w->second, proto::Decode<std::vector<std::string>>(bytes));
                Schedule(self);
              }),
                    // Its death, if that is why, is handled where it is noticed;
                    // a response handler without an error handler would end the raylet.
                    [](caf::error&) {});
        }
        Schedule(self);
      },
      [=](atoms::unblocked, const std::string& worker_id) {
        auto& st = self->state;
        auto w = st.workers.find(worker_id);
        if (w == st.workers.end() || !w->second.blocked) return;
        w->second.blocked = false;
        double cpus = 0;
        for (const auto& [id, f] : w->second.lent_cpu["CPU"]) cpus += f;
        w->second.lent_cpu.clear();
        // Take the CPU back if it is free; otherwise run oversubscribed until done.
        if (cpus > 0) {
          if (auto again = st.pool.Acquire({{"CPU", cpus}})) {
            for (auto& [n, parts] : *again) w->second.allocation[n] = parts;
          }
        }
      },
      [=](atoms::kill, const std::string& actor_id, bool no_restart) {
        auto& st = self->state;
        auto a = st.actors.find(actor_id);
        if (a == st.actors.end()) {
          // Hosted elsewhere: the node that has it kills it.
          auto send_to = [self, actor_id, no_restart](const std::string& node) {
            auto p = self->state.peers.find(node);
            if (p != self->state.peers.end()) {
              self->send(p->second.raylet, atoms::kill::value, actor_id, no_restart);
            }
          };
          if (auto home = st.actor_home.find(actor_id); home != st.actor_home.end()) {
            send_to(home->second);
          } else if (!st.peers.empty()) {
            self->request(st.gcs, std::chrono::seconds(30), atoms::actor_get::value, actor_id)
                .then(safe::Guard(self, "raylet", [send_to](const std::string& bytes) {
                  if (!bytes.empty()) send_to(proto::Decode<proto::ActorInfo>(bytes).node_id);
                }),
                      [](caf::error& err) {
                        RAY_LOG(Warning) << "kill: the GCS did not say where the actor is: "
                                         << net::Describe(err);
                      });
          }
          return;
        }
        if (a->second.state == ActorState::kDead) return;
        std::string worker_id = a->second.worker_id;
        auto w = st.workers.find(worker_id);
        if (w != st.workers.end()) {
          // Its death is handled here, not when the process is found gone, so that
          // calls submitted after Kill wait for the restarted instance.
          w->second.exiting = true;
          st.launcher->Signal(w->second.pid, SIGKILL);
        }
        if (no_restart) {
          MarkActorDead(self, actor_id, "it was killed by ray::Kill");
        } else {
          OnActorWorkerLost(self, actor_id, "it was killed by ray::Kill(no_restart=false)");
        }
      },
      [=](exited_atom, int32_t pid, int32_t status) {
        auto& st = self->state;
        auto it = st.worker_by_pid.find(pid);
        if (it == st.worker_by_pid.end()) return;
        std::string worker_id = it->second;
        st.worker_by_pid.erase(it);
        auto w = st.workers.find(worker_id);
        // Killed from outside (SIGKILL, SIGTERM: the OOM killer, an operator)
        // says nothing about whether workers can start; a crash or an exit does.
        const bool killed = WIFSIGNALED(status) &&
                            (WTERMSIG(status) == SIGKILL || WTERMSIG(status) == SIGTERM);
        if (w != st.workers.end() && !w->second.handle && !w->second.dead && !killed) {
          ++st.startup_failures;
          RAY_LOG(Warning) << "worker pid " << pid << " " << ExitReason(status)
                          << " before connecting; see " << st.options.session_dir
                          << "/logs/worker-" << pid << ".err";
        }
        HandleWorkerDeath(self, worker_id, ExitReason(status));
        st.workers.erase(worker_id);
        Schedule(self);
      },
      [=](atoms::stats) -> std::string {
        auto& st = self->state;
        int alive = 0;
        for (auto& [wid, w] : st.workers) alive += w.dead ? 0 : 1;
        return "workers=" + std::to_string(alive) + " tasks_done=" +
               std::to_string(st.tasks_done) + " queued=" + std::to_string(st.ready.size()) +
               " actors=" + std::to_string(st.actors.size()) +
               " peers=" + std::to_string(st.peers.size()) +
               " rebuilds=" + std::to_string(st.rebuilds) +
               " cpu_available=" + std::to_string(st.pool.Available("CPU")) +
               // This process's, since it started (net.h, safe_behavior.h).
               " refused_connections=" + std::to_string(net::RejectedConnections()) +
               " dropped_messages=" + std::to_string(safe::Dropped());
      },
      [=](atoms::shutdown) {
        if (!safe::FromThisProcess(self)) throw std::runtime_error("shutdown from another process");
        self->state.shutting_down = true;
        FlushReleases(self);
        self->state.launcher->KillAll();
        self->quit();
      });
}

}  // namespace

caf::actor Spawn(caf::actor_system& system, RayletOptions options, caf::actor gcs,
                 caf::actor object_manager) {
  return system.spawn(Behavior, std::move(options), std::move(gcs), std::move(object_manager));
}

void SetAddress(const caf::actor& raylet, const std::string& host, uint16_t port) {
  caf::anon_send(raylet, address_atom::value, host, port);
}

void StartHeartbeats(const caf::actor& raylet, const std::string& record) {
  caf::anon_send(raylet, hb_start_atom::value, record);
}

}  // namespace ray::raylet
