#include "actors/net/handshake.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "actors/common/auth.h"
#include "actors/common/logging.h"

namespace ray::net::handshake {
namespace {

constexpr char kMagic[] = "RAYAUTH2";  // 8 bytes on the wire, no terminator
constexpr size_t kMagicLen = 8;
constexpr size_t kMagicPrefixLen = 7;  // "RAYAUTH": another version of the handshake
constexpr size_t kNonceLen = 32;
constexpr size_t kProofLen = 32;
constexpr size_t kHelloLen = kMagicLen + kNonceLen;
constexpr char kBusy = 'B';  // "pushed out or too slow: try again" (handshake_policy.h)
constexpr char kServerLabel[] = "ray-caf auth v2 server";
constexpr char kClientLabel[] = "ray-caf auth v2 client";
// The handshake loop's limits (handshake_policy.h says why these): one
// deadline for the whole handshake, places per source address, places in all.
constexpr auto kHandshakeDeadline = std::chrono::seconds(2);
constexpr size_t kMaxHandshakes = 512;
constexpr size_t kMaxHandshakesPerAddress = 64;
// New connections accepted per turn of the loop, after serving the ones in
// their handshake: a flood of connects cannot starve a handshake under way.
constexpr int kAcceptBatch = 8;
constexpr size_t kRecentSources = 8;  // refused addresses kept for `ray status`

// -- refusal counters and their log (every listener thread) ---------------------

std::atomic<uint64_t> admitted{0};
std::atomic<uint64_t> rejected{0};
std::atomic<uint64_t> rejected_by[kRefusalKinds];
std::mutex refusals_mu;
RefusalLog refusal_log;                      // guarded by refusals_mu
std::vector<HandshakeStats::Source> recent;  // guarded by refusals_mu; newest first

/// Counts a refused connection, notes its address and logs it (refusal_log:
/// one line per address per 10 s, with the count of the others).
void Refuse(const std::string& peer, uint16_t port, Refusal why, const std::string& detail) {
  rejected.fetch_add(1, std::memory_order_relaxed);
  rejected_by[static_cast<int>(why)].fetch_add(1, std::memory_order_relaxed);
  std::string line;
  {
    std::lock_guard<std::mutex> lock(refusals_mu);
    auto it = std::find_if(recent.begin(), recent.end(),
                           [&](const HandshakeStats::Source& s) { return s.address == peer; });
    HandshakeStats::Source source;
    if (it != recent.end()) {
      source = *it;
      recent.erase(it);
    }
    source.address = peer;
    ++source.refused;
    source.last_reason = RefusalName(why);
    source.last_time = std::chrono::system_clock::now();
    recent.insert(recent.begin(), source);
    if (recent.size() > kRecentSources) recent.pop_back();
    line = refusal_log.Note(peer, port, why, detail, HandshakeClock::now());
  }
  if (!line.empty()) RAY_LOG(Warning) << line;
}

/// The closing lines of addresses that went quiet with refusals not yet logged.
void FlushRefusalLog() {
  std::vector<std::string> lines;
  {
    std::lock_guard<std::mutex> lock(refusals_mu);
    lines = refusal_log.Flush(HandshakeClock::now());
  }
  for (const auto& line : lines) RAY_LOG(Warning) << line;
}

bool WriteAll(int fd, const std::string& data) {
  const char* p = data.data();
  size_t n = data.size();
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

std::string PeerAddress(const sockaddr_storage& addr) {
  char host[INET6_ADDRSTRLEN] = "?";
  if (addr.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(addr).sin_addr, host, sizeof(host));
  } else if (addr.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(addr).sin6_addr, host,
              sizeof(host));
  }
  return host;
}

/// Reads exactly `n` bytes by `deadline`; false on a close, an error or the deadline.
bool ReadBy(int fd, char* buf, size_t n, std::chrono::steady_clock::time_point deadline) {
  while (n > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    ssize_t got = ::recv(fd, buf, n, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    buf += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

/// The server side of the handshake for every connection of one listener,
/// on one thread: non-blocking sockets in a poll loop, so a place costs a
/// file descriptor and a few bytes, not a thread; the table decides who keeps
/// one (handshake_policy.h). The client proves first, and only a client that
/// did gets the server's proof: whoever connects learns nothing to test
/// guesses of the token against.
class HandshakeLoop {
 public:
  HandshakeLoop(const Server& server, const HandshakeTable::Limits& limits)
      : server_(server), table_(limits) {}

  void Run() {
    std::vector<pollfd> fds;
    std::vector<uint64_t> ids;
    auto accept_paused_until = HandshakeClock::time_point::min();
    auto next_flush = HandshakeClock::now();
    for (;;) {
      auto now = HandshakeClock::now();
      for (uint64_t id : table_.Expire(now)) {
        Drop(id, Refusal::kTimedOut, "did not finish the auth handshake within " + DeadlineText(), true);
      }
      if (now >= next_flush) {
        FlushRefusalLog();
        next_flush = now + std::chrono::seconds(1);
      }
      bool accepting = now >= accept_paused_until;
      fds.assign({{server_.listen_fd, static_cast<short>(accepting ? POLLIN : 0), 0},
                  {server_.wake_fd, POLLIN, 0}});
      ids.clear();
      for (const auto& [id, c] : conns_) {
        fds.push_back({c.fd, POLLIN, 0});
        ids.push_back(id);
      }
      auto until = std::min({table_.NextDeadline(), next_flush,
                             accepting ? HandshakeClock::time_point::max() : accept_paused_until});
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count() + 1;
      int n = ::poll(fds.data(), fds.size(), static_cast<int>(std::clamp<int64_t>(wait, 0, 1000)));
      if (n < 0 && errno != EINTR) break;
      if (n <= 0) continue;
      if (fds[1].revents & POLLIN) break;
      // Handshakes under way first, then at most kAcceptBatch newcomers.
      for (size_t i = 2; i < fds.size(); ++i) {
        if (fds[i].revents != 0) Step(ids[i - 2]);
      }
      if (fds[0].revents & POLLIN) accept_paused_until = AcceptSome();
    }
    for (auto& [id, c] : conns_) ::close(c.fd);
  }

 private:
  enum class Stage { kHello, kProof };

  std::string DeadlineText() const {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(table_.limits().deadline);
    return std::to_string(ms.count()) + " ms";
  }
  struct Conn {
    int fd = -1;
    std::string peer;
    Stage stage = Stage::kHello;
    char buf[kHelloLen];
    size_t got = 0;
    std::string cn, sn;
  };

  /// Accepts up to kAcceptBatch connections; returns until when not to try
  /// again (now, or shortly when no file descriptor is left).
  HandshakeClock::time_point AcceptSome() {
    for (int i = 0; i < kAcceptBatch; ++i) {
      sockaddr_storage addr{};
      socklen_t len = sizeof(addr);
      int fd = ::accept4(server_.listen_fd, reinterpret_cast<sockaddr*>(&addr), &len,
                         SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          Refuse("(unknown: accept failed)", server_.port, Refusal::kAcceptFailed,
                 std::string("cannot accept: ") + std::strerror(errno));
          return HandshakeClock::now() + std::chrono::milliseconds(10);
        }
        break;  // EAGAIN: none left; others (ECONNABORTED, ...): that one is gone
      }
      std::string peer = PeerAddress(addr);
      HandshakeTable::Evicted evicted;
      uint64_t id = table_.Add(peer, HandshakeClock::now(), &evicted);
      for (const auto& [victim, why] : evicted) {
        Drop(victim, why,
             why == Refusal::kAddressLimit
                 ? "pushed out of the auth handshake by newer connections from the same address "
                   "(at most " + std::to_string(table_.limits().per_address) + " at once)"
                 : "pushed out of the auth handshake: all " + std::to_string(table_.limits().total) +
                       " places taken",
             true);
      }
      Conn& c = conns_[id];
      c.fd = fd;
      c.peer = std::move(peer);
      Step(id);  // a peer's hello is often there already
    }
    return HandshakeClock::now();
  }

  /// Reads what the peer sent and answers; the connection leaves the table
  /// when it is admitted or refused.
  void Step(uint64_t id) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    Conn& c = it->second;
    try {
      size_t want = c.stage == Stage::kHello ? kHelloLen : kProofLen;
      ssize_t r = ::recv(c.fd, c.buf + c.got, want - c.got, 0);
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
      if (r <= 0) {
        Drop(id, Refusal::kClosed,
             c.stage == Stage::kHello ? "closed before the auth handshake"
                                      : "closed during the auth handshake (the peer holds another "
                                        "token, or none)",
             false);
        return;
      }
      c.got += static_cast<size_t>(r);
      if (c.stage == Stage::kHello) {
        size_t n = std::min(c.got, kMagicLen);
        if (std::memcmp(c.buf, kMagic, n) != 0) {
          bool other_version = n == kMagicLen && std::memcmp(c.buf, kMagic, kMagicPrefixLen) == 0;
          Drop(id, Refusal::kNotRay,
               other_version ? "speaks another version of the auth handshake ('" +
                                   std::string(c.buf, kMagicLen) + "': another release of Ray)"
                             : "not a Ray peer (no auth handshake; plain CAF/BASP or other bytes)",
               false);
          return;
        }
        if (c.got < want) return;
        c.cn.assign(c.buf + kMagicLen, kNonceLen);
        c.sn = auth::RandomBytes(kNonceLen);
        if (!Send(c.fd, std::string(kMagic, kMagicLen) + c.sn)) {
          Drop(id, Refusal::kClosed, "closed during the auth handshake", false);
          return;
        }
        c.stage = Stage::kProof;
        c.got = 0;
        return;
      }
      if (c.got < want) return;
      std::string token = server_.token();
      if (!auth::ConstantTimeEqual(std::string(c.buf, kProofLen),
                                   auth::Proof(token, kClientLabel, c.cn, c.sn))) {
        Send(c.fd, "N");
        Drop(id, Refusal::kWrongToken, "wrong auth token", false);
        return;
      }
      if (!Send(c.fd, "Y" + auth::Proof(token, kServerLabel, c.cn, c.sn))) {
        Drop(id, Refusal::kClosed, "closed at the end of the auth handshake", false);
        return;
      }
      int fd = c.fd;
      table_.Remove(id);
      conns_.erase(it);
      admitted.fetch_add(1, std::memory_order_relaxed);
      server_.admit(fd);
    } catch (const std::exception& e) {
      Drop(id, Refusal::kClosed, e.what(), false);
    }
  }

  /// Closes a connection that did not get in (`busy`: telling the peer to try again).
  void Drop(uint64_t id, Refusal why, const std::string& detail, bool busy) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    if (busy) {
      Send(it->second.fd, std::string(1, kBusy));
      // Unread bytes would make close() send a reset, which can overtake the
      // 'B' a Ray peer needs to see (it sent at most its hello).
      char scratch[256];
      for (int i = 0; i < 4 && ::recv(it->second.fd, scratch, sizeof(scratch), MSG_DONTWAIT) > 0; ++i) {
      }
    }
    ::close(it->second.fd);
    Refuse(it->second.peer, server_.port, why, detail);
    table_.Remove(id);
    conns_.erase(it);
  }

  /// All of `data` at once or nothing: a fresh socket's buffer takes these few bytes.
  static bool Send(int fd, const std::string& data) {
    ssize_t w;
    do {
      w = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (w < 0 && errno == EINTR);
    return w == static_cast<ssize_t>(data.size());
  }

  const Server& server_;
  HandshakeTable table_;
  std::map<uint64_t, Conn> conns_;  // the table's connections, by its ids
};

}  // namespace

HandshakeTable::Limits DefaultLimits() {
  HandshakeTable::Limits limits;
  limits.deadline = kHandshakeDeadline;
  limits.total = kMaxHandshakes;
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY) {
    limits.total = std::clamp<size_t>(nofile.rlim_cur / 4, 16, kMaxHandshakes);
  }
  limits.per_address = std::min(kMaxHandshakesPerAddress, std::max<size_t>(limits.total / 4, 4));
  return limits;
}

