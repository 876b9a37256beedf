#include "actors/dashboard/metrics_server.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <thread>

#include "actors/common/metrics.h"
#include "actors/dashboard/dashboard_connection.h"
#include "actors/dashboard/dashboard_limits.h"
#include "actors/net/atoms.h"
#include "actors/net/net.h"

namespace ray::dashboard {

struct MetricsServer::Impl {
  std::unique_ptr<httplib::Server> http;
  std::thread thread;
  uint16_t port = 0;
};

std::string NodeMetricsText(const std::string& observe_json) {
  nlohmann::json answer = nlohmann::json::parse(observe_json, nullptr, false);
  if (!answer.is_object()) return "";
  metrics::Snapshot snapshot = metrics::FromJson(answer.value("metrics", nlohmann::json::array()));
  return metrics::Prometheus({{snapshot, {{"NodeId", answer.value("node_id", "")}}}});
}

std::unique_ptr<MetricsServer> MetricsServer::Start(caf::actor_system& system, caf::actor raylet,
                                                    const std::string& host, uint16_t port,
                                                    std::string* error) {
  Limits limits;
  limits.threads = 4;  // a scraper or two
  limits.max_waiting = 16;
  limits.max_per_address = 4;
  auto impl = std::make_unique<Impl>();
  impl->http = MakeServer(limits, "", "");
  int bound = port == 0 ? impl->http->bind_to_any_port(host)
                        : (impl->http->bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    *error = "--metrics-export-port: cannot listen on " + host + ":" + std::to_string(port) +
             " (in use, or not an address of this host)";
    return nullptr;
  }
  WidenBacklog(impl->http.get(), limits);
  impl->port = static_cast<uint16_t>(bound);
  impl->http->set_payload_max_length(0);
  impl->http->set_pre_routing_handler([](const httplib::Request& in, httplib::Response& out) {
    if (in.method == "GET" && in.path == "/metrics" && !in.has_header("Content-Length") &&
        !in.has_header("Transfer-Encoding")) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    out.status = in.path == "/metrics" ? 405 : 404;
    out.set_content("only GET /metrics is served here\n", "text/plain");
    CloseAfterAnswer();
    return httplib::Server::HandlerResponse::Handled;
  });
  impl->http->Get("/metrics", [&system, raylet](const httplib::Request&, httplib::Response& out) {
    std::string answer, why;
    if (!net::AskForString(system, raylet, std::chrono::seconds(10), &answer, &why,
                           atoms::observe::value, std::string("metrics"), std::string("{}"))) {
      out.status = 503;
      out.set_content("the node did not answer: " + why + "\n", "text/plain");
      return;
    }
    out.set_content(NodeMetricsText(answer), "text/plain; version=0.0.4");
  });
  httplib::Server* http = impl->http.get();
  impl->thread = std::thread([http] { http->listen_after_bind(); });
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MetricsServer::~MetricsServer() {
  impl_->http->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

uint16_t MetricsServer::port() const { return impl_->port; }

}  // namespace ray::dashboard
