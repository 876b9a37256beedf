// The raylet's CAF shell: what its handlers do beyond calling the core.
#include "actors/raylet/raylet_shell.h"

#include <cstdlib>

#include <caf/io/all.hpp>

#include "actors/common/address.h"
#include "actors/common/logging.h"

namespace ray::raylet::shell {

void Shell::ConnectToPeer(const std::string& address) {
  std::string host;
  uint16_t port = 0;
  if (!SplitHostPort(address, &host, &port)) return;
  self_->system().spawn<caf::detached + caf::hidden>([host, port](caf::blocking_actor* b) {
    std::string why;
    if (!net::Connect(b->system(), host, port, std::chrono::seconds(10), &why)) {
      RAY_LOG(Warning) << "no direct connection to a peer node (its traffic goes through the head): "
                       << why;
    }
  });
}

caf::result<std::string, caf::actor, caf::actor> Shell::Hello(const std::string& bytes,
                                                              const caf::actor& client) {
  auto hello = proto::Decode<proto::Hello>(bytes);
  const RayletOptions& o = core_->state().options;
  proto::NodeInfo info{o.node_id, hello.job_id, o.shm_name, o.shm_directory, o.session_dir,
                       o.resources};
  if (!hello.is_driver) {  // a worker this raylet started
    if (!client) return caf::make_error(caf::sec::unexpected_message);
    auto job = core_->OnWorkerHello(hello.client_id);
    if (!job.ok()) return caf::make_error(caf::sec::unexpected_message);
    workers_[hello.client_id] = caf::actor_cast<worker::WorkerActor>(client);
    self_->monitor(client);
    info.job_id = *job;
    return {proto::Encode(info), caf::actor_cast<caf::actor>(om_), caf::actor_cast<caf::actor>(gcs_)};
  }
  auto promise = self_->make_response_promise<std::string, caf::actor, caf::actor>();
  self_->request(gcs_, std::chrono::seconds(30), atoms::job::value)
      .then(safe::Guard(self_, "raylet",
                        [this, hello, client, info, promise](const std::string& job_id) mutable {
                          core_->AddDriver(job_id, hello);
                          if (client) {
                            drivers_[hello.client_id] = client;
                            job_drivers_[job_id] = client;
                            self_->monitor(client);
                          }
                          info.job_id = job_id;
                          promise.deliver(proto::Encode(info), caf::actor_cast<caf::actor>(om_),
                                          caf::actor_cast<caf::actor>(gcs_));
                        }),
            [promise](caf::error& err) mutable { promise.deliver(err); });
  return promise;
}

void Shell::OnDown(const caf::down_msg& msg) {
  if (gcs_ && msg.source == gcs_.address() && !head_.empty()) {
    if (!core_->state().gcs_lost) {
      core_->OnGcsLost();
      RAY_LOG(Warning) << "lost the GCS (head " << head_ << "); reconnecting until it is back";
      self_->send(self_, reconnect_atom::value);
    }
    return;
  }
  for (auto it = workers_.begin(); it != workers_.end(); ++it) {
    if (it->second.address() != msg.source) continue;
    std::string worker_id = it->first;
    workers_.erase(it);
    core_->OnWorkerConnectionLost(worker_id);
    return;
  }
  for (auto it = job_drivers_.begin(); it != job_drivers_.end(); ++it) {
    if (it->second.address() != msg.source) continue;
    std::string job_id = it->first;
    job_drivers_.erase(it);
    std::vector<std::string> clients;
    for (auto d = drivers_.begin(); d != drivers_.end();) {
      if (d->second.address() == msg.source) {
        clients.push_back(d->first);
        d = drivers_.erase(d);
      } else {
        ++d;
      }
    }
    for (const auto& client : clients) metrics_.Retire(client);
    core_->OnDriverGone(job_id, clients);
    return;
  }
}

void Shell::StartHeartbeats(const std::string& record) {
  record_ = record;
  if (!head_.empty()) self_->monitor(gcs_);
  self_->send(self_, hb_tick_atom::value);
}

void Shell::Heartbeat() {
  if (Now() - last_events_flush_ >= std::chrono::seconds(1)) {
    last_events_flush_ = Now();
    FlushOwnEvents();
  }
  auto again = [this] {
    self_->delayed_send(self_, std::chrono::milliseconds(heartbeat_ms_), hb_tick_atom::value);
  };
  if (core_->state().gcs_lost) {
    again();
    return;
  }
  self_->request(gcs_, std::chrono::milliseconds(4 * heartbeat_ms_ + 1000),
                 atoms::heartbeat::value, core_->state().options.node_id,
                 proto::Encode(core_->AvailableResources()))
      .then(safe::Guard(self_, "raylet",
                        [this, again](const std::string& reply) {
                          core_->OnHeartbeatReply(
                              proto::Decode<std::vector<proto::NodeRecord>>(reply));
                          again();
                        }),
            safe::Guard(self_, "raylet", [this, again](caf::error& err) {
              if (net::Is(err, Errc::kRemovedFromCluster)) {
                RAY_LOG(Error) << "the GCS removed this node from the cluster ("
                               << net::Describe(err) << "); stopping";
                if (exit_on_removal_) kill(getpid(), SIGTERM);
                return;
              }
              RAY_LOG(Warning) << "heartbeat to the GCS failed: " << net::Describe(err);
              again();
            }));
}

void Shell::Reconnect() {
  // Blocking connects run in a detached actor, never in the raylet.
  caf::actor me = caf::actor_cast<caf::actor>(self_);
  std::string host;
  uint16_t port = 0;
  SplitHostPort(head_, &host, &port);  // checked when the node joined (node::Start)
  self_->system().spawn<caf::detached>([me, host, port](caf::blocking_actor* b) {
    std::string why;
    auto raylet = net::Connect(b->system(), host, port, std::chrono::seconds(5), &why);
    caf::actor gcs;
    if (raylet) {
      b->request(caf::actor_cast<RayletActor>(raylet), std::chrono::seconds(5),
                 atoms::gcs_of::value, std::string())
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
}

void Shell::OnGcsBack(const caf::actor& gcs) {
  if (!core_->state().gcs_lost) return;
  auto rejoined = [this, gcs] {
    gcs_ = caf::actor_cast<gcs::GcsActor>(gcs);
    self_->monitor(gcs);
    self_->send(om_, atoms::set_gcs::value, gcs);
    RAY_LOG(Info) << "rejoined the cluster at " << head_;
    core_->OnGcsBack();
  };
  self_->request(caf::actor_cast<gcs::GcsActor>(gcs), std::chrono::seconds(10),
                 atoms::node_reg::value, record_, caf::actor_cast<caf::actor>(self_),
                 caf::actor_cast<caf::actor>(om_))
      .then(safe::Guard(self_, "raylet", [rejoined](const std::string&) { rejoined(); }),
            safe::Guard(self_, "raylet", [this, rejoined](caf::error& err) {
              // A GCS restarted on its tables may still list this node.
              if (net::Is(err, Errc::kAlreadyExists)) return rejoined();
              if (err.category() == net::kErrorCategory) {
                RAY_LOG(Error) << "the restarted GCS refused this node: " << net::Describe(err);
              }
              self_->delayed_send(self_, std::chrono::milliseconds(500), reconnect_atom::value);
            }));
}

void Shell::AddPeer(const std::string& bytes, const caf::actor& raylet, const caf::actor& om) {
  auto rec = proto::Decode<proto::NodeRecord>(bytes);
  if (rec.node_id == core_->state().options.node_id) return;
  self_->send(om_, atoms::node_add::value, rec.node_id, om);
  peers_[rec.node_id] = PeerHandles{caf::actor_cast<RayletActor>(raylet),
                                    caf::actor_cast<object_manager::ObjectManagerActor>(om)};
  core_->OnPeerAdded(rec);
}

caf::result<int32_t, caf::actor, std::string> Shell::RouteToActor(const std::string& actor_id) {
  ActorRouteAnswer answer = core_->RouteToActor(actor_id);
  // A handle is always sent (CAF serializes it); only kDirect's is used.
  caf::actor worker = caf::actor_cast<caf::actor>(self_);
  if (answer.route == proto::ActorRoute::kDirect) {
    auto w = workers_.find(answer.worker_id);
    if (w == workers_.end()) {
      answer = {proto::ActorRoute::kLater, {}};
    } else {
      worker = caf::actor_cast<caf::actor>(w->second);
    }
  }
  return {static_cast<int32_t>(answer.route), std::move(worker), answer.worker_id};
}

}  // namespace ray::raylet::shell
