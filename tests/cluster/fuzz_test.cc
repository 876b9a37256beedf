// Fuzzing a real node from an authenticated peer: random bytes, corrupted
// and type-confused encodings of the protocol's structs, and wrong arities,
// for every message of actors/net/atoms.h, sent to the raylet, the object
// manager and the GCS as plain messages and as requests. After each round no
// actor died and the node serves a real driver (sample_hello) correctly.
//
// RAY_FUZZ_SEED, RAY_FUZZ_ROUNDS (default 3) and RAY_FUZZ_MESSAGES (per round and actor,
// default 2000) bound the run; CI runs the default, a person the long one:
//   RAY_FUZZ_ROUNDS=20 RAY_FUZZ_MESSAGES=5000 build/bin/fuzz_tests
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "actors/net/atoms.h"
#include "actors/net/net.h"
#include "actors/common/protocol.h"
#include "tests/cluster/node_process.h"

namespace {

using namespace ray;
using ray::test::NodeProcess;

constexpr char kToken[] = "fuzz-test-token-0123";

int EnvInt(const char* name, int fallback) {
  const char* v = getenv(name);
  return v ? std::atoi(v) : fallback;
}

/// Every protocol message's atom (atoms.h).
std::vector<caf::atom_value> AllAtoms() {
  using namespace ray::atoms;
  return {hello::value,    submit::value,   exec::value,      done::value,      blocked::value,
          unblocked::value, kill::value,    put::value,       create::value,    get::value,
          wait::value,     unpin::value,    release::value,   free_obj::value,  gone::value,
          stats::value,    lineage::value,  reserve::value,   lookup::value,    actor_upd::value,
          job::value,      shutdown::value, exit_now::value,  steal::value,     actor_ep::value,
          direct::value,   dir_done::value, node_reg::value,  node_add::value,  node_del::value,
          heartbeat::value, gcs_of::value,  loc_add::value,   loc_del::value,   locate::value,
          located::value,  locs_now::value, pull::value,      chunk::value,     pull_end::value,
          fwd_done::value, job_reg::value,  job_info::value,  job_end::value,   code_put::value,
          code_get::value, actor_get::value, nodes::value,    rebuild::value,   lineage_get::value,
          rebuild_sub::value, set_raylet::value, released::value, set_gcs::value, results::value};
}

class Fuzzer {
 public:
  explicit Fuzzer(uint32_t seed) : rng_(seed) {}

  std::string Bytes(size_t max) {
    std::string s(rng_() % (max + 1), '\0');
    for (auto& c : s) c = static_cast<char>(rng_());
    return s;
  }
  std::string Id() { return Bytes(20); }

  /// A valid encoding of one of the protocol's structs, with benign content
  /// (no resources, so no fake node attracts work).
  std::string Valid() {
    switch (rng_() % 12) {
      case 0: {
        proto::Hello h;
        h.client_id = Id();
        h.is_driver = rng_() % 2;
        h.job_id = Id();
        return proto::Encode(h);
      }
      case 1: {
        proto::TaskSpec t;
        t.task_id = Id();
        t.job_id = Id();
        t.kind = static_cast<uint8_t>(rng_() % 4);
        t.function = Bytes(12);
        t.actor_id = Id();
        t.return_ids = {Id()};
        t.args.push_back({rng_() % 2 == 0, Id(), Bytes(8)});
        return proto::Encode(t);
      }
      case 2:
        return proto::Encode(proto::ObjectEntry{Id(), static_cast<uint8_t>(rng_() % 4), Bytes(16),
                                                static_cast<int64_t>(rng_()) - (1 << 20), rng_()});
      case 3: {
        proto::ExecReply r;
        r.task_id = Id();
        r.worker_id = Id();
        r.results.push_back({Id(), 0, Bytes(8), -1, 0});
        r.exiting = rng_() % 2;
        return proto::Encode(r);
      }
      case 4:
        return proto::Encode(proto::GetRequest{{Id(), Id()}, static_cast<int64_t>(rng_() % 50), Id()});
      case 5:
        return proto::Encode(proto::WaitRequest{{Id()}, static_cast<int32_t>(rng_() % 3) - 1, 10});
      case 6: {
        proto::NodeRecord n;
        n.node_id = Id();
        n.address = "127.0.0.1:1";
        return proto::Encode(n);
      }
      case 7:
        return proto::Encode(std::vector<std::string>{Id(), Id()});
      case 8:
        return proto::Encode(std::vector<proto::Location>{{Id(), Id(), rng_(), ""}});
      case 9: {
        proto::ActorInfo a;
        a.actor_id = Id();
        a.state = "DEAD";
        return proto::Encode(a);
      }
      case 10:
        return proto::Encode(proto::JobInfo{Id(), "/nonexistent", {}, false, false, Id()});
      default:
        return proto::Encode(std::map<std::string, double>{{"CPU", -1.0 * (rng_() % 5)}});
    }
  }

