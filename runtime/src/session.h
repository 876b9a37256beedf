// A driver's or worker's connection to its node over CAF: the actor system,
// the embedded node (drivers started without an address), the handshake with
// the raylet, the GCS handle, the node's object store, and a driver's anchor
// (its identity for the raylet, whose front door takes pushed results,
// direct-call replies and worker deaths). It is also the CAF side of the
// runtime's plain cores: the ObjectOutbox of the ReferenceCounter and the
// ActorCallTransport of DirectCalls.
#ifndef RAY_RUNTIME_SRC_SESSION_H_
#define RAY_RUNTIME_SRC_SESSION_H_

#include <caf/all.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "actors/interfaces/raylet.h"
#include "actors/common/protocol.h"
#include "actors/net/net.h"
#include "actors/dashboard/dashboard_server.h"
#include "actors/node/node.h"
#include "actors/worker/worker.h"
#include "ray/api/ray_config.h"
#include "ray/api/ray_exception.h"
#include "runtime/src/direct_calls.h"
#include "runtime/src/event_flusher.h"
#include "runtime/src/reference_counter.h"
#include "storage/object_store/shm_store.h"

namespace ray::runtime {

/// GCS requests are quick; one that takes longer may be stuck on a GCS that
/// died with its head (CAF drops messages to vanished nodes silently): the
/// handle is then asked again from the raylet and the request retried.
constexpr auto kGcsTimeout = std::chrono::seconds(3);

/// Fills a CAF configuration with what every process of the cluster uses.
void ConfigureActorSystem(caf::actor_system_config& config, int scheduler_threads);

/// What a process needs to read and write the node's store; shared with the
/// buffers it hands out, so a view stays readable after Shutdown.
struct StoreClient {
  std::unique_ptr<storage::ShmStore> shm;
  caf::actor om;
  std::string client_id;
  std::mutex mu;
  bool open = true;  // GUARDED_BY(mu): false once the actor system is gone
  void Unpin(const std::string& id);
};

/// The worker handles this session's Probe hands to DirectCalls.
struct CafWorker : DirectWorker {
  explicit CafWorker(caf::actor a) : actor(std::move(a)) {}
  caf::actor actor;
};

/// Thread safety: StartDriver/StartWorker run once, on the starting thread,
/// before the session is shared; from then on the handles (raylet, anchor,
/// store, ids) are read-only until Shutdown, which runs when the process
/// leaves the runtime. gcs_ changes when refreshed (gcs_mu_), ready_ when the
/// handshake completes (ready_mu_). The outbox and transport methods may be
/// called from any thread.
class Session : public ObjectOutbox, public ActorCallTransport {
 public:
  /// Where a driver's anchor delivers, on the delivering thread (the
  /// middleman's): nothing may throw out of `worker_down`.
  struct DriverInbox {
    std::function<void(const std::string&)> results;      // (results, entries)
    std::function<void(const std::string&)> direct_done;  // (dir_done, ExecReply)
    std::function<void(const caf::actor_addr&)> worker_down;
    std::function<void(const std::string&)> worker_gone;  // (gone, worker id) from the raylet
  };
  using MakeExecutor = std::function<std::shared_ptr<worker::TaskExecutor>()>;

  Session();
  ~Session() override;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  /// Driver with an embedded node (address empty) or attached to `address`:
  /// connects, ships the code if attached, and says hello through the anchor.
  bool StartDriver(const RayConfig& config, const std::string& address, DriverInbox inbox,
                   std::string* error);
  /// Worker process: connects to its node and starts the worker actor (its
  /// handle goes to `*worker`) running tasks through the executor made here.
  bool StartWorker(const std::string& address, const std::string& worker_id,
                   const MakeExecutor& make_executor, caf::actor* worker, std::string* error);
  /// Stops the embedded node (if any) and the actor system.
  void Shutdown();
  /// Blocks until the handshake with the node is complete.
  void WaitReady();
  /// This process's events to the raylet now; with `wait`, until it has them
  /// and its workers' too (ev_flush), so that a query sees them.
  void FlushEvents(bool wait);
  /// The head's dashboard URL (from the GCS); empty when none runs.
  std::string WebuiUrl();
  /// The cluster's events (an encoded events::EventsReply) from the GCS.
  std::string QueryEvents(const std::string& job_id);

