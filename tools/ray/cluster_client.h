// A CLI command's connection to a running cluster: through any node
// (--address, else $RAY_ADDRESS), with the cluster's auth token and TLS
// settings, to the GCS, whose queries (observe, ev_get, lineage_get) answer
// `ray status`, `memory`, `stack`, `logs`, `timeline` and `lineage`.
#ifndef RAY_TOOLS_RAY_CLUSTER_CLIENT_H_
#define RAY_TOOLS_RAY_CLUSTER_CLIENT_H_

#include <caf/all.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "actors/net/net.h"

namespace ray::cli {

class ClusterClient {
 public:
  ClusterClient();
  ~ClusterClient();

  /// Connects; on failure returns the exit code (after printing "ray <command>:
  /// why"): 2 for a usage error (no or bad address, no token), 1 when the
  /// cluster cannot be reached. 0 on success.
  int Connect(const std::string& command, std::string address, const std::string& password);

  /// A request to the GCS answered by one string; false (and `*error`) when
  /// it fails or times out.
  template <class... Ts>
  bool AskGcs(std::chrono::seconds timeout, std::string* reply, std::string* error,
              const Ts&... xs) {
    return net::AskForString(*system_, gcs_, timeout, reply, error, xs...);
  }

  /// The cluster's report of `kind` (observe), parsed later by the caller.
  bool Observe(const std::string& kind, const std::string& args, std::string* json,
               std::string* error);

  /// The cluster's events of `job_id` (empty: all; an encoded
  /// events::EventsReply), after every node flushed the last second's.
  bool Events(const std::string& job_id, std::string* bytes, std::string* error);

  const std::string& address() const { return address_; }
  caf::actor_system& system() { return *system_; }
  const caf::actor& gcs() const { return gcs_; }

 private:
  std::unique_ptr<caf::actor_system_config> config_;
  std::unique_ptr<caf::actor_system> system_;
  caf::actor gcs_;
  std::string address_;
};

}  // namespace ray::cli

#endif  // RAY_TOOLS_RAY_CLUSTER_CLIENT_H_
