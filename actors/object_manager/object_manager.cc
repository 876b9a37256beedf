// The object manager actor: a shell around Core (om_core.h). Each handler
// decodes its message and calls the Core; the Shell delivers what the Core
// sends (its Outbox) and schedules the Core's timers as messages to itself.
#include "actors/object_manager/object_manager.h"

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actors/common/protocol.h"
#include "actors/net/atoms.h"
#include "actors/net/net.h"
#include "actors/net/safe_behavior.h"
#include "actors/object_manager/om_core.h"
#include "actors/interfaces/gcs.h"
#include "actors/interfaces/object_manager.h"
#include "actors/interfaces/raylet.h"

namespace ray::object_manager {
namespace {


/// CAF 0.17 has no node-down event: a request to a hung peer ends only here.
constexpr auto kTransferTimeout = std::chrono::seconds(60);
/// Most objects one node lists for `ray memory` (the totals count them all).
constexpr size_t kMemoryListLimit = 10000;

std::string EncodeCreate(const StatusOr<int64_t>& offset) {
  proto::CreateReply reply;
  if (offset.ok()) {
    reply.offset = *offset;
  } else {
    reply.error = offset.status().message();
  }
  return proto::Encode(reply);
}

/// The Core's Outbox and Timer, as messages sent by the actor `self_`.
class Shell final : public Outbox, public Timer {
 public:
  Shell(caf::event_based_actor* self, std::string node_id, caf::actor gcs)
      : self_(self), node_id_(std::move(node_id)), gcs_(caf::actor_cast<gcs::GcsActor>(gcs)) {}

  void set_core(Core* core) { core_ = core; }
  void set_gcs(const caf::actor& gcs) { gcs_ = caf::actor_cast<gcs::GcsActor>(gcs); }
  void set_raylet(const caf::actor& raylet) {
    raylet_ = caf::actor_cast<raylet::RayletActor>(raylet);
  }
  void AddPeer(const std::string& node, const caf::actor& om) {
    peers_[node] = caf::actor_cast<ObjectManagerActor>(om);
  }
  void RemovePeer(const std::string& node) { peers_.erase(node); }

  /// A token for a request the Core may park.
  uint64_t NextToken() { return next_token_++; }
  /// The Core parked the current request under `token`: answered later.
  caf::result<std::string> Defer(uint64_t token) {
    promises_[token] = self_->make_response_promise();
    return caf::delegated<std::string>();
  }

  // -- Outbox ------------------------------------------------------------------
  void AddLocations(const std::vector<proto::Location>& locations) override {
    self_->send(gcs_, atoms::loc_add::value, node_id_, proto::Encode(locations));
  }
  void RemoveLocations(const std::string& node, const std::vector<std::string>& ids,
                       const std::string& why) override {
    self_->send(gcs_, atoms::loc_del::value, node, proto::Encode(ids), why);
  }
  void Locate(const std::vector<std::string>& ids) override {
    self_->send(gcs_, atoms::locate::value, proto::Encode(ids),
                caf::actor_cast<caf::actor>(self_));
  }
  void Rebuild(const std::string& id, const std::string& why) override {
    if (raylet_) self_->send(raylet_, atoms::rebuild::value, id, why);
  }
  void RequestPull(const std::string& node, const std::string& id) override;
  void RequestChunk(const std::string& node, const std::string& id, uint64_t offset,
                    uint64_t len) override;
  void EndPull(const std::string& node, const std::string& id) override {
    if (auto* om = Peer(node)) self_->send(*om, atoms::pull_end::value, id, node_id_);
  }
  void RelayRelease(const std::string& node, const std::string& id) override {
    if (auto* om = Peer(node)) self_->send(*om, atoms::release::value, id, true);
  }
  void RelayFree(const std::string& node, const std::string& id) override {
    if (auto* om = Peer(node)) self_->send(*om, atoms::free_obj::value, id, true);
  }
  void AnswerGet(uint64_t token, const proto::GetReply& reply) override {
    Deliver(token, proto::Encode(reply));
  }
  void AnswerWait(uint64_t token, const std::string& ready) override { Deliver(token, ready); }
  void AnswerCreate(uint64_t token, const StatusOr<int64_t>& offset) override {
    Deliver(token, EncodeCreate(offset));
  }

