#include "actors/worker/worker.h"

#include "actors/common/atoms.h"

namespace ray::worker {
namespace {

using raylet_atom = caf::atom_constant<caf::atom("raylet")>;

struct State {
  std::shared_ptr<TaskExecutor> executor;
  caf::actor raylet;
  static inline const char* name = "worker";
};

caf::behavior Behavior(caf::stateful_actor<State>* self, std::shared_ptr<TaskExecutor> executor) {
  self->state.executor = std::move(executor);
  self->set_down_handler([=](const caf::down_msg&) { self->quit(); });
  return {
      [=](raylet_atom, const caf::actor& raylet) {
        self->state.raylet = raylet;
        self->monitor(raylet);
      },
      [=](atoms::exec, const std::string& bytes) {
        auto request = proto::Decode<proto::ExecRequest>(bytes);
        proto::ExecReply reply = self->state.executor->Execute(request);
        self->send(self->state.raylet, atoms::done::value, proto::Encode(reply));
        if (reply.exiting) self->quit();
      },
      [=](atoms::exit_now) { self->quit(); },
  };
}

}  // namespace

caf::actor Spawn(caf::actor_system& system, std::shared_ptr<TaskExecutor> executor,
                 caf::actor raylet) {
  auto worker = system.spawn<caf::detached>(Behavior, std::move(executor));
  caf::anon_send(worker, raylet_atom::value, raylet);
  return worker;
}

}  // namespace ray::worker
