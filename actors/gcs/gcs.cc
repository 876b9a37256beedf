// The GCS actor: a CAF shell over gcs::Core. Each handler decodes its
// message, calls the Core, and replies; what the Core sends on its own goes
// through ShellOutbox, which maps node ids, subscriber ids and code tokens
// to the CAF handles and promises kept here.
#include "actors/gcs/gcs.h"

#include <nlohmann/json.hpp>

#include <map>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actors/common/ids.h"
#include "actors/common/logging.h"
#include "actors/common/protocol.h"
#include "actors/gcs/gcs_core.h"
#include "actors/interfaces/gcs.h"
#include "actors/interfaces/object_manager.h"
#include "actors/interfaces/raylet.h"
#include "actors/net/atoms.h"
#include "actors/net/errors.h"
#include "actors/net/net.h"
#include "actors/net/safe_behavior.h"

namespace ray::gcs {
namespace {


/// Where to reach a member node.
struct Link {
  raylet::RayletActor raylet;
  caf::actor om;  // only passed on, in node_add
};

struct State;
using Self = caf::stateful_actor<State>*;

class ShellOutbox final : public Outbox {
 public:
  explicit ShellOutbox(Self self) : self_(self) {}
  void NodeAdded(const std::string& to, const proto::NodeRecord& added) override;
  void NodeRemoved(const std::string& to, const std::string& removed,
                   const std::string& reason) override;
  void JobEnded(const std::string& to, const std::string& job_id) override;
  void Located(SubscriberId to, const std::vector<proto::Location>& found) override;
  void CodeAnswer(CodeToken token, const std::string& package) override;
  void Prepare(const std::string& node, const std::string& group, int index,
               const proto::Bundle& bundle, std::function<void(bool)> done) override;
  void Commit(const std::string& node, const std::string& group, int index) override;
  void Return(const std::string& node, const std::string& group, int index) override;

