#include "actors/net/net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/io/all.hpp>
#include <caf/io/basp_broker.hpp>
#include <caf/openssl/all.hpp>
#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "actors/common/logging.h"
#include "actors/net/errors.h"

namespace ray::net {
namespace {

constexpr char kMagic[] = "RAYAUTH1";  // 8 bytes on the wire, no terminator
constexpr size_t kMagicLen = 8;
constexpr size_t kNonceLen = 32;
constexpr size_t kProofLen = 32;
constexpr int kMaxHandshakes = 32;  // connections in their handshake at once, per listener
constexpr std::chrono::seconds kHandshakeTimeout{5};
constexpr char kServerLabel[] = "ray-caf auth v1 server";
constexpr char kClientLabel[] = "ray-caf auth v1 client";

std::mutex auth_mu;
auth::Settings auth_settings;
std::atomic<uint64_t> rejected{0};

std::string Token() {
  std::lock_guard<std::mutex> lock(auth_mu);
  return auth_settings.mode == auth::Mode::kDisabled ? std::string() : auth_settings.token;
}

void SetTimeouts(int fd, std::chrono::milliseconds t) {
  timeval tv{};
  tv.tv_sec = t.count() / 1000;
  tv.tv_usec = (t.count() % 1000) * 1000;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

bool ReadN(int fd, char* buf, size_t n) {
  while (n > 0) {
    ssize_t r = ::recv(fd, buf, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    buf += r;
    n -= static_cast<size_t>(r);
  }
  return true;
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

/// Counts a refused connection; logs the first from each address only, so a
/// flood cannot fill the log.
void Refuse(const std::string& peer, uint16_t port, const std::string& why) {
  static std::mutex mu;
  static std::set<std::string> logged;
  rejected.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(mu);
  if (logged.size() < 4096 && logged.insert(peer).second) {
    RAY_LOG(Warning) << "refused a connection from " << peer << " to port " << port << ": "
                     << why << " (later refusals from " << peer << " are counted, not logged)";
  }
}

struct Listener {
  bool tls = false;  // served by CAF's openssl module, not by the loop below
  caf::actor_system* system = nullptr;
  caf::actor whom;
  int fd = -1;
  uint16_t port = 0;
  int wake[2] = {-1, -1};
  std::thread thread;
  std::mutex mu;            // guards stopping and the hand-off to CAF
  bool stopping = false;
  std::atomic<int> handshaking{0};
};

std::mutex listeners_mu;
std::map<uint16_t, std::shared_ptr<Listener>> listeners;

/// The server side of the handshake; true when the peer proved it holds the token.
bool Admit(int fd, const std::string& peer, uint16_t port) {
  SetTimeouts(fd, kHandshakeTimeout);
  char hello[kMagicLen + kNonceLen];
  if (!ReadN(fd, hello, sizeof(hello))) {
    Refuse(peer, port, "closed or timed out before the auth handshake");
    return false;
  }
  if (std::memcmp(hello, kMagic, kMagicLen) != 0) {
    Refuse(peer, port, "not a Ray peer (no auth handshake; plain CAF/BASP or other bytes)");
    return false;
  }
  std::string token = Token();
  std::string cn(hello + kMagicLen, kNonceLen);
  std::string sn = auth::RandomBytes(kNonceLen);
  if (!WriteAll(fd, std::string(kMagic, kMagicLen) + sn + auth::Proof(token, kServerLabel, cn, sn))) {
    Refuse(peer, port, "closed during the auth handshake");
    return false;
  }
  char proof[kProofLen];
  if (!ReadN(fd, proof, sizeof(proof))) {
    Refuse(peer, port, "closed during the auth handshake (the peer holds another token)");
    return false;
  }
  if (!auth::ConstantTimeEqual(std::string(proof, kProofLen),
                               auth::Proof(token, kClientLabel, cn, sn))) {
    WriteAll(fd, "N");
    Refuse(peer, port, "wrong auth token");
    return false;
  }
  if (!WriteAll(fd, "Y")) return false;
  SetTimeouts(fd, std::chrono::milliseconds(0));
  return true;
}

void HandOff(const std::shared_ptr<Listener>& l, int fd) {
  std::lock_guard<std::mutex> lock(l->mu);
  if (l->stopping) {
    ::close(fd);
    return;
  }
  auto& mm = l->system->middleman();
  auto scribe = mm.backend().new_scribe(fd);
  auto basp = mm.named_broker<caf::io::basp_broker>(caf::atom("BASP"));
  caf::anon_send(basp, caf::publish_atom::value, std::move(scribe), l->port,
                 caf::actor_cast<caf::strong_actor_ptr>(l->whom), std::set<std::string>{});
}

void AcceptLoop(std::shared_ptr<Listener> l) {
  pollfd fds[2] = {{l->fd, POLLIN, 0}, {l->wake[0], POLLIN, 0}};
  for (;;) {
    int n = ::poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (fds[1].revents & POLLIN)) return;
    if (!(fds[0].revents & POLLIN)) continue;
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    int fd = ::accept4(l->fd, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    std::string peer = PeerAddress(addr);
    if (l->handshaking.load() >= kMaxHandshakes) {
      Refuse(peer, l->port, "too many connections in their auth handshake");
      ::close(fd);
      continue;
    }
    l->handshaking.fetch_add(1);
    std::thread([l, fd, peer] {
      bool ok = false;
      try {
        ok = Admit(fd, peer, l->port);
      } catch (const std::exception& e) {
        Refuse(peer, l->port, e.what());
      }
      if (ok) {
        HandOff(l, fd);
      } else {
        ::close(fd);
      }
      l->handshaking.fetch_sub(1);
    }).detach();
  }
}

/// The TCP addresses of host:port (`passive`: to listen on; an empty host is
/// every interface). Null, with `*error` set, when the host does not resolve.
std::unique_ptr<addrinfo, void (*)(addrinfo*)> Resolve(const std::string& host, uint16_t port,
                                                       bool passive, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  const char* name = passive && host.empty() ? nullptr : host.c_str();
  int rc = ::getaddrinfo(name, service.c_str(), &hints, &res);
  if (rc != 0) {
    *error = "cannot resolve '" + host + "': " + gai_strerror(rc);
    res = nullptr;
  }
  return {res, ::freeaddrinfo};
}

int ListenSocket(const std::string& host, uint16_t port, bool reuse, uint16_t* bound,
                 std::string* error) {
  auto res = Resolve(host, port, /*passive=*/true, error);
  if (!res) return -1;
  int fd = -1;
  std::string last = "no address";
  for (addrinfo* a = res.get(); a; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    if (reuse) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 128) == 0) break;
    last = std::strerror(errno);
    ::close(fd);
    fd = -1;
  }
  if (fd < 0) {
    *error = last;
    return -1;
  }
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  *bound = ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(addr).sin6_port
                                            : reinterpret_cast<sockaddr_in&>(addr).sin_port);
  return fd;
}

int ConnectSocket(const std::string& host, uint16_t port,
                  std::chrono::steady_clock::time_point deadline, std::string* error) {
  auto res = Resolve(host, port, /*passive=*/false, error);
  if (!res) return -1;
  int fd = -1;
  std::string last = "no address";
  for (addrinfo* a = res.get(); a && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    int r = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (r != 0 && errno == EINPROGRESS) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{fd, POLLOUT, 0};
      r = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
      int err = 0;
      socklen_t len = sizeof(err);
      if (r == 1) getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (r == 1 && err == 0) {
        r = 0;
      } else {
        errno = r == 0 ? ETIMEDOUT : err;
        r = -1;
      }
    }
    if (r != 0) {
      last = std::strerror(errno);
      ::close(fd);
      fd = -1;
    }
  }
  if (fd < 0) {
    *error = last;
    return -1;
  }
  int flags = fcntl(fd, F_GETFL, 0);
  fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return fd;
}

/// The client side of the handshake; empty on success, else the user's line.
std::string Prove(int fd, const std::string& where, std::chrono::milliseconds timeout) {
  SetTimeouts(fd, std::max(timeout, std::chrono::milliseconds(1)));
  std::string token = Token();
  std::string cn = auth::RandomBytes(kNonceLen);
  char reply[kMagicLen + kNonceLen + kProofLen];
  if (!WriteAll(fd, std::string(kMagic, kMagicLen) + cn) || !ReadN(fd, reply, sizeof(reply)) ||
      std::memcmp(reply, kMagic, kMagicLen) != 0) {
    return where + " did not answer the auth handshake (is it a Ray node of this version, or "
                   "does it use TLS: RAY_USE_TLS=1?)";
  }
  std::string sn(reply + kMagicLen, kNonceLen);
  std::string server_proof(reply + kMagicLen + kNonceLen, kProofLen);
  if (!auth::ConstantTimeEqual(server_proof, auth::Proof(token, kServerLabel, cn, sn))) {
    // Sending our proof would tell an impostor nothing, but there is no point.
    if (token.empty()) return where + " requires an auth token (" + auth::MissingTokenHint() + ")";
    return where + " does not accept this process's auth token (from " + Auth().source + "; " +
           auth::MissingTokenHint() + ")";
  }
  char verdict = 0;
  if (!WriteAll(fd, auth::Proof(token, kClientLabel, cn, sn)) || !ReadN(fd, &verdict, 1) ||
      verdict != 'Y') {
    return where + " refused this process's auth token (" + auth::MissingTokenHint() + ")";
  }
  SetTimeouts(fd, std::chrono::milliseconds(0));
  return {};
}

}  // namespace

