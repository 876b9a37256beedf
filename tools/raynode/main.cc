// raynode: the node daemon (raylet, object manager and worker pool; on the
// head also the GCS). Drivers connect with RayConfig::address = "host:port";
// other nodes join with --address=host:port of the head.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <caf/io/all.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <string>

#include "actors/common/auth.h"
#include "actors/common/logging.h"
#include "actors/common/profile_events.h"
#include "actors/dashboard/dashboard_server.h"
#include "actors/dashboard/metrics_server.h"
#include "actors/interfaces/gcs.h"
#include "actors/net/net.h"
#include "actors/common/self_exe.h"
#include "actors/node/node.h"
#include "tools/ray/flat_json.h"

namespace po = boost::program_options;

namespace {

/// What the command line says.
struct Flags {
  std::string host, temp_dir, resources_json, plasma_dir, level, head_address, password,
      address_file, gcs_dir, dashboard_host, webui_file;
  int port = 0, om_port = 0, gcs_shards = 1, max_clients = 0, dashboard_port = 8265;
  int metrics_export_port = -1;  // -1: none
  bool include_webui = false;
  ray::net::TlsSettings tls;
  double num_gpus = 0;
  int64_t store_memory = 0, gcs_max_memory = 0, heartbeat_timeout_ms = 5000;
};

po::options_description Describe(Flags* f) {
  po::options_description desc("raynode: run a Ray node (GCS, raylet, object store) on this host");
  desc.add_options()
      ("help,h", "show this help")
      ("head", "run the GCS here: start a new cluster (the default without --address)")
      ("address", po::value(&f->head_address), "host:port of the head node: join its cluster")
      ("tls-cert", po::value(&f->tls.cert), "TLS: this node's certificate (PEM; RAY_TLS_SERVER_CERT)")
      ("tls-key", po::value(&f->tls.key), "TLS: its private key (PEM; RAY_TLS_SERVER_KEY)")
      ("tls-ca", po::value(&f->tls.ca), "TLS: the cluster's CA certificate (PEM; RAY_TLS_CA_CERT)")
      ("password", po::value(&f->password), "the cluster's auth token (else RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token)")
      ("gcs-dir", po::value(&f->gcs_dir),
       "head: the GCS's LevelDB directory (default <session>/gcs); a head restarted on the same "
       "directory and port finds its tables, and the other nodes rejoin it")
      ("gcs-shards", po::value(&f->gcs_shards)->default_value(1),
       "head: LevelDB databases the GCS tables are spread over")
      ("max-clients", po::value(&f->max_clients)->default_value(0),
       "head: most nodes the cluster accepts (0: no limit)")
      ("gcs-max-memory", po::value(&f->gcs_max_memory)->default_value(0),
       "head: cap in bytes of the lineage log; the oldest records are evicted first (0: none)")
      ("object-manager-port", po::value(&f->om_port)->default_value(0),
       "also publish the object manager on this port (0: don't)")
      ("heartbeat-timeout-ms", po::value(&f->heartbeat_timeout_ms)->default_value(5000),
       "a node silent this long is declared dead (heartbeats every timeout/5, at most 500 ms)")
      ("load-code-from-local",
       "run workers of jobs from other hosts from their code_search_path here, not shipped code")
      ("include-webui", po::bool_switch(&f->include_webui),
       "head: serve the web dashboard (it needs the cluster's auth token; HTTPS with --tls-*)")
      ("dashboard-host", po::value(&f->dashboard_host)->default_value("127.0.0.1"),
       "head: the dashboard's address (default loopback only: reach it through an SSH tunnel)")
      ("dashboard-port", po::value(&f->dashboard_port)->default_value(8265),
       "head: the dashboard's port (0: any free port)")
      ("webui-file", po::value(&f->webui_file), "write the dashboard's URL to this file")
      ("metrics-export-port", po::value(&f->metrics_export_port),
       "serve this node's user metrics as Prometheus text (GET /metrics, no token) on this port "
       "of the node's address (0: any free port)")
      ("address-file", po::value(&f->address_file),
       "write \"host:port\" to this file once listening")
      ("node-ip-address", po::value(&f->host)->default_value("127.0.0.1"), "address to listen on")
      ("port", po::value(&f->port)->default_value(0), "port to listen on (0: any free port)")
      ("num-cpus", po::value<double>(), "CPUs of this node (default: all cores; 0: none)")
      ("num-gpus", po::value(&f->num_gpus)->default_value(0), "GPUs of this node")
      ("resources", po::value(&f->resources_json)->default_value("{}"),
       "custom resources as JSON, e.g. '{\"Custom\": 2}'")
      ("object-store-memory", po::value(&f->store_memory)->default_value(0),
       "bytes of the shared-memory object store (0: min(30% of RAM, 20 GiB))")
      ("plasma-directory", po::value(&f->plasma_dir), "directory for the store's mapped file")
      ("huge-pages", "back the store with hugetlbfs (needs --plasma-directory on hugetlbfs)")
      ("temp-dir", po::value(&f->temp_dir)->default_value("/tmp/ray"), "root of session directories")
      ("no-log-to-driver", "keep worker output in the session's log files only")
      ("logging-level", po::value(&f->level)->default_value("info"), "debug, info, warning or error");
  return desc;
}

/// Why the flags do not make sense together; empty when they do.
std::string Validate(const Flags& f, const po::variables_map& vm) {
  if (f.port < 0 || f.port > 65535) return "--port must be between 0 and 65535";
  if (f.om_port < 0 || f.om_port > 65535) {
    return "--object-manager-port must be between 0 and 65535";
  }
  if (vm.count("head") && !f.head_address.empty()) return "--head and --address exclude each other";
  if (f.gcs_shards < 1 || f.gcs_shards > 64) return "--gcs-shards must be between 1 and 64";
  if (f.max_clients < 0 || f.gcs_max_memory < 0) {
    return "--max-clients and --gcs-max-memory must not be negative";
  }
  if (vm.count("num-cpus") && vm["num-cpus"].as<double>() < 0) {
    return "--num-cpus must not be negative";
  }
  if (f.num_gpus < 0) return "--num-gpus must not be negative";
  if (f.heartbeat_timeout_ms < 100) return "--heartbeat-timeout-ms must be at least 100";
  if (f.dashboard_port < 0 || f.dashboard_port > 65535) {
    return "--dashboard-port must be between 0 and 65535";
  }
  if (vm.count("metrics-export-port") &&
      (f.metrics_export_port < 0 || f.metrics_export_port > 65535)) {
    return "--metrics-export-port must be between 0 and 65535";
  }
  if (!f.head_address.empty() && f.include_webui) {
    return "--include-webui applies to the head only (its dashboard shows the whole cluster)";
  }
  if (!f.head_address.empty() && (vm.count("gcs-dir") || !vm["gcs-shards"].defaulted() ||
                                  !vm["max-clients"].defaulted() ||
                                  !vm["gcs-max-memory"].defaulted())) {
    return "--gcs-dir, --gcs-shards, --max-clients and --gcs-max-memory apply to the head only "
           "(this node joins " + f.head_address + ")";
  }
  return "";
}

bool ToOptions(const Flags& f, const po::variables_map& vm, ray::node::NodeOptions* options,
               std::string* error) {
  if (!ray::cli::ParseResources(f.resources_json, &options->resources, error)) {
    *error = "--resources: " + *error;
    return false;
  }
  options->host = f.host;
  options->port = static_cast<uint16_t>(f.port);
  if (vm.count("num-cpus")) options->num_cpus = vm["num-cpus"].as<double>();
  options->num_gpus = f.num_gpus;
  options->object_store_memory = f.store_memory;
  options->plasma_directory = f.plasma_dir;
  options->huge_pages = vm.count("huge-pages") > 0;
  options->temp_dir = f.temp_dir;
  options->log_to_driver = vm.count("no-log-to-driver") == 0;
  std::string dir = ray::SelfExecutableDirectory();
  options->preload_library = dir + "/../lib/libray_worker_preload.so";
  options->default_worker = dir + "/ray_default_worker";
  options->worker_env["RAY_LOGGING_LEVEL"] = f.level;
  options->head_address = f.head_address;
  options->gcs_shards = f.gcs_shards;
  options->gcs_dir = f.gcs_dir;
  options->max_clients = f.max_clients;
  options->gcs_max_memory = f.gcs_max_memory;
  options->object_manager_port = static_cast<uint16_t>(f.om_port);
  options->heartbeat_timeout_ms = f.heartbeat_timeout_ms;
  options->exit_on_removal = true;
  options->load_code_from_local = vm.count("load-code-from-local") > 0;
  return true;
}

/// The auth token and TLS settings of this process (and of its workers).
bool SetUpSecurity(const Flags& f, std::string* error) {
  ray::auth::Settings auth;
  if (!ray::auth::Resolve(f.password, &auth, error)) return false;
  if (auth.mode == ray::auth::Mode::kToken && auth.token.empty() && f.head_address.empty()) {
    // A new cluster nobody configured gets a token, as `ray start --head` makes.
    std::string path = ray::auth::DefaultTokenPath();
    bool created = false;
    if (path.empty()) {
      *error = "no auth token (set RAY_AUTH_TOKEN, or HOME for ~/.ray/auth_token)";
      return false;
    }
    if (!ray::auth::EnsureTokenFile(path, &auth.token, &created, error)) return false;
    auth.source = path;
    if (created) std::cout << "raynode: created the cluster's auth token in " << path << std::endl;
  }
  ray::net::SetAuth(auth);
  ray::net::TlsSettings tls;
  if (!ray::net::ResolveTls(f.tls, &tls, error)) return false;
  ray::net::SetTls(tls);
  if (tls.enabled) {
    // Its workers read the same variables (they inherit this environment).
    setenv("RAY_USE_TLS", "1", 1);
    setenv("RAY_TLS_SERVER_CERT", tls.cert.c_str(), 1);
    setenv("RAY_TLS_SERVER_KEY", tls.key.c_str(), 1);
    setenv("RAY_TLS_CA_CERT", tls.ca.c_str(), 1);
  }
  return true;
}

/// Writes one line atomically (a reader never sees half of it).
bool WriteLineFile(const std::string& path, const std::string& line) {
  std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  return f && std::fprintf(f, "%s\n", line.c_str()) >= 0 && std::fclose(f) == 0 &&
         std::rename(tmp.c_str(), path.c_str()) == 0;
}

/// The head's dashboard, when --include-webui asks for it; false after printing why not.
bool StartDashboard(const Flags& f, caf::actor_system& system, const ray::node::Node& node,
                    std::unique_ptr<ray::dashboard::Server>* server) {
  if (!f.include_webui) return true;
  ray::dashboard::ServerOptions options;
  options.host = f.dashboard_host;
  options.port = static_cast<uint16_t>(f.dashboard_port);
  options.token = ray::net::Auth().token;
  if (ray::net::Tls().enabled) {
    options.tls_cert = ray::net::Tls().cert;
    options.tls_key = ray::net::Tls().key;
  }
  options.version = RAY_CAF_VERSION;
  std::string error;
  *server = ray::dashboard::Server::Start(system, node.gcs, options, &error);
  if (!*server) {
    std::cerr << "raynode: --include-webui: " << error << std::endl;
    return false;
  }
  {
    caf::scoped_actor self{system, true};  // from this process: the GCS refuses webui otherwise
    self->send(caf::actor_cast<ray::gcs::GcsActor>(node.gcs), ray::gcs::webui_atom::value,
               (*server)->url());
  }
  std::cout << "dashboard at " << (*server)->url() << " (log in with the cluster's token: ray get-auth-token)"
            << std::endl;
  if (!f.webui_file.empty() && !WriteLineFile(f.webui_file, (*server)->url())) {
    std::cerr << "raynode: cannot write --webui-file " << f.webui_file << std::endl;
    return false;
  }
  return true;
}

/// Runs the node until SIGINT or SIGTERM; the exit status.
int Run(const Flags& f, const ray::node::NodeOptions& options) {
  // SIGINT/SIGTERM are taken synchronously below; block them before any thread starts.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  caf::actor_system_config config;
  ray::net::Configure(config, 0);
  caf::actor_system system{config};
  std::string error;
  auto node = ray::node::Start(system, options, &error);
  if (!node) {
    std::cerr << "raynode: " << error << std::endl;
    return 1;
  }
  std::cout << "raynode listening on " << f.host << ":" << node->port << " (session "
            << node->session_dir
            << (f.head_address.empty() ? ", head" : ", joined " + f.head_address) << ")"
            << std::endl;
  std::unique_ptr<ray::dashboard::Server> dashboard;
  if (!StartDashboard(f, system, *node, &dashboard)) {
    ray::node::Stop(system, *node);
    return 1;
  }
  if (!f.address_file.empty() &&
      !WriteLineFile(f.address_file, f.host + ":" + std::to_string(node->port))) {
    std::cerr << "raynode: cannot write --address-file " << f.address_file << std::endl;
    ray::node::Stop(system, *node);
    return 1;
  }
  std::unique_ptr<ray::dashboard::MetricsServer> metrics;
  if (f.metrics_export_port >= 0) {
    metrics = ray::dashboard::MetricsServer::Start(
        system, caf::actor_cast<caf::actor>(node->raylet), f.host,
        static_cast<uint16_t>(f.metrics_export_port), &error);
    if (!metrics) {
      std::cerr << "raynode: " << error << std::endl;
      dashboard.reset();
      ray::node::Stop(system, *node);
      return 1;
    }
    std::cout << "metrics at http://" << f.host << ":" << metrics->port() << "/metrics" << std::endl;
  }
  std::cout << "connect a driver with RayConfig::address = \"" << f.host << ":" << node->port
            << "\" or RAY_ADDRESS=" << f.host << ":" << node->port << std::endl;
  int received = 0;
  sigwait(&stop_signals, &received);
  metrics.reset();
  dashboard.reset();
  ray::node::Stop(system, *node);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // The raylet flushes this process's events (raylet, object manager) itself.
  ray::events::Recorder::Instance().SetIdentity("node", "");
  Flags flags;
  po::options_description desc = Describe(&flags);
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    std::cerr << "raynode: " << e.what() << "\n" << desc << std::endl;
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc << std::endl;
    return 0;
  }
  std::string error = Validate(flags, vm);
  ray::logging::Level log_level;
  if (error.empty() && !ray::logging::ParseLevel(flags.level, &log_level)) {
    error = "--logging-level must be debug, info, warning or error";
  }
  ray::node::NodeOptions options;
  if (error.empty() && ToOptions(flags, vm, &options, &error)) {
    ray::logging::Configure(log_level,
                            "%(asctime)s\t%(levelname)s %(filename)s:%(lineno)s -- %(message)s");
    if (SetUpSecurity(flags, &error)) return Run(flags, options);
  }
  std::cerr << "raynode: " << error << std::endl;
  return 2;
}
