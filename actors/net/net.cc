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
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "actors/net/errors.h"
#include "actors/net/handshake.h"

namespace ray::net {
namespace {

std::mutex auth_mu;
auth::Settings auth_settings;

std::string Token() {
  std::lock_guard<std::mutex> lock(auth_mu);
  return auth_settings.mode == auth::Mode::kDisabled ? std::string() : auth_settings.token;
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
};

std::mutex listeners_mu;
std::map<uint16_t, std::shared_ptr<Listener>> listeners;

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
    // Non-blocking: the handshake loop accepts until none is left.
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    if (reuse) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    // A long queue: a flood of connects must not make the kernel drop a peer's SYN
    // (it would retry only after 1 s); the handshake loop drains it in order.
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 4096) == 0) break;
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

/// A socket to host:port that passed the handshake, or -1 with `*error` set.
/// A node that is full (or found this client too slow) says 'B': this tries
/// again, with a short growing pause, until `deadline`.
int ConnectAndProve(const std::string& host, uint16_t port, const std::string& where,
                    std::chrono::steady_clock::time_point deadline, std::string* error) {
  using handshake::Proved;
  std::minstd_rand jitter(static_cast<uint32_t>(::getpid()) ^
                          static_cast<uint32_t>(deadline.time_since_epoch().count()));
  auto backoff = std::chrono::milliseconds(5);
  for (int tries = 1;; ++tries) {
    std::string why;
    int fd = ConnectSocket(host, port, deadline, &why);
    if (fd < 0) {
      *error = "cannot reach " + where + ": " + why;
      return -1;
    }
    Proved proved = handshake::Prove(fd, where, Token(), Auth().source, deadline, &why);
    if (proved == Proved::kYes) return fd;
    ::close(fd);
    auto pause = backoff + std::chrono::milliseconds(jitter() % (backoff.count() + 1));
    if (proved == Proved::kNo || std::chrono::steady_clock::now() + pause >= deadline) {
      *error = proved == Proved::kNo
                   ? why
                   : where + " is too busy to finish the auth handshake (" + std::to_string(tries) +
                         " tries; too many connections at once: see its log)";
      return -1;
    }
    std::this_thread::sleep_for(pause);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(200));
  }
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

uint64_t RejectedConnections() { return handshake::Rejected(); }

HandshakeStats Handshakes() { return handshake::Stats(); }

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
  l->thread = std::thread([l] {
    handshake::Server server;
    server.listen_fd = l->fd;
    server.wake_fd = l->wake[0];
    server.port = l->port;
    server.token = Token;
    server.admit = [l](int fd) { HandOff(l, fd); };
    handshake::Serve(server, handshake::DefaultLimits());
  });
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
  auto left = [&] {
    return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now()),
                    std::chrono::milliseconds(1));
  };
  int fd = ConnectAndProve(host, port, where, deadline, error);
  if (fd < 0) return nullptr;
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
