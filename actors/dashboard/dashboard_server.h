// The web dashboard's HTTP(S) server: cpp-httplib (Debian's
// libcpp-httplib-dev) on threads of its own, never on an actor's, over the
// Api of dashboard_api.h, whose Backend here asks the GCS actor (observe,
// ev_get) through CAF. Served by the head raynode with --include-webui, or by
// a driver's embedded cluster with RayConfig::include_webui. Each connection
// is served under ServerOptions::limits (dashboard_connection.h): requests
// are refused from their headers before any body is read, and slow or many
// clients take a bounded share of threads and time.
#ifndef RAY_ACTORS_DASHBOARD_DASHBOARD_SERVER_H_
#define RAY_ACTORS_DASHBOARD_DASHBOARD_SERVER_H_

#include <caf/all.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "actors/dashboard/dashboard_limits.h"

namespace ray::dashboard {

struct ServerOptions {
  std::string host = "127.0.0.1";  // loopback unless --dashboard-host says otherwise
  uint16_t port = 8265;            // 0: any free port
  std::string token;               // the cluster's auth token; required
  std::string tls_cert;            // PEM files: HTTPS when both are given
  std::string tls_key;
  std::string version;
  Limits limits;  // what one client may take of the server (dashboard_limits.h)
};

class Server {
 public:
  /// Binds and starts serving; nullptr with `*error` when it cannot (port taken, bad TLS files).
  static std::unique_ptr<Server> Start(caf::actor_system& system, caf::actor gcs,
                                       const ServerOptions& options, std::string* error);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  uint16_t port() const;
  /// "http://127.0.0.1:8265" (https with TLS).
  std::string url() const;

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ray::dashboard

#endif  // RAY_ACTORS_DASHBOARD_DASHBOARD_SERVER_H_
