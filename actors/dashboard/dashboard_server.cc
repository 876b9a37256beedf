#include "actors/dashboard/dashboard_server.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <optional>
#include <thread>

#include "actors/dashboard/dashboard_api.h"
#include "actors/dashboard/dashboard_connection.h"
#include "actors/dashboard/dashboard_limits.h"
#include "actors/net/atoms.h"
#include "actors/net/net.h"

namespace ray::dashboard {
namespace {

/// The GCS's queries, asked from the server's threads.
class GcsBackend final : public Backend {
 public:
  GcsBackend(caf::actor_system& system, caf::actor gcs) : system_(system), gcs_(std::move(gcs)) {}

  bool Report(const std::string& kind, const std::string& args, std::string* json,
              std::string* error) override {
    auto timeout = kind == "stack" ? std::chrono::seconds(150) : std::chrono::seconds(30);
    return Ask(timeout, json, error, atoms::observe::value, kind, args);
  }
  bool Events(const std::string& job_id, std::string* bytes, std::string* error) override {
    // Events reach the GCS within a second anyway; a flush (a request to
    // every worker of every node) makes the last second visible too, but
    // pages poll every 2 s: at most one flush per kFlushEvery.
    const auto now = std::chrono::steady_clock::now();
    bool flush = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (now - last_flush_ >= kFlushEvery) {
        last_flush_ = now;
        flush = true;
      }
    }
    if (flush) {
      std::string ignored;
      Ask(std::chrono::seconds(10), &ignored, error, atoms::observe::value, std::string("flush"),
          std::string("{}"));
    }
    return Ask(std::chrono::seconds(60), bytes, error, atoms::ev_get::value, job_id);
  }

 private:
  template <class... Ts>
  bool Ask(std::chrono::seconds timeout, std::string* reply, std::string* error, const Ts&... xs) {
    return net::AskForString(system_, gcs_, timeout, reply, error, xs...);
  }

  static constexpr std::chrono::seconds kFlushEvery{5};
  caf::actor_system& system_;
  caf::actor gcs_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point last_flush_{};  // GUARDED_BY(mu_)
};

Request ToRequest(const httplib::Request& in) {
  Request out;
  out.method = in.method;
  out.path = in.path;
  for (const auto& [key, value] : in.params) out.query.emplace(key, value);  // the first of each
  for (const auto& [key, value] : in.headers) {
    std::string lower = key;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out.headers.emplace(lower, value);
  }
  out.body = in.body;
  return out;
}

void Fill(const Response& r, httplib::Response* out) {
  out->status = r.status;
  for (const auto& [key, value] : r.headers) out->set_header(key, value);
  out->set_content(r.body, r.content_type.c_str());
}

/// httplib adds REMOTE_ADDR, REMOTE_PORT, LOCAL_ADDR and LOCAL_PORT to a request's headers.
constexpr size_t kHeadersHttplibAdds = 4;

/// Runs after a request's headers, before any of its body: a request refused
/// from its headers is answered without reading its body (and its connection
/// then closed), and one let through may read no more than its Content-Length,
/// which Preflight checked against its route's limit.
httplib::Server::HandlerResponse Preflight(const Api& api, const Limits& limits,
                                           const httplib::Request& in, httplib::Response& out) {
  const bool announces_body = in.has_header("Content-Length") || in.has_header("Transfer-Encoding");
  std::optional<Response> refused;
  if (in.headers.size() > limits.max_headers + kHeadersHttplibAdds) {
    refused = Envelope(431, false, "at most " + std::to_string(limits.max_headers) + " headers",
                       nlohmann::json::object());
  } else if (in.get_header_value_count("Content-Length") > 1) {
    // Two lengths: which one a proxy in front used is anyone's guess (request smuggling).
    refused = Envelope(400, false, "one Content-Length", nlohmann::json::object());
  }
  if (refused) {
    Fill(*refused, &out);
    CloseAfterAnswer();
    return httplib::Server::HandlerResponse::Handled;
  }
  if (std::optional<Response> early = api.Preflight(ToRequest(in))) {
    Fill(*early, &out);
    if (announces_body) CloseAfterAnswer();
    return httplib::Server::HandlerResponse::Handled;
  }
  const std::string length = in.get_header_value("Content-Length");
  AllowBody(length.empty() ? 0 : std::stoull(length));
  return httplib::Server::HandlerResponse::Unhandled;
}

std::vector<std::string> AllowedHosts(const std::string& host, uint16_t port) {
  const std::string p = ":" + std::to_string(port);
  if (host == "0.0.0.0" || host == "::") return {"*"};  // any address of this host: the token guards it
  std::vector<std::string> hosts = {host + p};
  if (host == "127.0.0.1" || host == "localhost") {
    hosts.push_back("127.0.0.1" + p);
    hosts.push_back("localhost" + p);
  }
  return hosts;
}

}  // namespace