  /// Random bytes, a corrupted valid encoding, or a valid one of some other type.
  std::string Payload() {
    switch (rng_() % 3) {
      case 0:
        return Bytes(64);
      case 1: {
        std::string s = Valid();
        if (rng_() % 2 && !s.empty()) {
          s.resize(rng_() % s.size());
        } else {
          for (int i = 0, n = 1 + rng_() % 4; i < n && !s.empty(); ++i) {
            s[rng_() % s.size()] = static_cast<char>(rng_());
          }
        }
        return s;
      }
      default:
        return Valid();
    }
  }

  /// A message for `atom` of one of the shapes the protocol uses, or a wrong one.
  caf::message Message(caf::atom_value atom, const caf::actor& sink) {
    caf::actor some = rng_() % 2 ? sink : caf::actor();
    switch (rng_() % 11) {
      case 0: return caf::make_message(atom);
      case 1: return caf::make_message(atom, Payload());
      case 2: return caf::make_message(atom, Payload(), Payload());
      case 3: return caf::make_message(atom, Payload(), some);
      case 4: return caf::make_message(atom, Payload(), rng_() % 2 == 0);
      case 5: return caf::make_message(atom, Payload(), static_cast<uint64_t>(rng_()) << (rng_() % 33));
      case 6:
        return caf::make_message(atom, Payload(), static_cast<uint64_t>(rng_()) << 32,
                                 static_cast<uint64_t>(rng_()));
      case 7: return caf::make_message(atom, Payload(), Payload(), some);
      case 8: return caf::make_message(atom, Payload(), some, some);
      case 9:
        return caf::make_message(atom, static_cast<int32_t>(rng_()), static_cast<int32_t>(rng_()));
      default: return caf::make_message(atom, Payload(), static_cast<int64_t>(rng_()));
    }
  }

  uint32_t Next() { return rng_(); }

