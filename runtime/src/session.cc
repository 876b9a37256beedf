#include "runtime/src/session.h"

#include "runtime/src/metrics_registry.h"

#include <unistd.h>

#include <caf/io/all.hpp>
#include <caf/scoped_execution_unit.hpp>

#include <nlohmann/json.hpp>

#include <iostream>
#include <utility>

#include "actors/common/address.h"
#include "actors/common/auth.h"
#include "actors/common/ids.h"
#include "actors/common/process_report.h"
#include "actors/common/self_exe.h"
#include "actors/interfaces/gcs.h"
#include "actors/net/atoms.h"
#include "actors/net/front_door.h"
#include "actors/net/safe_behavior.h"
#include "runtime/src/code_shipping.h"

namespace ray::runtime {
namespace {

constexpr auto kConnectTimeout = std::chrono::seconds(30);
constexpr auto kProbeTimeout = std::chrono::seconds(5);

/// Authentication and TLS of a driver (workers read the same variables).
bool SecureDriver(const RayConfig& config, const std::string& address, std::string* error) {
  auth::Settings auth;
  if (!auth::Resolve(config.redis_password, &auth, error)) return false;
  if (address.empty() && auth.mode == auth::Mode::kToken && auth.token.empty()) {
    // An embedded cluster needs no set-up: a token of its own, for this session.
    auth.token = auth::GenerateToken();
    auth.source = "this session";
  }
  net::SetAuth(auth);
  net::TlsSettings tls;
  if (!net::ResolveTls({}, &tls, error)) return false;
  net::SetTls(tls);
  return true;
}

node::NodeOptions EmbeddedNodeOptions(const RayConfig& config) {
  node::NodeOptions options;
  if (!config.node_ip_address.empty()) options.host = config.node_ip_address;
  if (!config.temp_dir.empty()) options.temp_dir = config.temp_dir;
  if (config.num_cpus) options.num_cpus = *config.num_cpus;
  options.num_gpus = config.num_gpus.value_or(0);
  options.resources = config.resources;
  options.object_store_memory = config.object_store_memory.value_or(0);
  options.plasma_directory = config.plasma_directory;
  options.huge_pages = config.huge_pages;
  options.log_to_driver = config.log_to_driver;
  std::string lib = LibraryDirectoryOf(reinterpret_cast<const void*>(&ConfigureActorSystem));
  options.preload_library = lib + "/libray_worker_preload.so";
  options.default_worker = lib + "/../bin/ray_default_worker";
  options.worker_env["RAY_LOGGING_LEVEL"] = config.configure_logging ? config.logging_level : "off";
  options.worker_env["RAY_LOGGING_FORMAT"] = config.logging_format;
  options.gcs_shards = config.num_redis_shards.value_or(1);
  options.max_clients = config.redis_max_clients.value_or(0);
  options.gcs_max_memory = config.redis_max_memory.value_or(0);
  return options;
}

/// The RayConfig option, if any, that only a cluster ray::Init starts takes.
const char* HeadOnlyOption(const RayConfig& config) {
  return config.num_redis_shards    ? "num_redis_shards"
         : config.redis_max_clients ? "redis_max_clients"
         : config.redis_max_memory  ? "redis_max_memory"
                                    : nullptr;
}

/// Answers requests a driver's anchor gets (its front door takes the rest).
caf::behavior AnchorBackDoor(caf::event_based_actor* self) {
  return safe::Behavior(
      self, "driver", [](atoms::stats) { return std::string("driver"); },
      // `ray memory`: the ObjectRefs this driver holds (its node asks).
      [](atoms::observe, const std::string&, const std::string&) {
        return observe::References();
      });
}

}  // namespace

void StoreClient::Unpin(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu);
  if (!open) return;
  caf::anon_send(om, atoms::unpin::value, client_id, proto::Encode(std::vector<std::string>{id}));
}

void ConfigureActorSystem(caf::actor_system_config& config, int scheduler_threads) {
  net::Configure(config, scheduler_threads);
}

Session::Session() : config_(std::make_unique<caf::actor_system_config>()) {}

Session::~Session() { Shutdown(); }

// -- start and stop ------------------------------------------------------------------

