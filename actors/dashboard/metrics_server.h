// A node's metrics export port (Ray's --metrics-export-port): GET /metrics
// answers this node's user metrics (ray::Counter, Gauge, Histogram, Sum of its
// drivers and workers, asked of its raylet) as Prometheus text, for a
// Prometheus server to scrape. Nothing else is served, and no request has a
// body. Like Ray's, it needs no token: it is opened only by that flag, on the
// node's own address; it shows figures, never code, logs or objects.
// Connections are served under Limits, as the dashboard's (dashboard_connection.h).
#ifndef RAY_ACTORS_DASHBOARD_METRICS_SERVER_H_
#define RAY_ACTORS_DASHBOARD_METRICS_SERVER_H_

#include <caf/all.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace ray::dashboard {

class MetricsServer {
 public:
  /// Binds host:port (0: any free port) and serves; nullptr with `*error` when it cannot.
  static std::unique_ptr<MetricsServer> Start(caf::actor_system& system, caf::actor raylet,
                                              const std::string& host, uint16_t port,
                                              std::string* error);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;
  uint16_t port() const;

 private:
  struct Impl;
  explicit MetricsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// The Prometheus text of a raylet's (observe, "metrics") answer, each sample
/// labelled with its NodeId.
std::string NodeMetricsText(const std::string& observe_json);

}  // namespace ray::dashboard

#endif  // RAY_ACTORS_DASHBOARD_METRICS_SERVER_H_
