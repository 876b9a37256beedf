#include "actors/dashboard/dashboard_connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace ray::dashboard {
namespace {

using Time = std::chrono::steady_clock::time_point;

Time Now() { return std::chrono::steady_clock::now(); }

/// Waits for `events` on `fd` until `deadline`; false when it passed first.
bool WaitFor(int fd, short events, Time deadline) {
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Now()).count();
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::clamp<int64_t>(left, 0, INT_MAX)));
    if (r > 0) return true;  // an error or hang-up too: the read or write says which
    if (r == 0 || errno != EINTR) return false;
  }
}

/// The address and port of a socket's peer (or, with `local`, its own);
/// IPv4-mapped IPv6 addresses as IPv4, so one client counts as one address.
void Endpoint(int fd, bool local, std::string* ip, int* port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  ip->clear();
  *port = -1;
  if ((local ? ::getsockname(fd, sa, &len) : ::getpeername(fd, sa, &len)) != 0) return;
  char text[INET6_ADDRSTRLEN] = "";
  if (addr.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    *port = ntohs(in->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&addr);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      ::inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], text, sizeof text);
    } else {
      ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    }
    *port = ntohs(in6->sin6_port);
  }
  *ip = text;
}

/// Closes a connection once its answer is sent. Were bytes still coming (a
/// body refused from its headers), a plain close would reset the connection
/// and the client could lose the answer: so the sending side is shut first,
/// and what comes meanwhile is read and dropped, for a moment at most.
void LingeringClose(int sock) {
  pollfd p{sock, POLLIN, 0};
  if (::poll(&p, 1, 0) > 0) {
    ::shutdown(sock, SHUT_WR);
    const Time until = Now() + std::chrono::milliseconds(200);
    char sink[16 << 10];
    for (size_t dropped = 0; dropped < (1u << 20) && WaitFor(sock, POLLIN, until);) {
      const ssize_t n = ::recv(sock, sink, sizeof sink, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) break;
      if (n > 0) dropped += static_cast<size_t>(n);
    }
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
}

/// One connection's bytes: a non-blocking socket, with TLS over it or not.
class Transport {
 public:
  explicit Transport(int fd) : fd_(fd) {}
  ~Transport() {
    if (ssl_) SSL_free(ssl_);
  }
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  /// TLS over the socket, its handshake done by `deadline`.
  bool Accept(SSL_CTX* ctx, Time deadline) {
    ssl_ = SSL_new(ctx);
    if (!ssl_ || SSL_set_fd(ssl_, fd_) != 1) return false;
    for (;;) {
      const int r = SSL_accept(ssl_);
      if (r == 1) return true;
      if (!Retry(SSL_get_error(ssl_, r), deadline)) return false;
    }
  }
  /// Up to `size` bytes by `deadline`: how many, 0 at the end, -1 on an error or at the deadline.
  ssize_t Read(char* out, size_t size, Time deadline) {
    for (;;) {
      if (ssl_) {
        const int n = SSL_read(ssl_, out, static_cast<int>(std::min<size_t>(size, INT_MAX)));
        if (n > 0) return n;
        const int error = SSL_get_error(ssl_, n);
        if (error == SSL_ERROR_ZERO_RETURN) return 0;
        if (!Retry(error, deadline)) return -1;
        continue;
      }
      const ssize_t n = ::recv(fd_, out, size, 0);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if ((errno != EAGAIN && errno != EWOULDBLOCK) || !WaitFor(fd_, POLLIN, deadline)) return -1;
    }
  }
  /// Some of `data` by `deadline`: how much, or -1.
  ssize_t Write(const char* data, size_t size, Time deadline) {
    for (;;) {
      if (ssl_) {
        const int n = SSL_write(ssl_, data, static_cast<int>(std::min<size_t>(size, INT_MAX)));
        if (n > 0) return n;
        if (!Retry(SSL_get_error(ssl_, n), deadline)) return -1;
        continue;
      }
      const ssize_t n = ::send(fd_, data, size, MSG_NOSIGNAL);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if ((errno != EAGAIN && errno != EWOULDBLOCK) || !WaitFor(fd_, POLLOUT, deadline)) return -1;
    }
  }
  /// Whether bytes (decrypted already, or on the socket) are there by `deadline`.
  bool Readable(Time deadline) const {
    return (ssl_ && SSL_pending(ssl_) > 0) || WaitFor(fd_, POLLIN, deadline);
  }
  void Close(bool gracefully) {
    if (ssl_ && gracefully) SSL_shutdown(ssl_);
  }

 private:
  /// Waits for what TLS wants; false on another error or at the deadline.
  bool Retry(int ssl_error, Time deadline) const {
    if (ssl_error == SSL_ERROR_WANT_READ) return WaitFor(fd_, POLLIN, deadline);
    if (ssl_error == SSL_ERROR_WANT_WRITE) return WaitFor(fd_, POLLOUT, deadline);
    return false;
  }

  const int fd_;
  SSL* ssl_ = nullptr;
};

/// What httplib reads a request from and writes its answer to. Between a
/// request's BeginRequest and the pre-routing handler's AllowBody, it gives
/// httplib at most the headers' bytes; then at most the body allowed; and
/// nothing after the request's deadline.
class ConnectionStream final : public httplib::Stream {
 public:
  ConnectionStream(Transport* transport, int fd, const Limits& limits)
      : transport_(transport), fd_(fd), limits_(limits) {}

  /// Whether a next request's first byte comes by `deadline`; stops waiting early when the
  /// server stops (`server_socket` closed).
  bool WaitForRequest(Time deadline, const std::atomic<socket_t>& server_socket) const {
    while (server_socket != INVALID_SOCKET) {
      if (pos_ < end_) return true;
      const Time now = Now();
      if (now >= deadline) return false;
      const Time slice = std::min(deadline, now + std::chrono::milliseconds(200));
      if (transport_->Readable(slice)) return true;
    }
    return false;
  }
  void BeginRequest(Time deadline) {
    phase_ = Phase::kHeaders;
    left_ = limits_.max_header_bytes;
    deadline_ = deadline;
    close_after_ = false;
  }
  void AllowBody(size_t bytes) {
    phase_ = Phase::kBody;
    left_ = bytes;
  }
  void CloseAfter() { close_after_ = true; }
  /// A request refused from its headers, or whose headers or body did not all come.
  bool closing() const { return close_after_ || phase_ == Phase::kHeaders || left_ > 0; }

  bool is_readable() const override { return pos_ < end_ || transport_->Readable(deadline_); }
  bool is_writable() const override { return WaitFor(fd_, POLLOUT, Now() + limits_.write_timeout); }
  ssize_t read(char* ptr, size_t size) override {
    // Past the headers' bytes: an error (httplib answers 400). Past the body allowed: its end.
    if (left_ == 0) return phase_ == Phase::kHeaders ? -1 : 0;
    if (pos_ == end_) {
      const ssize_t got = transport_->Read(buffer_, sizeof buffer_, deadline_);
      if (got <= 0) return got;
      pos_ = 0;
      end_ = static_cast<size_t>(got);
    }
    const size_t n = std::min({size, left_, end_ - pos_});
    std::memcpy(ptr, buffer_ + pos_, n);
    pos_ += n;
    left_ -= n;
    return static_cast<ssize_t>(n);
  }
  using httplib::Stream::write;
  ssize_t write(const char* ptr, size_t size) override {
    return transport_->Write(ptr, size, Now() + limits_.write_timeout);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    Endpoint(fd_, false, &ip, &port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    Endpoint(fd_, true, &ip, &port);
  }
  socket_t socket() const override { return fd_; }

 private:
  enum class Phase { kHeaders, kBody };

  Transport* transport_;
  const int fd_;
  const Limits& limits_;
  Phase phase_ = Phase::kHeaders;
  size_t left_ = 0;  // bytes httplib may still read in this phase
  Time deadline_{};
  bool close_after_ = false;
  char buffer_[4096];  // read ahead; what is left belongs to the next request
  size_t pos_ = 0, end_ = 0;
};

/// The stream of the request this thread serves, for the server's handlers.
thread_local ConnectionStream* t_stream = nullptr;
/// Set while the accepting thread closes a connection the waiting room has no place for.
thread_local bool t_no_room = false;

/// httplib's ThreadPool with a bounded waiting room: a connection accepted
/// while it is full is closed at once, on the accepting thread.
class BoundedPool final : public httplib::TaskQueue {
 public:
  BoundedPool(size_t threads, size_t max_waiting) : max_waiting_(max_waiting) {
    for (size_t i = 0; i < std::max<size_t>(1, threads); ++i) {
      threads_.emplace_back([this] { Work(); });
    }
  }
  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (waiting_.size() < max_waiting_) {
        waiting_.push_back(std::move(fn));
        cv_.notify_one();
        return;
      }
    }
    t_no_room = true;
    fn();  // process_and_close_socket, which sees t_no_room
    t_no_room = false;
  }
  void shutdown() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }

 private:
  void Work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !waiting_.empty(); });
        if (waiting_.empty()) return;  // stopping, with every accepted connection served
        fn = std::move(waiting_.front());
        waiting_.pop_front();
      }
      fn();
    }
  }

  const size_t max_waiting_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> waiting_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                      // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