void Configure(caf::actor_system_config& config, int scheduler_threads) {
  config.load<caf::io::middleman>();
  if (const TlsSettings& tls = Tls(); tls.enabled) {
    config.load<caf::openssl::manager>();
    config.set("openssl.certificate", tls.cert);
    config.set("openssl.key", tls.key);
    config.set("openssl.cafile", tls.ca);
  }
  if (scheduler_threads > 0) config.set("scheduler.max-threads", scheduler_threads);
  // Every connection goes through Publish/Connect below; CAF's automatic
  // connections would listen on a random port nobody guards.
  config.set("middleman.enable-automatic-connections", false);
  // Deserializing on the middleman's thread saves a thread hand-off per
  // message (README, "Performance notes").
  const char* mm_workers = std::getenv("RAY_CAF_MM_WORKERS");
  config.set("middleman.workers", mm_workers ? std::atoi(mm_workers) : 0);
  config.set("logger.verbosity", caf::atom("quiet"));
  // Work stealing lets idle threads sleep up to 10 ms between polls, which
  // dominated task latency; sharing wakes one as soon as a message arrives.
  const char* policy = std::getenv("RAY_CAF_POLICY");
  config.set("scheduler.policy", caf::atom_from_string(policy ? policy : "sharing"));
  config.add_error_category(kErrorCategory, RenderError);
}