  caf::actor_system& system() { return *system_; }
  const raylet::RayletActor& raylet() const { return raylet_; }
  /// True in a driver (which has an anchor), until Shutdown.
  bool is_driver() const { return static_cast<bool>(anchor_); }
  const std::string& client_id() const { return client_id_; }
  const std::string& job_id() const { return job_id_; }
  StoreClient& store() const { return *store_; }
  const std::shared_ptr<StoreClient>& shared_store() const { return store_; }

  /// A blocking request: the reply of type Reply, or a RayException that
  /// starts with `what` when the destination cannot be reached.
  template <typename Reply, typename Dest, typename Duration, typename... Ts>
  Reply Ask(const Dest& dest, Duration timeout, const std::string& what, Ts&&... xs);
  /// A request to the GCS, asked once more of a refreshed handle when it fails
  /// (the head may have restarted).
  template <typename Reply, typename... Ts>
  Reply AskGcs(const std::string& what, const Ts&... xs);

  // -- ObjectOutbox ----------------------------------------------------------------
  void Release(const std::string& id, bool may_free) override;
  void Put(const proto::ObjectEntry& entry) override;

  // -- ActorCallTransport ------------------------------------------------------------
  /// (submit, spec) to the raylet: every task and actor call of this process.
  void Submit(const proto::TaskSpec& spec) override;
  proto::ActorRoute Probe(const std::string& actor_id, std::shared_ptr<const DirectWorker>* worker,
                          std::string* worker_id) override;
  void Monitor(const DirectWorker& worker) override;
  void SendDirect(const DirectWorker& worker, std::string request) override;
  TimePoint Now() override { return std::chrono::steady_clock::now(); }
  /// True when `worker` (made by Probe) is the actor at `address`.
  static bool IsWorker(const DirectWorker& worker, const caf::actor_addr& address);

 private:
  bool Connect(const std::string& host, uint16_t port, const proto::Hello& hello,
               const caf::actor& client, std::string* error);
  bool Handshake(const proto::Hello& hello, const caf::actor& client, std::string* error);
  /// The embedded cluster's dashboard (RayConfig::include_webui).
  bool StartDashboard(const RayConfig& config, std::string* error);
  /// Names this process in its events and starts flushing them.
  void StartEvents(const char* component_type);
  /// This process's metrics to its raylet (`changed_only`: when recorded since the last time).
  void SendMetrics(bool changed_only);
  /// The driver's identity for the raylet (its death ends the job): a front
  /// door for what `inbox` takes, and the actor behind it for requests.
  void SpawnAnchor(DriverInbox inbox);
  caf::actor Gcs();
  void RefreshGcs();

  std::unique_ptr<caf::actor_system_config> config_;
  std::unique_ptr<caf::actor_system> system_;
  std::optional<node::Node> node_;  // embedded node
  std::unique_ptr<dashboard::Server> dashboard_;  // RayConfig::include_webui
  raylet::RayletActor raylet_;
  std::mutex gcs_mu_;
  caf::actor gcs_;  // GUARDED_BY(gcs_mu_); after a restart of the head, asked again
  caf::actor anchor_;
  caf::actor anchor_back_;
  std::shared_ptr<StoreClient> store_;
  EventFlusher flusher_;
  std::string client_id_;
  std::string job_id_;

  std::mutex ready_mu_;
  std::condition_variable ready_cv_;
  bool ready_ = false;  // GUARDED_BY(ready_mu_)
};

template <typename Reply, typename Dest, typename Duration, typename... Ts>
Reply Session::Ask(const Dest& dest, Duration timeout, const std::string& what,
                   Ts&&... xs) {
  caf::scoped_actor self{*system_, true};
  Reply out{};
  std::string failure;
  self->request(dest, timeout, std::forward<Ts>(xs)...)
      .receive([&](Reply& reply) { out = std::move(reply); },
               [&](caf::error& e) { failure = net::Describe(e); });
  if (!failure.empty()) throw RayException(what + failure);
  return out;
}

template <typename Reply, typename... Ts>
Reply Session::AskGcs(const std::string& what, const Ts&... xs) {
  try {
    return Ask<Reply>(Gcs(), kGcsTimeout, what, xs...);
  } catch (const RayException&) {
    RefreshGcs();
    return Ask<Reply>(Gcs(), kGcsTimeout, what, xs...);
  }
}

}  // namespace ray::runtime

#endif  // RAY_RUNTIME_SRC_SESSION_H_
