#include "tools/ray/cluster_client.h"

#include <caf/io/all.hpp>

#include <cstdlib>

#include "actors/common/address.h"
#include "actors/common/auth.h"
#include "actors/net/atoms.h"
#include "tools/ray/commands.h"

namespace ray::cli {

ClusterClient::ClusterClient() = default;
ClusterClient::~ClusterClient() = default;

int ClusterClient::Connect(const std::string& command, std::string address,
                           const std::string& password) {
  if (address.empty() && std::getenv("RAY_ADDRESS")) address = std::getenv("RAY_ADDRESS");
  if (address.empty()) {
    return Fail(command, "give --address HOST:PORT of a node (or set RAY_ADDRESS)", kExitUsage);
  }
  std::string host;
  uint16_t port = 0;
  if (!SplitHostPort(address, &host, &port)) {
    return Fail(command, "invalid address '" + address + "': expected HOST:PORT", kExitUsage);
  }
  address_ = address;
  auth::Settings auth;
  std::string why;
  if (!auth::Resolve(password, &auth, &why)) return Fail(command, why, kExitUsage);
  net::SetAuth(auth);
  net::TlsSettings tls;
  if (!net::ResolveTls({}, &tls, &why)) return Fail(command, why, kExitUsage);
  net::SetTls(tls);
  config_ = std::make_unique<caf::actor_system_config>();
  net::Configure(*config_, 2);
  system_ = std::make_unique<caf::actor_system>(*config_);
  auto raylet = net::Connect(*system_, host, port, std::chrono::seconds(10), &why);
  if (!raylet) return Fail(command, why, kExitFailure);
  std::string refused;
  caf::scoped_actor self{*system_, true};
  self->request(raylet, std::chrono::seconds(10), atoms::gcs_of::value, std::string())
      .receive(
          [&](std::string& reason, caf::actor& handle) {
            refused = reason;
            gcs_ = handle;
          },
          [&](caf::error& e) { refused = net::Describe(e); });
  if (!refused.empty() || !gcs_) {
    return Fail(command, "the node at " + address + " refused: " + refused, kExitFailure);
  }
  return 0;
}

bool ClusterClient::Observe(const std::string& kind, const std::string& args, std::string* json,
                            std::string* error) {
  // gdb takes seconds per worker; the GCS waits up to 120 s for each node.
  auto timeout = kind == "stack" ? std::chrono::seconds(150) : std::chrono::seconds(30);
  return AskGcs(timeout, json, error, atoms::observe::value, kind, args);
}

bool ClusterClient::Events(const std::string& job_id, std::string* bytes, std::string* error) {
  std::string ignored;
  Observe("flush", "{}", &ignored, error);  // best effort: what the GCS has is still worth reading
  return AskGcs(std::chrono::seconds(60), bytes, error, atoms::ev_get::value, job_id);
}

}  // namespace ray::cli