struct Server::Impl {
  std::unique_ptr<GcsBackend> backend;
  std::unique_ptr<Api> api;
  std::unique_ptr<httplib::Server> http;
  std::thread thread;
  uint16_t port = 0;
  std::string url;
};

std::unique_ptr<Server> Server::Start(caf::actor_system& system, caf::actor gcs,
                                      const ServerOptions& options, std::string* error) {
  if (options.token.empty()) {
    *error = "the dashboard needs the cluster's auth token";
    return nullptr;
  }
  auto impl = std::make_unique<Impl>();
  const bool tls = !options.tls_cert.empty() && !options.tls_key.empty();
  impl->http = MakeServer(options.limits, tls ? options.tls_cert : "", tls ? options.tls_key : "");
  if (!impl->http->is_valid()) {
    *error = "the dashboard cannot use its TLS certificate or key (" + options.tls_cert + ", " +
             options.tls_key + ")";
    return nullptr;
  }
  int port = options.port == 0 ? impl->http->bind_to_any_port(options.host)
                               : (impl->http->bind_to_port(options.host, options.port) ? options.port : -1);
  if (port <= 0) {
    *error = "the dashboard cannot listen on " + options.host + ":" + std::to_string(options.port) +
             " (in use, or not an address of this host)";
    return nullptr;
  }
  WidenBacklog(impl->http.get(), options.limits);
  impl->port = static_cast<uint16_t>(port);
  impl->url = std::string(tls ? "https://" : "http://") + options.host + ":" + std::to_string(port);
  Settings settings{options.token, AllowedHosts(options.host, impl->port), tls, options.version};
  impl->backend = std::make_unique<GcsBackend>(system, std::move(gcs));
  impl->api = std::make_unique<Api>(impl->backend.get(), std::move(settings));
  Api* api = impl->api.get();
  const Limits limits = options.limits;
  impl->http->set_payload_max_length(kMaxLoginBody);  // Preflight refuses more first
  impl->http->set_pre_routing_handler(
      [api, limits](const httplib::Request& in, httplib::Response& out) {
        return Preflight(*api, limits, in, out);
      });
  // Expect: 100-continue would invite the body before the pre-routing handler refused it.
  impl->http->set_expect_100_continue_handler(
      [api](const httplib::Request& in, httplib::Response& out) {
        std::optional<Response> early = api->Preflight(ToRequest(in));
        if (!early) return 100;
        Fill(*early, &out);
        CloseAfterAnswer();
        return early->status;
      });
  impl->http->set_post_routing_handler([](const httplib::Request&, httplib::Response& out) {
    if (!ClosingAfterAnswer()) return;
    out.headers.erase("Keep-Alive");
    out.headers.erase("Connection");
    out.set_header("Connection", "close");
  });
  auto handler = [api](const httplib::Request& in, httplib::Response& out) {
    Fill(api->Handle(ToRequest(in)), &out);
  };
  impl->http->Get(R"(/.*)", handler);
  impl->http->Post(R"(/.*)", handler);
  impl->http->Put(R"(/.*)", handler);
  impl->http->Delete(R"(/.*)", handler);
  impl->http->Patch(R"(/.*)", handler);
  httplib::Server* http = impl->http.get();
  impl->thread = std::thread([http] { http->listen_after_bind(); });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  impl_->http->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

uint16_t Server::port() const { return impl_->port; }
std::string Server::url() const { return impl_->url; }

}  // namespace ray::dashboard