/// What WidenBacklog needs of a GuardedServer, whichever its Base.
class Listening {
 public:
  virtual ~Listening() = default;
  virtual socket_t listening_socket() const = 0;
};

/// An httplib server (Base: Server or SSLServer) serving each connection
/// itself, under `limits`.
template <class Base>
class GuardedServer final : public Base, public Listening {
 public:
  template <class... Args>
  explicit GuardedServer(const Limits& limits, Args&&... args)
      : Base(std::forward<Args>(args)...), limits_(limits), count_(limits.max_per_address) {
    this->new_task_queue = [this] { return new BoundedPool(limits_.threads, limits_.max_waiting); };
  }
  socket_t listening_socket() const override { return this->svr_sock_; }

 private:
  // httplib calls this on a pool thread for each accepted connection.
  bool process_and_close_socket(socket_t sock) override {
    std::string peer;
    int port = 0;
    Endpoint(sock, false, &peer, &port);
    if (t_no_room || !count_.TryAdd(peer)) {
      // Past a limit: told so and closed at once, never lingered on (a flood
      // of such connections must not hold threads, nor the accepting one).
      Refuse(sock);
      ::close(sock);
      return false;
    }
    const bool ok = Serve(sock);
    LingeringClose(sock);
    count_.Remove(peer);
    return ok;
  }

