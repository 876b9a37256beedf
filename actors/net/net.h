// Every connection into or out of a Ray process: listening sockets that
// admit only peers who pass the auth handshake, and connects that pass it,
// before CAF's BASP sees a byte. This is the one place that keeps the
// cluster closed: CAF's own listeners (publish, automatic connections) are
// never used, so no actor can be reached except through here.
//
// Handshake (all fixed-size frames, then the socket is handed to CAF):
//   client -> server  "RAYAUTH2" + client nonce cn (32)
//   server -> client  "RAYAUTH2" + server nonce sn (32)
//   client -> server  Proof("client", cn, sn)
//   server -> client  'Y' + Proof("server", cn, sn) (admitted) or 'N' (wrong token)
// and, instead of any server frame, 'B' then a close: "full, or you were too
// slow: try again" (Connect does, until its deadline). The client proves
// first: a stranger who connects gets only a random nonce, no HMAC to test
// guesses of the token against offline (with v1 the server proved first, over
// the stranger's nonce: issue 22). A client still shows its proof to whatever
// it dials, so only a fake server at the address a client was given could
// test guesses; auth.h refuses tokens short enough for that to pay. Both
// sides compare proofs in constant time; the token itself is never sent.
// With RAY_AUTH_MODE=disabled the same frames run over an empty token.
//
// The server runs every handshake of a listener in one poll loop, under one
// deadline (2 s from accept) and a limit per source address
// (handshake_policy.h says why, and who is pushed out when it is full).
#ifndef RAY_ACTORS_NET_NET_H_
#define RAY_ACTORS_NET_NET_H_

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <string>

#include "actors/common/auth.h"
#include "actors/net/handshake_policy.h"

namespace ray::net {

/// Mutual TLS between every pair of processes (Ray's RAY_USE_TLS and friends).
/// With it, connections go through CAF's openssl module and a peer must show
/// a certificate of the cluster's CA; the token handshake is not used (a
/// certificate proves membership). Without it, the token handshake above.
struct TlsSettings {
  bool enabled = false;
  std::string cert;  // RAY_TLS_SERVER_CERT / --tls-cert: this process's certificate (PEM)
  std::string key;   // RAY_TLS_SERVER_KEY / --tls-key: its private key (PEM)
  std::string ca;    // RAY_TLS_CA_CERT / --tls-ca: the cluster's CA (PEM)
};

/// Reads RAY_USE_TLS and the three paths, `flags` taking precedence over the
/// environment (a flag set turns TLS on), and checks that the files are
/// readable PEM and that the key matches the certificate. False, with a
/// one-line `*error` naming the file, otherwise.
bool ResolveTls(const TlsSettings& flags, TlsSettings* out, std::string* error);

/// This process's TLS settings; set before Configure.
void SetTls(const TlsSettings& settings);
const TlsSettings& Tls();

/// The CAF settings of every Ray process (driver, worker, raynode, tools):
/// the middleman loaded, CAF's automatic connections off (they open an
/// unauthenticated port in every process), incoming messages deserialized on
/// the middleman thread (RAY_CAF_MM_WORKERS=N: a pool of N), CAF's openssl
/// module when Tls() is on, the sharing scheduler policy (RAY_CAF_POLICY=stealing: CAF's default). `scheduler_threads`
/// 0 keeps CAF's default.
void Configure(caf::actor_system_config& config, int scheduler_threads);

/// This process's auth settings; set once at start, before any Publish or Connect.
void SetAuth(const auth::Settings& settings);
const auth::Settings& Auth();

/// Serves `whom` on host:port (0: any free port) to peers that pass the
/// handshake. Returns the port, or 0 with `*error` set.
uint16_t Publish(caf::actor_system& system, const caf::actor& whom, uint16_t port,
                 const std::string& host, bool reuse, std::string* error);

/// Stops listening on `port` (connections already admitted stay).
void Unpublish(uint16_t port);

/// Connects to the actor served at host:port. Null, with `*error` saying in
/// one line what to do, when the peer is unreachable, is not a Ray node,
/// refuses this process's token or does not hold the cluster's token.
caf::actor Connect(caf::actor_system& system, const std::string& host, uint16_t port,
                   std::chrono::milliseconds timeout, std::string* error);

/// A CAF error as a user reads it: the text it carries, or what its code
/// means ("no answer in time"), never CAF's rendering of the whole value.
std::string Describe(const caf::error& err);

/// Connections refused by this process's listeners since it started.
uint64_t RejectedConnections();

/// The handshakes of this process's listeners since it started, for
/// `ray status` (handshake_policy.h: admitted, refused by reason, the last
/// few addresses refused).
HandshakeStats Handshakes();

/// A blocking request, from a thread outside any actor, whose answer is one
/// string: true with `*reply`, or false with `*error` (a failure or the timeout).
template <class Dest, class Duration, class... Ts>
bool AskForString(caf::actor_system& system, const Dest& dest, Duration timeout,
                  std::string* reply, std::string* error, const Ts&... xs) {
  caf::scoped_actor self{system, true};
  bool ok = false;
  self->request(dest, timeout, xs...)
      .receive(
          [&](std::string& answer) {
            *reply = std::move(answer);
            ok = true;
          },
          [&](caf::error& e) { *error = Describe(e); });
  return ok;
}

}  // namespace ray::net

#endif  // RAY_ACTORS_NET_NET_H_
