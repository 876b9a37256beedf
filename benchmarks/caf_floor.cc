// What CAF messaging itself costs between two processes on this machine: a
// plain request/response over the middleman from a scoped (blocking) actor,
// with the scheduler policy the runtime uses, and nothing else (no raylet, no
// task specs). A 1:1 synchronous actor call is two such hops, through the
// raylet; it gets near this figure only by using CAF differently (results
// pushed to an event-based actor and a condition variable, not a blocking
// receive), so it is a scale for the sync figures, not a hard floor.
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

namespace {

caf::behavior Pong(caf::event_based_actor*) {
  return {[](int x) { return x + 1; }};
}

void Configure(caf::actor_system_config& config) {
  config.load<caf::io::middleman>();
  config.set("scheduler.policy", caf::atom("sharing"));  // as ConfigureActorSystem
  config.set("logger.verbosity", caf::atom("quiet"));
}

}  // namespace

/// Round trips per second for `trials` trials of `seconds` each, printed one
/// per line; returns a process exit code.
int CafFloorChild(int trials, double seconds) {
  int ports[2];
  if (pipe(ports) != 0) return 1;
  pid_t server = fork();
  if (server == 0) {
    close(ports[0]);
    caf::actor_system_config config;
    Configure(config);
    caf::actor_system system{config};
    auto pong = system.spawn(Pong);
    auto port = system.middleman().publish(pong, 0, "127.0.0.1");
    uint16_t p = port ? *port : 0;
    if (write(ports[1], &p, sizeof(p)) != sizeof(p)) _exit(1);
    close(ports[1]);
    pause();  // until the client kills it
    _exit(0);
  }
  close(ports[1]);
  uint16_t port = 0;
  if (read(ports[0], &port, sizeof(port)) != sizeof(port) || port == 0) return 1;
  close(ports[0]);
  int rc = 0;
  {
    caf::actor_system_config config;
    Configure(config);
    caf::actor_system system{config};
    auto remote = system.middleman().remote_actor("127.0.0.1", port);
    if (!remote) {
      rc = 1;
    } else {
      caf::scoped_actor self{system};
      for (int t = 0; t < trials && rc == 0; ++t) {
        int n = 0;
        auto start = std::chrono::steady_clock::now();
        double elapsed = 0;
        do {
          self->request(*remote, caf::infinite, n)
              .receive([&](int) {}, [&](caf::error&) { rc = 1; });
          ++n;
          elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        } while (elapsed < seconds && rc == 0);
        std::printf("%f\n", n / elapsed);
        std::fflush(stdout);
      }
    }
  }
  kill(server, SIGKILL);
  waitpid(server, nullptr, 0);
  return rc;
}
