// The auth handshake of net.h on plain sockets, both sides, with no CAF: the
// server's poll loop over every connection of one listener, and the client's
// exchange. net.cc hands what gets through to CAF.
//
// Frames (fixed sizes; the client proves first, see net.h):
//   client -> server  "RAYAUTH2" + cn (32 random bytes)
//   server -> client  "RAYAUTH2" + sn (32 random bytes)
//   client -> server  HMAC(token, "ray-caf auth v2 client" 0 cn sn)
//   server -> client  'Y' + HMAC(token, "ray-caf auth v2 server" 0 cn sn) | 'N'
// In place of any server frame: 'B' and a close, "full, or too slow: retry".
#ifndef RAY_ACTORS_NET_HANDSHAKE_H_
#define RAY_ACTORS_NET_HANDSHAKE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "actors/net/handshake_policy.h"

namespace ray::net::handshake {

/// What the server loop needs of its listener.
struct Server {
  int listen_fd = -1;  // non-blocking, listening
  int wake_fd = -1;    // readable: stop
  uint16_t port = 0;
  std::function<std::string()> token;  // the cluster's token now ("" when auth is off)
  std::function<void(int fd)> admit;   // takes a socket that passed; owns it from then on
};

/// The limits of the loop: 512 places, 64 per address, 2 s for the whole
/// handshake (fewer places when RLIMIT_NOFILE is low).
HandshakeTable::Limits DefaultLimits();

/// Serves the handshake of every connection `server.listen_fd` accepts,
/// until `server.wake_fd` is readable; then closes those still in it.
void Serve(const Server& server, const HandshakeTable::Limits& limits);

enum class Proved { kYes, kBusy, kNo };

/// The client side on a connected blocking socket, by `deadline`. kNo with
/// the user's line in `*why` (`where`: "the cluster at host:port";
/// `token_source`: where this process's token came from); kBusy when the
/// server said to try again.
Proved Prove(int fd, const std::string& where, const std::string& token,
             const std::string& token_source, std::chrono::steady_clock::time_point deadline,
             std::string* why);

/// The counts of every listener of this process (net::Handshakes).
uint64_t Rejected();
HandshakeStats Stats();

}  // namespace ray::net::handshake

#endif  // RAY_ACTORS_NET_HANDSHAKE_H_