 private:
  std::mt19937 rng_;
};

std::string RunDriver(const std::string& address) {
  std::string cmd = "RAY_ADDRESS=" + address + " RAY_AUTH_TOKEN=" + kToken + " timeout 60 " +
                    RAY_BIN_DIR "/sample_hello 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return "popen failed";
  char buf[512];
  while (fgets(buf, sizeof(buf), p)) out += buf;
  int status = pclose(p);
  return status == 0 ? out : out + "\n(exit status " + std::to_string(status) + ")";
}

TEST(Fuzz, MalformedMessagesFromAnAuthenticatedPeerKillNoActor) {
  NodeProcess head;
  ASSERT_TRUE(head.Start({"--num-cpus", "2", "--object-store-memory", "200000000"}, 20000,
                         {{"RAY_AUTH_TOKEN", kToken}}))
      << head.log();
  auth::Settings auth;
  auth.token = kToken;
  net::SetAuth(auth);
  caf::actor_system_config cfg;
  net::Configure(cfg, 2);
  caf::actor_system system{cfg};
  auto colon = head.address().rfind(':');
  std::string error;
  caf::actor raylet = net::Connect(system, head.address().substr(0, colon),
                                   static_cast<uint16_t>(std::stoi(head.address().substr(colon + 1))),
                                   std::chrono::seconds(10), &error);
  ASSERT_TRUE(raylet) << error;
  caf::scoped_actor self{system, true};
  caf::actor gcs, om;
  self->request(raylet, std::chrono::seconds(10), atoms::gcs_of::value, std::string())
      .receive([&](const std::string&, const caf::actor& g) { gcs = g; }, [&](caf::error&) {});
  proto::Hello hello;
  hello.client_id = "fuzzer";
  hello.is_driver = true;
  self->request(raylet, std::chrono::seconds(10), atoms::hello::value, proto::Encode(hello),
                caf::actor_cast<caf::actor>(self))
      .receive([&](const std::string&, const caf::actor& o, const caf::actor&) { om = o; },
               [&](caf::error&) {});
  ASSERT_TRUE(gcs && om);
  std::array<caf::actor, 3> targets = {raylet, om, gcs};
  for (auto& t : targets) self->monitor(t);
  // Takes whatever the node sends back to the fuzzer's handles.
  auto sink = system.spawn([](caf::event_based_actor* s) {
    s->set_default_handler(caf::drop);
    s->set_error_handler([](caf::error&) {});
    return caf::behavior{[](caf::atom_value) {}};
  });
  // A request's answer, whatever it is, ends here.
  auto asker = system.spawn([](caf::event_based_actor* s) {
    s->set_default_handler(caf::drop);
    s->set_error_handler([](caf::error&) {});
    return caf::behavior{[=](caf::actor& dest, caf::message& msg) {
      s->request(dest, std::chrono::seconds(3), std::move(msg))
          .then([](caf::message&) {}, [](caf::error&) {});
    }};
  });

  Fuzzer fuzz(static_cast<uint32_t>(EnvInt("RAY_FUZZ_SEED", 20261201)));
  auto atoms = AllAtoms();
  const int rounds = EnvInt("RAY_FUZZ_ROUNDS", 3);
  const int per_round = EnvInt("RAY_FUZZ_MESSAGES", 2000);
  int sent = 0;
  for (int round = 0; round < rounds; ++round) {
    for (int i = 0; i < per_round; ++i) {
      for (const auto& target : targets) {
        auto atom = atoms[fuzz.Next() % atoms.size()];
        auto msg = fuzz.Message(atom, sink);
        if (fuzz.Next() % 2) {
          self->send(target, std::move(msg));
        } else {
          self->send(asker, target, std::move(msg));
        }
        ++sent;
      }
    }
    // Every actor still answers, in order after what it was sent...
    for (const auto& target : targets) {
      bool answered = false;
      self->request(target, std::chrono::seconds(30), atoms::stats::value)
          .receive([&](const std::string&) { answered = true; }, [&](caf::error&) {});
      EXPECT_TRUE(answered) << "round " << round << ": an actor stopped answering\n" << head.log();
    }
    // ...none died...
    for (bool more = true; more;) {
      self->receive(
          [&](const caf::down_msg& d) {
            const char* names[] = {"raylet", "object manager", "GCS"};
            std::string who = "an actor";
            for (size_t k = 0; k < targets.size(); ++k) {
              if (d.source == targets[k].address()) who = names[k];
            }
            ADD_FAILURE() << who << " died: " << caf::to_string(d.reason);
          },
          [&](caf::message_view&) {},
          caf::after(std::chrono::milliseconds(0)) >> [&] { more = false; });
    }
    int status = 0;
    if (head.WaitExit(50, &status)) {
      ADD_FAILURE() << "round " << round << ": the node exited, status " << status
                    << (WIFSIGNALED(status) ? " (signal " + std::to_string(WTERMSIG(status)) + ")" : "");
      break;
    }
    // ...and a real driver is served correctly.
    std::string out = RunDriver(head.address());
    EXPECT_NE(out.find("sum of squares 0..7 = 140"), std::string::npos) << "round " << round << "\n" << out;
    EXPECT_NE(out.find("counter after 1+2+3+4 = 10"), std::string::npos) << "round " << round << "\n" << out;
    if (HasFailure()) break;
  }
  // The node counted what it dropped (one log line per sender, the rest counted).
  std::string stats;
  self->request(raylet, std::chrono::seconds(10), atoms::stats::value)
      .receive([&](const std::string& s) { stats = s; }, [&](caf::error&) {});
  auto at = stats.find("dropped_messages=");
  ASSERT_NE(at, std::string::npos) << stats;
  EXPECT_GT(std::stoll(stats.substr(at + 17)), 0) << stats;
  std::printf("sent %d fuzzed messages over %d rounds; node: %s\n", sent, rounds, stats.c_str());
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(asker, caf::exit_reason::user_shutdown);
  EXPECT_TRUE(head.Running()) << head.log();
  head.Stop();
}

}  // namespace
