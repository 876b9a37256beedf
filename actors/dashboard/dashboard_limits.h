// What one client may take of the dashboard's server, in plain C++: the
// limits the server (dashboard_connection.h) applies to every connection,
// and the count of open connections by address that enforces two of them.
// A slow or greedy client (slowloris, a 1 GiB body, thousands of headers)
// costs a bounded share of threads, time and memory, and never the head's
// GCS, which shares the process.
#ifndef RAY_ACTORS_DASHBOARD_DASHBOARD_LIMITS_H_
#define RAY_ACTORS_DASHBOARD_DASHBOARD_LIMITS_H_

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace ray::dashboard {

struct Limits {
  /// Threads serving connections; a connection holds one while it is open.
  size_t threads = 48;
  /// Accepted connections waiting for a thread; past it, one is closed at once.
  size_t max_waiting = 192;
  /// Connections the kernel completes before they are accepted. httplib's
  /// (5) made a burst of 20 connections lose handshakes, and their clients
  /// (any client, then) retry a second or more later.
  int listen_backlog = 256;
  /// Connections open at once from one address (a browser opens 6 per host).
  size_t max_per_address = 16;
  /// From a request's first byte to the end of its headers and body: a
  /// client that trickles them (slowloris) is cut off then (with a 400 once
  /// its request line came), not waited for. Browsers and scripts send a
  /// request in one piece.
  std::chrono::milliseconds request_deadline{3000};
  /// A TLS handshake, from the connection's start.
  std::chrono::milliseconds handshake_deadline{3000};
  /// A kept-alive connection waiting for its next request.
  std::chrono::milliseconds idle_timeout{5000};
  /// Writing an answer without progress.
  std::chrono::milliseconds write_timeout{5000};
  /// Requests on one connection before it is closed.
  size_t max_requests_per_connection = 100;
  /// The request line and headers, in bytes, and the headers' count.
  size_t max_header_bytes = 16 << 10;
  size_t max_headers = 64;
};

/// Open connections by peer address, at most `per_address` from one (all of
/// them together are bounded by the threads and the waiting room). Thread-safe.
class ConnectionCount {
 public:
  explicit ConnectionCount(size_t per_address) : per_address_(per_address) {}
  ConnectionCount(const ConnectionCount&) = delete;
  ConnectionCount& operator=(const ConnectionCount&) = delete;

  /// Counts a connection from `address`; false (nothing counted) past a limit.
  bool TryAdd(const std::string& address);
  /// Forgets a connection TryAdd counted.
  void Remove(const std::string& address);
  size_t open() const;

 private:
  const size_t per_address_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, size_t> by_address_;  // GUARDED_BY(mu_)
  size_t open_ = 0;                                     // GUARDED_BY(mu_)
};

}  // namespace ray::dashboard

#endif  // RAY_ACTORS_DASHBOARD_DASHBOARD_LIMITS_H_