void SetAuth(const auth::Settings& settings) {
  std::lock_guard<std::mutex> lock(auth_mu);
  auth_settings = settings;
}

const auth::Settings& Auth() {
  std::lock_guard<std::mutex> lock(auth_mu);
  return auth_settings;
}

std::string Describe(const caf::error& err) {
  if (!err) return "no error";
  const auto& ctx = err.context();
  for (size_t i = 0; i < ctx.size(); ++i) {
    if (ctx.match_element<std::string>(i)) return ctx.get_as<std::string>(i);
  }
  if (err.category() == kErrorCategory) return ErrcName(static_cast<Errc>(err.code()));
  if (err.category() == caf::atom("system")) {
    switch (static_cast<caf::sec>(err.code())) {
      case caf::sec::request_timeout:
        return "no answer in time";
      case caf::sec::request_receiver_down:
        return "the receiver is gone";
      case caf::sec::unexpected_message:
        return "the receiver does not understand the message";
      default: {
        std::string s = caf::to_string(static_cast<caf::sec>(err.code()));
        std::replace(s.begin(), s.end(), '_', ' ');
        return s;
      }
    }
  }
  return "error " + std::to_string(err.code());
}

uint64_t RejectedConnections() { return rejected.load(std::memory_order_relaxed); }

uint16_t Publish(caf::actor_system& system, const caf::actor& whom, uint16_t port,
                 const std::string& host, bool reuse, std::string* error) {
  auto l = std::make_shared<Listener>();
  l->system = &system;
  l->whom = whom;
  if (Tls().enabled) {
    // CAF's openssl module verifies both sides against the cluster's CA.
    auto bound = caf::openssl::publish(whom, port, host.empty() ? nullptr : host.c_str(), reuse);
    if (!bound) {
      *error = Describe(bound.error());
      return 0;
    }
    l->tls = true;
    l->port = *bound;
    std::lock_guard<std::mutex> lock(listeners_mu);
    listeners[l->port] = l;
    return l->port;
  }
  l->fd = ListenSocket(host, port, reuse, &l->port, error);
  if (l->fd < 0) return 0;
  if (::pipe2(l->wake, O_CLOEXEC) != 0) {
    *error = std::strerror(errno);
    ::close(l->fd);
    return 0;
  }
  l->thread = std::thread(AcceptLoop, l);
  std::lock_guard<std::mutex> lock(listeners_mu);
  listeners[l->port] = l;
  return l->port;
}