  // -- Timer -------------------------------------------------------------------
  void After(std::chrono::milliseconds delay, Event event) override {
    switch (event.kind) {
      case Kind::kWaiter:
        self_->delayed_send(self_, delay, timeout_atom::value, event.token);
        break;
      case Kind::kCreate:
        self_->delayed_send(self_, delay, create_timeout_atom::value, event.token);
        break;
      case Kind::kFlush:
        self_->delayed_send(self_, delay, flush_atom::value);
        break;
    }
  }

 private:
  const ObjectManagerActor* Peer(const std::string& node) const {
    auto it = peers_.find(node);
    return it == peers_.end() ? nullptr : &it->second;
  }
  void Deliver(uint64_t token, std::string bytes) {
    auto it = promises_.find(token);
    if (it == promises_.end()) return;
    it->second.deliver(std::move(bytes));
    promises_.erase(it);
  }

  caf::event_based_actor* self_;
  Core* core_ = nullptr;
  std::string node_id_;
  gcs::GcsActor gcs_;
  raylet::RayletActor raylet_;  // asked to rebuild lost objects
  std::unordered_map<std::string, ObjectManagerActor> peers_;  // other nodes' object managers
  std::unordered_map<uint64_t, caf::response_promise> promises_;  // parked requests
  uint64_t next_token_ = 1;
};

// Replies run while the actor (and so its Shell and Core) lives: CAF drops
// pending response handlers of a terminated actor.
void Shell::RequestPull(const std::string& node, const std::string& id) {
  const ObjectManagerActor* om = Peer(node);
  if (!om) return;
  self_->request(*om, kTransferTimeout, atoms::pull::value, id, node_id_)
      .then(safe::Guard(self_, "object manager",
                        [this, id, node](const std::string& bytes) {
                          core_->OnPullReply(id, node, proto::Decode<proto::ObjectEntry>(bytes));
                        }),
            [this, id, node](caf::error& err) {
              core_->OnTransferFailed(id, node, net::Describe(err));
            });
}

void Shell::RequestChunk(const std::string& node, const std::string& id, uint64_t offset,
                         uint64_t len) {
  const ObjectManagerActor* om = Peer(node);
  if (!om) return;
  self_->request(*om, kTransferTimeout, atoms::chunk::value, id, offset, len)
      .then(safe::Guard(self_, "object manager",
                        [this, id, node, offset](const std::string& data) {
                          core_->OnChunk(id, node, offset, data);
                        }),
            [this, id, node](caf::error& err) {
              core_->OnTransferFailed(id, node, net::Describe(err));
            });
}

struct State {
  std::unique_ptr<Shell> shell;
  std::unique_ptr<Core> core;  // after shell: destroyed first
  static inline const char* name = "object_manager";
};

using Self = caf::stateful_actor<State>*;

void HandlePut(Self self, const std::string& bytes) {
  Status stored = self->state.core->Put(proto::Decode<proto::ObjectEntry>(bytes));
  // safe::Behavior logs and drops the message (a request gets an error).
  if (!stored.ok()) throw std::runtime_error(stored.message());
}

void HandleSetGcs(Self self, const caf::actor& gcs) {
  if (!safe::FromThisProcess(self)) return;
  self->state.shell->set_gcs(gcs);
  self->state.core->GcsRestarted();
}

void HandleSetRaylet(Self self, const caf::actor& raylet) {
  if (!safe::FromThisProcess(self)) return;
  self->state.shell->set_raylet(raylet);
  self->state.core->set_raylet_attached(static_cast<bool>(raylet));
}

void HandleNodeAdd(Self self, const std::string& node_id, const caf::actor& om) {
  self->state.shell->AddPeer(node_id, om);
  self->state.core->AddPeer(node_id);
}

void HandleNodeDel(Self self, const std::string& node_id) {
  self->state.shell->RemovePeer(node_id);
  self->state.core->RemovePeer(node_id);
}

std::string HandleChunk(Self self, const std::string& id, uint64_t offset, uint64_t len) {
  auto bytes = self->state.core->ReadChunk(id, offset, len);
  return bytes.ok() ? std::move(*bytes) : std::string();  // empty: the requester relocates
}

caf::result<std::string> HandleCreate(Self self, const std::string& id, uint64_t size) {
  uint64_t token = self->state.shell->NextToken();
  if (auto now = self->state.core->Create(token, id, size)) return EncodeCreate(*now);
  return self->state.shell->Defer(token);
}

caf::result<std::string> HandleGet(Self self, const std::string& bytes) {
  auto request = proto::Decode<proto::GetRequest>(bytes);
  uint64_t token = self->state.shell->NextToken();
  if (auto now = self->state.core->Get(token, std::move(request))) return proto::Encode(*now);
  return self->state.shell->Defer(token);
}

caf::result<std::string> HandleWait(Self self, const std::string& bytes) {
  auto request = proto::Decode<proto::WaitRequest>(bytes);
  uint64_t token = self->state.shell->NextToken();
  if (auto now = self->state.core->Wait(token, std::move(request))) return std::move(*now);
  return self->state.shell->Defer(token);
}

caf::behavior Behavior(Self self, std::shared_ptr<storage::ShmStore> store,
                       std::string node_id, caf::actor gcs) {
  auto& st = self->state;
  st.shell = std::make_unique<Shell>(self, node_id, std::move(gcs));
  CoreOptions options;
  options.node_id = std::move(node_id);
  st.core = std::make_unique<Core>(std::move(options), std::move(store), st.shell.get(),
                                   st.shell.get());
  st.shell->set_core(st.core.get());
  auto core = [self]() -> Core& { return *self->state.core; };
  using Kind = Timer::Kind;
  return safe::Implement<ObjectManagerActor>(
      self, "object manager",
      [=](atoms::put, const std::string& bytes) { HandlePut(self, bytes); },
      [=](atoms::set_raylet, const caf::actor& raylet) { HandleSetRaylet(self, raylet); },
      [=](atoms::set_gcs, const caf::actor& gcs) { HandleSetGcs(self, gcs); },
      // -- other nodes ---------------------------------------------------------
      [=](atoms::node_add, const std::string& node_id, const caf::actor& om) {
        HandleNodeAdd(self, node_id, om);
      },
      [=](atoms::node_del, const std::string& node_id) { HandleNodeDel(self, node_id); },
      [=](atoms::located, const std::string& bytes) {
        core().OnLocated(proto::Decode<std::vector<proto::Location>>(bytes));
      },
      [=](atoms::pull, const std::string& id, const std::string& requester) -> std::string {
        return proto::Encode(core().ServePull(id, requester));
      },
      [=](atoms::chunk, const std::string& id, uint64_t offset, uint64_t len) -> std::string {
        return HandleChunk(self, id, offset, len);
      },
      [=](atoms::pull_end, const std::string& id, const std::string& requester) {
        core().EndServedPull(id, requester);
      },
      // -- this node's workers and drivers -------------------------------------
      [=](atoms::create, const std::string& id, uint64_t size) -> caf::result<std::string> {
        return HandleCreate(self, id, size);
      },
      [=](atoms::get, const std::string& bytes) -> caf::result<std::string> {
        return HandleGet(self, bytes);
      },
      [=](atoms::wait, const std::string& bytes) -> caf::result<std::string> {
        return HandleWait(self, bytes);
      },
      [=](atoms::release, const std::string& id) { core().Release(id); },
      [=](atoms::free_obj, const std::string& id) { core().Free(id); },
      // Relayed by the owner's node.
      [=](atoms::free_obj, const std::string& id, bool) { core().FreeRelayed(id); },
      [=](atoms::release, const std::string& id, bool) { core().ReleaseRelayed(id); },
      [=](atoms::unpin, const std::string& client, const std::string& encoded_ids) {
        core().Unpin(client, proto::Decode<std::vector<std::string>>(encoded_ids));
      },
      [=](atoms::gone, const std::string& client) { core().ClientGone(client); },
      [=](atoms::stats) -> std::string { return core().Stats(); },
      [=](atoms::observe, const std::string& kind, const std::string&) -> std::string {
        return core().Report(kind, kMemoryListLimit);
      },
      // -- the Core's timers ---------------------------------------------------
      [=](timeout_atom, uint64_t token) { core().OnTimer({Kind::kWaiter, token}); },
      [=](create_timeout_atom, uint64_t token) { core().OnTimer({Kind::kCreate, token}); },
      [=](flush_atom) { core().OnTimer({Kind::kFlush, 0}); });
}

}  // namespace

caf::actor Spawn(caf::actor_system& system, std::shared_ptr<storage::ShmStore> store,
                 std::string node_id, caf::actor gcs) {
  return system.spawn(Behavior, std::move(store), std::move(node_id), std::move(gcs));
}

}  // namespace ray::object_manager