 private:
  /// The raylet of member `node_id`; null (and logged: a bug) when unknown.
  raylet::RayletActor Raylet(const std::string& node_id) const;
  Self self_;
};

struct State {
  std::shared_ptr<storage::MetaStore> store;
  SteadyClock clock;
  std::unique_ptr<ShellOutbox> outbox;
  std::unique_ptr<Core> core;  // declared last: it points at the members above
  // The handles of the Core's members, by node id (the same keys at all times
  // but during a registration, which adds its node first).
  std::map<std::string, Link> links;
  std::map<caf::actor, SubscriberId> subscriber_ids;
  std::unordered_map<SubscriberId, object_manager::ObjectManagerActor> subscribers;
  std::unordered_map<CodeToken, caf::response_promise> code_promises;
  CodeToken last_token = 0;
  bool checking = false;
  std::string webui_url;  // the head's dashboard; empty when none runs
  static inline const char* name = "gcs";
};

raylet::RayletActor ShellOutbox::Raylet(const std::string& node_id) const {
  auto it = self_->state.links.find(node_id);
  if (it != self_->state.links.end()) return it->second.raylet;
  RAY_LOG(Error) << "gcs: no raylet known for member node " << ids::Hex(node_id);
  return raylet::RayletActor();
}

void ShellOutbox::NodeAdded(const std::string& to, const proto::NodeRecord& added) {
  auto& links = self_->state.links;
  auto about = links.find(added.node_id);
  raylet::RayletActor dest = Raylet(to);
  if (!dest || about == links.end()) return;
  self_->send(dest, atoms::node_add::value, proto::Encode(added),
              caf::actor_cast<caf::actor>(about->second.raylet), about->second.om);
}

void ShellOutbox::NodeRemoved(const std::string& to, const std::string& removed,
                              const std::string& reason) {
  if (auto dest = Raylet(to)) self_->send(dest, atoms::node_del::value, removed, reason);
}

void ShellOutbox::JobEnded(const std::string& to, const std::string& job_id) {
  if (auto dest = Raylet(to)) self_->send(dest, atoms::job_end::value, job_id);
}

void ShellOutbox::Located(SubscriberId to, const std::vector<proto::Location>& found) {
  auto it = self_->state.subscribers.find(to);
  if (it == self_->state.subscribers.end()) return;
  self_->send(it->second, atoms::located::value, proto::Encode(found));
}

void ShellOutbox::CodeAnswer(CodeToken token, const std::string& package) {
  auto& promises = self_->state.code_promises;
  auto it = promises.find(token);
  if (it == promises.end()) return;
  it->second.deliver(package);
  promises.erase(it);
}

// Placement group bundles: the raylets know groups by their hex ids (the
// resources' names carry them).
void ShellOutbox::Prepare(const std::string& node, const std::string& group, int index,
                          const proto::Bundle& bundle, std::function<void(bool)> done) {
  raylet::RayletActor dest = Raylet(node);
  if (!dest) return done(false);
  self_->request(dest, std::chrono::seconds(10), atoms::bundle::value, std::string("prepare"),
                 ids::Hex(group), static_cast<int32_t>(index), proto::Encode(bundle))
      .then([done](bool ok) { done(ok); }, [done](caf::error&) { done(false); });
}

void ShellOutbox::Commit(const std::string& node, const std::string& group, int index) {
  if (auto dest = Raylet(node)) {
    self_->request(dest, std::chrono::seconds(10), atoms::bundle::value, std::string("commit"),
                   ids::Hex(group), static_cast<int32_t>(index), std::string())
        .then([](bool) {}, [](caf::error&) {});
  }
}

void ShellOutbox::Return(const std::string& node, const std::string& group, int index) {
  if (auto dest = Raylet(node)) {
    self_->request(dest, std::chrono::seconds(10), atoms::bundle::value, std::string("return"),
                   ids::Hex(group), static_cast<int32_t>(index), std::string())
        .then([](bool) {}, [](caf::error&) {});
  }
}

/// (pg, op, payload): create (PlacementGroupInfo -> id), remove (id -> ""),
/// get (id -> PlacementGroupInfo or ""), named ([namespace, name] -> the
/// same), list (-> vector<PlacementGroupInfo>).
caf::result<std::string> Placement(Self self, const std::string& op, const std::string& payload) {
  PlacementGroups& groups = self->state.core->placement();
  if (op == "create") {
    auto id = groups.Create(proto::Decode<proto::PlacementGroupInfo>(payload));
    if (!id.ok()) return net::MakeError(id.status());
    return *id;
  }
  if (op == "remove") {
    Status removed = groups.Remove(payload);
    if (!removed.ok()) return net::MakeError(removed);
    return std::string();
  }
  std::optional<proto::PlacementGroupInfo> found;
  if (op == "get") {
    found = groups.Get(payload);
  } else if (op == "named") {
    auto [ns, name] = proto::Decode<std::pair<std::string, std::string>>(payload);
    found = groups.GetByName(ns, name);
  } else if (op == "list") {
    return proto::Encode(groups.All());
  } else {
    return net::MakeError(Status(Errc::kInvalidArgument, "unknown placement group op " + op));
  }
  return found ? proto::Encode(*found) : std::string();
}

/// The id the Core knows object manager `om` by (the same for each handle).
SubscriberId SubscriberOf(State& st, const caf::actor& om) {
  auto [it, fresh] = st.subscriber_ids.try_emplace(om, st.subscriber_ids.size() + 1);
  if (fresh) st.subscribers.emplace(it->second, caf::actor_cast<object_manager::ObjectManagerActor>(om));
  return it->second;
}

/// The answer to a request whose store write failed: an error; nothing to a
/// plain message (an error sent as a message would reach the sender's error handler).
template <class T>
caf::result<T> Failure(Self self, const Status& status) {
  auto* current = self->current_mailbox_element();
  if (current && current->mid.is_request()) {
    return net::MakeError(status);
  }
  return caf::delegated<T>();
}

std::vector<std::string> DecodeIds(const std::string& bytes) {
  return proto::Decode<std::vector<std::string>>(bytes);
}

void OnDown(Self self, const caf::down_msg& msg) {
  auto& st = self->state;
  for (const auto& [id, link] : st.links) {
    if (link.raylet.address() != msg.source) continue;
    std::string node_id = id;
    st.core->NodeDisconnected(node_id);
    st.links.erase(node_id);
    return;
  }
}

/// "" when admitted; a refusal is an error (kAlreadyExists, kResourceExhausted, ...).
caf::result<std::string> RegisterNode(Self self, const std::string& bytes, const caf::actor& raylet,
                                      const caf::actor& om) {
  auto& st = self->state;
  auto record = proto::Decode<proto::NodeRecord>(bytes);
  // The connection's auth handshake (net.h) already proved the token.
  bool reachable = raylet && om;
  // The Core announces the node while admitting it, so its handles go in
  // first; an id already present is a member, which the Core refuses.
  bool added = reachable && st.links.emplace(record.node_id, Link{caf::actor_cast<raylet::RayletActor>(raylet), om})
                                 .second;
  Status admitted = st.core->RegisterNode(record, reachable);
  if (!admitted.ok()) {
    if (added) st.links.erase(record.node_id);
    return net::MakeError(admitted);
  }
  self->monitor(raylet);
  if (!st.checking) {
    st.checking = true;
    self->send(self, check_atom::value);
  }
  return "";
}

void CheckHeartbeats(Self self) {
  auto& st = self->state;
  for (const auto& id : st.core->CheckHeartbeats()) {
    auto it = st.links.find(id);
    if (it == st.links.end()) continue;
    self->demonitor(caf::actor_cast<caf::actor>(it->second.raylet));
    st.links.erase(it);
  }
  self->delayed_send(self, st.core->heartbeat_check_interval(), check_atom::value);
}

/// Jobs, shipped code, actors and stats.
auto TableHandlers(Self self) {
  return std::make_tuple(
      [=](atoms::job) -> caf::result<std::string> {
        auto id = self->state.core->NewJobId();
        if (!id.ok()) return Failure<std::string>(self, id.status());
        return *id;
      },
      [=](atoms::job_reg, const std::string& bytes) {
        self->state.core->RegisterJob(proto::Decode<proto::JobInfo>(bytes));
      },
      [=](atoms::job_info, const std::string& job_id) -> std::string {
        return self->state.core->GetJobInfo(job_id);
      },
      [=](atoms::job_end, const std::string& job_id) { self->state.core->EndJob(job_id); },
      [=](atoms::code_put, const std::string& job_id, const std::string& package) {
        return self->state.core->PutCode(job_id, package).ok();
      },
      [=](atoms::code_get, const std::string& job_id) -> caf::result<std::string> {
        auto& st = self->state;
        CodeToken token = ++st.last_token;
        if (auto now = st.core->GetCode(job_id, token)) return *now;
        st.code_promises.emplace(token, self->make_response_promise());
        self->delayed_send(self, Core::kCodeWait, code_timeout_atom::value);
        return caf::delegated<std::string>();
      },
      [=](code_timeout_atom) {
        safe::RequireLocal(self);
        self->state.core->ExpireCodeWaits();
      },
      [=](atoms::reserve, const std::string& name, const std::string& actor_id)
          -> caf::result<bool> {
        auto reserved = self->state.core->ReserveName(name, actor_id);
        if (!reserved.ok()) return Failure<bool>(self, reserved.status());
        return *reserved;
      },
      [=](atoms::lookup, const std::string& name) -> std::string {
        return self->state.core->LookupName(name);
      },
      [=](atoms::actor_upd, const std::string& bytes) {
        self->state.core->UpdateActor(proto::Decode<proto::ActorInfo>(bytes));
      },
      [=](atoms::actor_get, const std::string& actor_id) -> std::string {
        return self->state.core->GetActor(actor_id);
      },
      [=](atoms::stats) -> std::string { return self->state.core->GetStats().ToString(); });
}

/// Membership and heartbeats.
auto NodeHandlers(Self self) {
  return std::make_tuple(
      [=](atoms::node_reg, const std::string& bytes, const caf::actor& raylet,
          const caf::actor& om) { return RegisterNode(self, bytes, raylet, om); },
      [=](atoms::heartbeat, const std::string& node_id,
          const std::string& available) -> caf::result<std::string> {
        auto nodes = self->state.core->Heartbeat(
            node_id, proto::Decode<std::map<std::string, double>>(available));
        // kRemovedFromCluster: the node was declared dead and must not act as a member.
        if (!nodes.ok()) return net::MakeError(nodes.status());
        return proto::Encode(*nodes);
      },
      [=](check_atom) {
        safe::RequireLocal(self);
        CheckHeartbeats(self);
      },
      [=](atoms::nodes) -> std::string { return proto::Encode(self->state.core->Nodes()); });
}

/// The object directory and the lineage log.
auto ObjectHandlers(Self self) {
  return std::make_tuple(
      [=](atoms::loc_add, const std::string& node_id, const std::string& bytes) {
        self->state.core->AddLocations(node_id, proto::Decode<std::vector<proto::Location>>(bytes));
      },
      [=](atoms::loc_del, const std::string& node_id, const std::string& bytes,
          const std::string& why) {
        self->state.core->RemoveLocations(node_id, DecodeIds(bytes), why);
      },
      [=](atoms::locate, const std::string& bytes, const caf::actor& om) {
        auto ids = DecodeIds(bytes);
        self->state.core->Locate(ids, SubscriberOf(self->state, om));
      },
      [=](atoms::rebuild_sub, const std::string& bytes, const caf::actor& om) {
        auto ids = DecodeIds(bytes);
        self->state.core->Resubscribe(ids, SubscriberOf(self->state, om));
      },
      [=](atoms::locs_now, const std::string& bytes) -> std::string {
        return proto::Encode(self->state.core->LocationsNow(DecodeIds(bytes)));
      },
      [=](atoms::lineage, const std::string& bytes) {
        self->state.core->AppendLineage(proto::Decode<std::vector<proto::TaskSpec>>(bytes));
      },
      [=](atoms::released, const std::string& bytes) {
        self->state.core->ReleaseObjects(DecodeIds(bytes));
      },
      [=](atoms::lineage_get, const std::string& object_id) -> std::string {
        auto spec = self->state.core->LineageOf(object_id);
        return spec ? proto::Encode(*spec) : std::string();
      });
}

/// An observe query waiting for the nodes' reports.
struct Gather {
  caf::response_promise promise;
  std::string kind;
  std::vector<Core::NodeReport> reports;
  size_t pending = 0;
};

void Collected(Self self, const std::shared_ptr<Gather>& gather, Core::NodeReport report) {
  gather->reports.push_back(std::move(report));
  if (--gather->pending > 0) return;
  // This runs in a response handler, outside the guarded behavior: a node's
  // malformed report must not take the GCS down.
  try {
    gather->promise.deliver(self->state.core->Report(gather->kind, gather->reports));
  } catch (const std::exception& e) {
    gather->promise.deliver(net::MakeError(
        Status(Errc::kInvalidArgument, std::string("a node's report is malformed: ") + e.what())));
  }
}

/// Asks every member's raylet (or the one args name) and answers with the
/// Core's report of what came back; a node that does not answer in time is
/// reported as such.
caf::result<std::string> Observe(Self self, const std::string& kind, const std::string& args) {
  auto& st = self->state;
  if (kind == "info") {
    // What the GCS itself knows, without asking the nodes (ray::GetWebuiUrl).
    return nlohmann::json{{"webui_url", st.webui_url}}.dump();
  }
  std::vector<std::string> targets = st.core->ObserveTargets(args);
  if (targets.empty()) return st.core->Report(kind, {});
  auto gather = std::make_shared<Gather>();
  gather->promise = self->make_response_promise();
  gather->kind = kind;
  gather->pending = targets.size();
  // gdb takes a few seconds per process; the other reports are quick.
  auto timeout = kind == "stack" ? std::chrono::seconds(120) : std::chrono::seconds(10);
  for (const auto& id : targets) {
    auto link = st.links.find(id);
    if (link == st.links.end()) {
      Collected(self, gather, {id, "", "not connected"});
      continue;
    }
    self->request(link->second.raylet, timeout, atoms::observe::value, kind, args)
        .then([=](std::string& json) { Collected(self, gather, {id, std::move(json), ""}); },
              [=](caf::error& e) { Collected(self, gather, {id, "", net::Describe(e)}); });
  }
  return caf::delegated<std::string>();
}

/// Profile events and the cluster queries of the CLI (and the dashboard).
auto ObserveHandlers(Self self) {
  return std::make_tuple(
      [=](atoms::ev_add, const std::string& node_id, uint32_t count, const std::string& batch) {
        self->state.core->AddEvents(node_id, count, batch);
      },
      [=](atoms::ev_get, const std::string& job_id) -> std::string {
        return self->state.core->QueryEvents(job_id);
      },
      [=](atoms::observe, const std::string& kind,
          const std::string& args) -> caf::result<std::string> {
        return Observe(self, kind, args);
      },
      [=](atoms::as_report, const std::string& json) {
        self->state.core->SetAutoscalerReport(json);
      },
      [=](atoms::pg, const std::string& op, const std::string& payload) {
        return Placement(self, op, payload);
      },
      [=](webui_atom, const std::string& url) {
        // Only the head's own process knows where its dashboard listens.
        safe::RequireLocal(self);
        self->state.webui_url = url;
      });
}

caf::behavior Behavior(Self self, std::shared_ptr<storage::MetaStore> store, GcsOptions options) {
  auto& st = self->state;
  st.store = std::move(store);
  st.outbox = std::make_unique<ShellOutbox>(self);
  st.core = std::make_unique<Core>(st.store.get(), st.outbox.get(), &st.clock, options);
  self->set_down_handler([=](const caf::down_msg& msg) { OnDown(self, msg); });
  return std::apply(
      [self](auto... handlers) {
        return safe::Implement<GcsActor>(self, "gcs", std::move(handlers)...);
      },
      std::tuple_cat(TableHandlers(self), NodeHandlers(self), ObjectHandlers(self),
                     ObserveHandlers(self)));
}

}  // namespace

caf::actor Spawn(caf::actor_system& system, std::shared_ptr<storage::MetaStore> store,
                 GcsOptions options) {
  return system.spawn(Behavior, std::move(store), std::move(options));
}

std::string TaskSpecToLineage(const std::string& encoded_spec) {
  auto spec = proto::Decode<proto::TaskSpec>(encoded_spec);
  return storage::EncodeLineageRecord(ToLineageRecord(spec));
}

}  // namespace ray::gcs
