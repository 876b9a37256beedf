// The raylet actor: its behavior hands each message to the shell or the core.
#include "actors/raylet/raylet.h"

#include "actors/raylet/raylet_shell.h"

namespace ray::raylet {
namespace {

using namespace shell;

caf::behavior Behavior(Self self, RayletOptions options, caf::actor gcs, caf::actor om) {
  self->state.shell = std::make_unique<Shell>(self, std::move(options), std::move(gcs),
                                              std::move(om));
  Shell* sh = self->state.shell.get();
  Core* core = &sh->core();
  self->set_down_handler([sh](const caf::down_msg& msg) { sh->OnDown(msg); });
  return safe::Implement<RayletActor>(
      self, "raylet",
      [=](address_atom, const std::string& host, uint16_t port) {
        core->SetAddress(host + ":" + std::to_string(port));
      },
      [=](atoms::hello, const std::string& bytes, const caf::actor& client) {
        return sh->Hello(bytes, client);
      },
      [=](timer_atom, uint64_t id) {
        safe::RequireLocal(self);
        sh->Fire(id);
      },
      [=](hb_start_atom, const std::string& record) { sh->StartHeartbeats(record); },
      [=](hb_tick_atom) { sh->Heartbeat(); },
      [=](reconnect_atom) { sh->Reconnect(); },
      [=](gcs_back_atom, const caf::actor& gcs) { sh->OnGcsBack(gcs); },
      [=](atoms::node_add, const std::string& bytes, const caf::actor& raylet,
          const caf::actor& om) { sh->AddPeer(bytes, raylet, om); },
      [=](atoms::rebuild, const std::string& object_id, const std::string& why) {
        core->Rebuild(object_id, why);
      },
      [=](atoms::node_del, const std::string& node_id, const std::string& reason) {
        core->OnNodeRemoved(node_id, reason);
      },
      [=](atoms::fwd_done, const std::string& task_id, const std::string& entries) {
        core->OnPeerResults(task_id, proto::Decode<std::vector<proto::ObjectEntry>>(entries));
      },
      [=](atoms::job_end, const std::string& job_id) { sh->EndJob(job_id); },
      [=](atoms::ev_add, uint32_t count, const std::string& batch) {
        return sh->AddEvents(count, batch);
      },
      [=](atoms::ev_flush) { return sh->FlushEvents(); },
      [=](atoms::metrics, const std::string& client, const std::string& m) { sh->AddMetrics(client, m); },
      [=](atoms::bundle, const std::string& op, const std::string& group, int32_t i,
          const std::string& b) { return sh->Bundle(op, group, i, b); },
      [=](atoms::observe, const std::string& kind, const std::string& a) { return sh->Observe(kind, a); },
      [=](stack_done_atom, uint64_t token, const std::string& json_text) {
        safe::RequireLocal(self);
        sh->OnStacks(token, json_text);
      },
      [=](atoms::gcs_of, const std::string&) -> caf::result<std::string, caf::actor> {
        // The connection's auth handshake (net.h) already proved the token.
        return {std::string(), caf::actor_cast<caf::actor>(sh->gcs())};
      },
      [=](atoms::submit, const std::string& bytes) {
        core->Submit(proto::Decode<proto::TaskSpec>(bytes));
      },
      // After any earlier submit of the same client (see ClusterRuntime).
      [=](atoms::release, const std::string& id, bool may_free) { core->OnRelease(id, may_free); },
      [=](atoms::create, const std::string& id, uint64_t size) -> caf::result<std::string> {
        // Through here so that it follows the client's earlier releases, whose
        // memory it can then reuse.
        self->delegate(sh->om(), atoms::create::value, id, size);
        return caf::delegated<std::string>();
      },
      [=](atoms::done, const std::string& bytes) {
        core->HandleDone(proto::Decode<proto::ExecReply>(bytes));
      },
      [=](atoms::actor_ep, const std::string& actor_id) { return sh->RouteToActor(actor_id); },
      [=](atoms::blocked, const std::string& worker_id) { core->OnWorkerBlocked(worker_id); },
      [=](atoms::unblocked, const std::string& worker_id) { core->OnWorkerUnblocked(worker_id); },
      [=](atoms::kill, const std::string& actor_id, bool no_restart) {
        core->Kill(actor_id, no_restart);
      },
      [=](exited_atom, int32_t pid, int32_t status) { sh->OnWorkerExited(pid, status); },
      [=](atoms::stats) -> std::string { return sh->Stats(); },
      [=](atoms::shutdown) {
        safe::RequireLocal(self);
        core->Shutdown();
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