bool Session::StartDriver(const RayConfig& config, const std::string& address,
                          DriverInbox inbox, std::string* error) {
  if (!SecureDriver(config, address, error)) return false;
  ConfigureActorSystem(*config_, 0);
  system_ = std::make_unique<caf::actor_system>(*config_);
  client_id_ = ids::Random(16);
  std::string host;
  uint16_t port = 0;
  if (address.empty()) {
    node::NodeOptions options = EmbeddedNodeOptions(config);
    node_ = node::Start(*system_, options, error);
    if (!node_) return false;
    if (config.include_webui && !StartDashboard(config, error)) return false;
    host = options.host;
    port = node_->port;
  } else if (!SplitHostPort(address, &host, &port)) {
    *error = "invalid address '" + address + "': expected host:port";
    return false;
  } else if (const char* head_only = HeadOnlyOption(config)) {
    *error = std::string("RayConfig::") + head_only +
             " configures a cluster that ray::Init starts; with an address, give it to "
             "`ray start --head` instead";
    return false;
  }
  proto::Hello hello;
  hello.client_id = client_id_;
  hello.is_driver = true;
  hello.pid = getpid();
  hello.executable = SelfExecutable();
  hello.code_search_path = config.code_search_path;
  hello.load_code_from_local = config.load_code_from_local;
  proto::CodePackage code;
  if (!address.empty() && !config.load_code_from_local) {
    // Workers on other hosts run this code, shipped through the GCS.
    if (!CodeShipping(hello.executable, config.code_search_path).Read(&code, error)) return false;
    hello.ships_code = true;
  }
  SpawnAnchor(std::move(inbox));
  if (!Connect(host, port, hello, anchor_, error)) return false;
  StartEvents("driver");
  if (hello.ships_code) caf::anon_send(Gcs(), atoms::code_put::value, job_id_, proto::Encode(code));
  return true;
}

bool Session::StartWorker(const std::string& address, const std::string& worker_id,
                          const MakeExecutor& make_executor, caf::actor* worker,
                          std::string* error) {
  auth::Settings auth;
  if (!auth::Resolve("", &auth, error)) return false;  // the node's token, in RAY_AUTH_TOKEN
  net::SetAuth(auth);
  net::TlsSettings tls;
  if (!net::ResolveTls({}, &tls, error)) return false;  // the node's, in RAY_USE_TLS etc.
  net::SetTls(tls);
  // Workers mostly block in their own thread; two scheduler threads keep idle polling low.
  ConfigureActorSystem(*config_, 2);
  system_ = std::make_unique<caf::actor_system>(*config_);
  client_id_ = worker_id;
  std::string host;
  uint16_t port = 0;
  if (!SplitHostPort(address, &host, &port)) {
    *error = "invalid node address '" + address + "'";
    return false;
  }
  raylet_ = caf::actor_cast<raylet::RayletActor>(
      net::Connect(*system_, host, port, kConnectTimeout, error));
  if (!raylet_) return false;
  worker::Handles handles =
      worker::Spawn(*system_, make_executor(), caf::actor_cast<caf::actor>(raylet_));
  *worker = handles.actor;
  proto::Hello hello;
  hello.client_id = worker_id;
  hello.pid = getpid();
  if (!Handshake(hello, handles.front, error)) return false;
  StartEvents("worker");
  return true;
}

void Session::StartEvents(const char* component_type) {
  events::Recorder::Instance().SetIdentity(component_type, client_id_, is_driver() ? job_id_ : "");
  flusher_.Start(
      [raylet = raylet_](events::Batch batch) {
        caf::anon_send(raylet, atoms::ev_add::value, static_cast<uint32_t>(batch.events.size()),
                       proto::Encode(batch));
      },
      EventFlusher::kPeriod, [this] { SendMetrics(/*changed_only=*/true); });
}

void Session::SendMetrics(bool changed_only) {
  if (!raylet_) return;
  if (auto snapshot = MetricsRegistry::Instance().Take(changed_only); snapshot && !snapshot->empty()) {
    caf::anon_send(raylet_, atoms::metrics::value, client_id_, proto::Encode(*snapshot));
  }
}

void Session::FlushEvents(bool wait) {
  if (!raylet_) return;
  SendMetrics(/*changed_only=*/false);  // before the events: a flushed query sees both
  EventFlusher::FlushNow([&](events::Batch batch) {
    if (!wait) {
      caf::anon_send(raylet_, atoms::ev_add::value, static_cast<uint32_t>(batch.events.size()),
                     proto::Encode(batch));
      return;
    }
    Ask<bool>(raylet_, std::chrono::seconds(2), "cannot flush events: ", atoms::ev_add::value,
              static_cast<uint32_t>(batch.events.size()), proto::Encode(batch));
  });
  // A driver's query waits for the node's workers too; a worker's own flush must not.
  if (wait && is_driver()) {
    Ask<bool>(raylet_, std::chrono::seconds(2), "cannot flush events: ", atoms::ev_flush::value);
  }
}

