#include "actors/dashboard/dashboard_server.h"

#include <httplib.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <thread>

#include "actors/dashboard/dashboard_api.h"
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
  if (tls) {
    impl->http = std::make_unique<httplib::SSLServer>(options.tls_cert.c_str(), options.tls_key.c_str());
  } else {
    impl->http = std::make_unique<httplib::Server>();
  }
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
  impl->port = static_cast<uint16_t>(port);
  impl->url = std::string(tls ? "https://" : "http://") + options.host + ":" + std::to_string(port);
  Settings settings{options.token, AllowedHosts(options.host, impl->port), tls, options.version};
  impl->backend = std::make_unique<GcsBackend>(system, std::move(gcs));
  impl->api = std::make_unique<Api>(impl->backend.get(), std::move(settings));
  Api* api = impl->api.get();
  auto handler = [api](const httplib::Request& in, httplib::Response& out) {
    Response r = api->Handle(ToRequest(in));
    out.status = r.status;
    for (const auto& [key, value] : r.headers) out.set_header(key, value);
    out.set_content(r.body, r.content_type.c_str());
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