  /// One admitted connection: its TLS handshake, then its requests.
  bool Serve(int sock) {
    const Time start = Now();
    ::fcntl(sock, F_SETFL, ::fcntl(sock, F_GETFL) | O_NONBLOCK);
    Transport transport(sock);
    bool ok = false;
    SSL_CTX* tls = TlsContext();
    if (!tls || transport.Accept(tls, start + limits_.handshake_deadline)) {
      ConnectionStream stream(&transport, sock, limits_);
      t_stream = &stream;
      for (size_t served = 0; served < limits_.max_requests_per_connection; ++served) {
        if (!stream.WaitForRequest(Now() + limits_.idle_timeout, this->svr_sock_)) break;
        stream.BeginRequest(Now() + limits_.request_deadline);
        bool closed = false;
        const bool last = served + 1 == limits_.max_requests_per_connection;
        ok = this->process_request(stream, last, closed, nullptr);
        if (!ok || closed || stream.closing()) break;
      }
      t_stream = nullptr;
    }
    transport.Close(ok);
    return ok;
  }

  /// A connection past a limit is told so (plain HTTP: TLS would need a
  /// handshake first). What it sent already is dropped, without waiting for
  /// more, so its close is no reset that could lose the answer.
  void Refuse(int sock) const {
    char sink[4096];
    for (int i = 0; i < 16 && ::recv(sock, sink, sizeof sink, MSG_DONTWAIT) > 0; ++i) {
    }
    if (TlsContext()) return;
    static constexpr char kBusy[] =
        "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\n"
        "Content-Length: 0\r\n\r\n";
    [[maybe_unused]] ssize_t sent =
        ::send(sock, kBusy, sizeof kBusy - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
  }

  SSL_CTX* TlsContext() const {
    if constexpr (std::is_base_of_v<httplib::SSLServer, Base>) {
      return this->ssl_context();
    } else {
      return nullptr;
    }
  }

  const Limits limits_;
  ConnectionCount count_;
};

}  // namespace

std::unique_ptr<httplib::Server> MakeServer(const Limits& limits, const std::string& tls_cert,
                                            const std::string& tls_key) {
  std::unique_ptr<httplib::Server> server;
  if (!tls_cert.empty() && !tls_key.empty()) {
    server = std::make_unique<GuardedServer<httplib::SSLServer>>(limits, tls_cert.c_str(),
                                                                 tls_key.c_str());
  } else {
    server = std::make_unique<GuardedServer<httplib::Server>>(limits);
  }
  // What httplib's own Keep-Alive header announces.
  server->set_keep_alive_max_count(limits.max_requests_per_connection);
  server->set_keep_alive_timeout(
      std::chrono::duration_cast<std::chrono::seconds>(limits.idle_timeout).count());
  return server;
}

void WidenBacklog(httplib::Server* server, const Limits& limits) {
  auto* listening = dynamic_cast<Listening*>(server);
  if (listening && listening->listening_socket() != INVALID_SOCKET) {
    ::listen(listening->listening_socket(), limits.listen_backlog);  // it takes the new backlog
  }
}

void AllowBody(size_t bytes) {
  if (t_stream) t_stream->AllowBody(bytes);
}

void CloseAfterAnswer() {
  if (t_stream) t_stream->CloseAfter();
}

bool ClosingAfterAnswer() { return t_stream && t_stream->closing(); }

}  // namespace ray::dashboard