bool Session::StartDashboard(const RayConfig& config, std::string* error) {
  dashboard::ServerOptions options;
  options.host = config.dashboard_host;
  options.port = static_cast<uint16_t>(config.dashboard_port);
  options.token = net::Auth().token;
  if (net::Tls().enabled) {
    options.tls_cert = net::Tls().cert;
    options.tls_key = net::Tls().key;
  }
  options.version = "embedded";
  dashboard_ = dashboard::Server::Start(*system_, node_->gcs, options, error);
  if (!dashboard_) {
    *error = "RayConfig::include_webui: " + *error;
    return false;
  }
  caf::scoped_actor self{*system_, true};  // from this process: the GCS refuses webui otherwise
  self->send(caf::actor_cast<gcs::GcsActor>(node_->gcs), gcs::webui_atom::value, dashboard_->url());
  if (net::Auth().source == "this session") {
    // Nobody else knows a token made for this session: the link logs a browser in
    // (as Jupyter prints its own), shown to this driver's user only.
    std::cerr << "ray: the dashboard is at " << dashboard_->url() << "/?token=" << net::Auth().token
              << std::endl;
  }
  return true;
}

std::string Session::WebuiUrl() {
  std::string json = AskGcs<std::string>("cannot ask the GCS for the dashboard: ",
                                         atoms::observe::value, std::string("info"),
                                         std::string("{}"));
  nlohmann::json info = nlohmann::json::parse(json, nullptr, false);
  if (!info.is_object() || !info.contains("webui_url") || !info["webui_url"].is_string()) return "";
  return info["webui_url"].get<std::string>();
}

std::string Session::QueryEvents(const std::string& job_id) {
  FlushEvents(true);
  try {
    // Every node's workers flush too (the GCS asks each raylet), so the last
    // second of the other nodes is in the answer as well.
    AskGcs<std::string>("cannot flush the cluster's events: ", atoms::observe::value,
                        std::string("flush"), std::string("{}"));
  } catch (const RayException&) {
    // A node that does not answer in time: what the GCS has is still worth writing.
  }
  return AskGcs<std::string>("cannot read the events from the GCS: ", atoms::ev_get::value, job_id);
}

void Session::SpawnAnchor(DriverInbox inbox) {
  // The front door, a caf::actor_companion, takes results, direct-call
  // replies and worker deaths on the thread that delivers them, so a waiting
  // Get is woken without first waking a scheduler thread; requests go to the
  // actor behind.
  anchor_back_ = system_->spawn<caf::hidden>(AnchorBackDoor);
  anchor_ = front_door::Spawn(*system_);
  front_door::Of(anchor_)->on_enqueue(
      [inbox = std::move(inbox), back = anchor_back_](caf::mailbox_element_ptr ptr) {
        const auto& msg = ptr->content();
        // This runs on the delivering thread (the middleman's): nothing may throw out of it.
        try {
          if (front_door::Is<std::string>(msg, atoms::results::value)) {
            inbox.results(msg.get_as<std::string>(1));
            return;
          }
          if (front_door::Is<std::string>(msg, atoms::dir_done::value)) {
            inbox.direct_done(msg.get_as<std::string>(1));
            return;
          }
          if (front_door::Is<std::string>(msg, atoms::gone::value)) {
            inbox.worker_gone(msg.get_as<std::string>(1));
            return;
          }
        } catch (const std::exception& e) {
          safe::ReportDrop("driver front door", ptr->sender, e.what());
          return;
        }
        if (msg.match_elements<caf::down_msg>()) {
          inbox.worker_down(msg.get_as<caf::down_msg>(0).source);
        } else if (!msg.match_elements<caf::exit_msg>()) {
          back->enqueue(std::move(ptr), nullptr);
        }
      });
}

bool Session::Connect(const std::string& host, uint16_t port, const proto::Hello& hello,
                      const caf::actor& client, std::string* error) {
  if (!node_) {
    raylet_ = caf::actor_cast<raylet::RayletActor>(
        net::Connect(*system_, host, port, kConnectTimeout, error));
    if (!raylet_) return false;
  } else {
    raylet_ = caf::actor_cast<raylet::RayletActor>(node_->raylet);
  }
  return Handshake(hello, client, error);
}

bool Session::Handshake(const proto::Hello& hello, const caf::actor& client, std::string* error) {
  caf::scoped_actor self{*system_, true};
  std::string info_bytes;
  caf::actor om;
  bool ok = false;
  self->request(raylet_, kConnectTimeout, atoms::hello::value, proto::Encode(hello), client)
      .receive(
          [&](std::string& info, caf::actor& object_manager, caf::actor& gcs) {
            info_bytes = std::move(info);
            om = std::move(object_manager);
            std::lock_guard<std::mutex> lock(gcs_mu_);
            gcs_ = std::move(gcs);
            ok = true;
          },
          [&](caf::error& err) { *error = "the node refused the connection: " + net::Describe(err); });
  if (!ok) return false;
  auto info = proto::Decode<proto::NodeInfo>(info_bytes);
  job_id_ = info.job_id;
  store_ = std::make_shared<StoreClient>();
  store_->om = om;
  store_->client_id = client_id_;
  std::string shm_error;
  store_->shm = storage::ShmStore::Attach(info.shm_name, info.shm_directory, &shm_error);
  if (!store_->shm) {
    *error = "cannot map the node's object store " + info.shm_name + ": " + shm_error +
             " (is the node on another host?)";
    return false;
  }
  {
    std::lock_guard<std::mutex> lock(ready_mu_);
    ready_ = true;
  }
  ready_cv_.notify_all();
  return true;
}