Proved Prove(int fd, const std::string& where, const std::string& token,
             const std::string& token_source, std::chrono::steady_clock::time_point deadline,
             std::string* why) {
  const std::string no_answer =
      where + " did not answer the auth handshake (is it a Ray node of this version, or does it "
              "use TLS: RAY_USE_TLS=1?)";
  std::string cn = auth::RandomBytes(kNonceLen);
  char hello[kHelloLen];
  if (!WriteAll(fd, std::string(kMagic, kMagicLen) + cn) || !ReadBy(fd, hello, 1, deadline)) {
    *why = no_answer;
    return Proved::kNo;
  }
  if (hello[0] == kBusy) return Proved::kBusy;
  if (!ReadBy(fd, hello + 1, kHelloLen - 1, deadline) ||
      std::memcmp(hello, kMagic, kMagicLen) != 0) {
    *why = no_answer;
    return Proved::kNo;
  }
  std::string sn(hello + kMagicLen, kNonceLen);
  char verdict = 0;
  if (!WriteAll(fd, auth::Proof(token, kClientLabel, cn, sn)) || !ReadBy(fd, &verdict, 1, deadline)) {
    *why = where + " closed the auth handshake without an answer";
    return Proved::kNo;
  }
  if (verdict == kBusy) return Proved::kBusy;
  if (verdict != 'Y') {
    *why = token.empty() ? where + " requires an auth token (" + auth::MissingTokenHint() + ")"
                         : where + " does not accept this process's auth token (from " +
                               token_source + "; " + auth::MissingTokenHint() + ")";
    return Proved::kNo;
  }
  char proof[kProofLen];
  if (!ReadBy(fd, proof, kProofLen, deadline) ||
      !auth::ConstantTimeEqual(std::string(proof, kProofLen),
                               auth::Proof(token, kServerLabel, cn, sn))) {
    *why = where + " admitted this process but could not prove it holds the cluster's token "
                   "(is it this cluster's node?)";
    return Proved::kNo;
  }
  return Proved::kYes;
}

uint64_t Rejected() { return rejected.load(std::memory_order_relaxed); }

HandshakeStats Stats() {
  HandshakeStats out;
  out.admitted = admitted.load(std::memory_order_relaxed);
  out.refused = rejected.load(std::memory_order_relaxed);
  for (int i = 0; i < kRefusalKinds; ++i) {
    out.refused_by[RefusalName(static_cast<Refusal>(i))] =
        rejected_by[i].load(std::memory_order_relaxed);
  }
  std::lock_guard<std::mutex> lock(refusals_mu);
  out.recent = recent;
  return out;
}

void Serve(const Server& server, const HandshakeTable::Limits& limits) {
  HandshakeLoop(server, limits).Run();
}

}  // namespace ray::net::handshake