void Unpublish(uint16_t port) {
  std::shared_ptr<Listener> l;
  {
    std::lock_guard<std::mutex> lock(listeners_mu);
    auto it = listeners.find(port);
    if (it == listeners.end()) return;
    l = it->second;
    listeners.erase(it);
  }
  if (l->tls) {
    // (caf/openssl/unpublish.hpp does not compile in 0.17.6: ask its actor directly.)
    caf::scoped_actor self{*l->system, true};
    self->request(l->system->openssl_manager().actor_handle(), std::chrono::seconds(5),
                  caf::close_atom::value, port)
        .receive([] {}, [](caf::error&) {});
    return;
  }
  {
    std::lock_guard<std::mutex> lock(l->mu);
    l->stopping = true;
  }
  char c = 0;
  (void)!::write(l->wake[1], &c, 1);
  if (l->thread.joinable()) l->thread.join();
  ::close(l->fd);
  ::close(l->wake[0]);
  ::close(l->wake[1]);
}

caf::actor Connect(caf::actor_system& system, const std::string& host, uint16_t port,
                   std::chrono::milliseconds timeout, std::string* error) {
  std::string where = "the cluster at " + host + ":" + std::to_string(port);
  if (Tls().enabled) {
    auto handle = caf::openssl::remote_actor(system, host, port);
    if (!handle) {
      *error = "cannot connect to " + where +
               " over TLS (does it use TLS, with a certificate of the CA in RAY_TLS_CA_CERT?): " +
               Describe(handle.error());
      return nullptr;
    }
    return *handle;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string why;
  int fd = ConnectSocket(host, port, deadline, &why);
  if (fd < 0) {
    *error = "cannot reach " + where + ": " + why;
    return nullptr;
  }
  auto left = [&] {
    return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now()),
                    std::chrono::milliseconds(1));
  };
  why = Prove(fd, where, left());
  if (!why.empty()) {
    ::close(fd);
    *error = why;
    return nullptr;
  }
  auto& mm = system.middleman();
  auto scribe = mm.backend().new_scribe(fd);
  auto basp = mm.named_broker<caf::io::basp_broker>(caf::atom("BASP"));
  caf::actor result;
  caf::scoped_actor self{system, true};
  self->request(basp, left(), caf::connect_atom::value, std::move(scribe), port)
      .receive(
          [&](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
            result = caf::actor_cast<caf::actor>(std::move(ptr));
            if (!result) *error = where + " serves no actor on that port";
          },
          [&](caf::error&) { *error = where + " closed the connection after the auth handshake"; });
  return result;
}

}  // namespace ray::net