void Session::WaitReady() {
  std::unique_lock<std::mutex> lock(ready_mu_);
  ready_cv_.wait(lock, [this] { return ready_; });
}

void Session::Shutdown() {
  if (!system_) return;
  flusher_.Stop();
  try {
    FlushEvents(true);  // a driver's last events, before its job ends
  } catch (const std::exception&) {
    // The node is gone: nothing to send them to.
  }
  if (store_) {
    std::lock_guard<std::mutex> lock(store_->mu);
    store_->open = false;
  }
  dashboard_.reset();  // its threads ask the GCS: stop them first
  if (node_) {
    node::Stop(*system_, *node_);
    node_.reset();
  }
  if (anchor_) {
    // Drop whatever still arrives (the handler must not outlive the
    // runtime), then end the companion as CAF's own Qt widget does
    // (actor_companion::disconnect is not exported by Debian's libcaf).
    front_door::Of(anchor_)->on_enqueue([](caf::mailbox_element_ptr) {});
    caf::scoped_execution_unit unit{system_.get()};
    front_door::Of(anchor_)->cleanup(caf::exit_reason::user_shutdown, &unit);
    caf::anon_send_exit(anchor_back_, caf::exit_reason::user_shutdown);
    anchor_ = nullptr;
    anchor_back_ = nullptr;
  }
  raylet_ = nullptr;
  {
    std::lock_guard<std::mutex> lock(gcs_mu_);
    gcs_ = nullptr;
  }
  if (store_) store_->om = nullptr;
  system_.reset();
}

// -- the GCS -------------------------------------------------------------------------

caf::actor Session::Gcs() {
  std::lock_guard<std::mutex> lock(gcs_mu_);
  return gcs_;
}

void Session::RefreshGcs() {
  caf::scoped_actor self{*system_, true};
  self->request(raylet_, kConnectTimeout, atoms::gcs_of::value, std::string())
      .receive(
          [&](std::string& why, caf::actor& gcs) {
            if (!why.empty() || !gcs) return;
            std::lock_guard<std::mutex> lock(gcs_mu_);
            gcs_ = std::move(gcs);
          },
          [&](caf::error&) {});
}

// -- outbox and transport --------------------------------------------------------------

void Session::Release(const std::string& id, bool may_free) {
  if (raylet_) caf::anon_send(raylet_, atoms::release::value, id, may_free);
}

void Session::Put(const proto::ObjectEntry& entry) {
  caf::anon_send(store_->om, atoms::put::value, proto::Encode(entry));
}

void Session::Submit(const proto::TaskSpec& spec) {
  caf::anon_send(raylet_, atoms::submit::value, proto::Encode(spec));
}

proto::ActorRoute Session::Probe(const std::string& actor_id,
                                 std::shared_ptr<const DirectWorker>* worker,
                                 std::string* worker_id) {
  caf::scoped_actor self{*system_, true};
  auto how = proto::ActorRoute::kLater;
  self->request(raylet_, kProbeTimeout, atoms::actor_ep::value, actor_id)
      .receive(
          [&](int32_t route, caf::actor& handle, std::string& id) {
            if (route < 0 || route > static_cast<int32_t>(proto::ActorRoute::kRaylet)) return;
            how = static_cast<proto::ActorRoute>(route);
            if (how == proto::ActorRoute::kDirect && handle) {
              *worker = std::make_shared<CafWorker>(std::move(handle));
            }
            *worker_id = std::move(id);
          },
          [&](caf::error&) {});  // ask again later; the call goes through the raylet
  return how;
}

void Session::Monitor(const DirectWorker& worker) {
  front_door::Of(anchor_)->monitor(static_cast<const CafWorker&>(worker).actor);
}

void Session::SendDirect(const DirectWorker& worker, std::string request) {
  caf::anon_send(static_cast<const CafWorker&>(worker).actor, atoms::direct::value,
                 std::move(request), anchor_);
}

bool Session::IsWorker(const DirectWorker& worker, const caf::actor_addr& address) {
  return static_cast<const CafWorker&>(worker).actor.address() == address;
}

}  // namespace ray::runtime
