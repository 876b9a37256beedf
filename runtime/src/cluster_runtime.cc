#include "runtime/src/cluster_runtime.h"

#include <algorithm>

#include "actors/common/ids.h"
#include "actors/common/placement.h"
#include "actors/common/process_report.h"
#include "actors/common/profile_events.h"
#include "actors/net/atoms.h"
#include "ray/api.h"
#include "runtime/src/buffers.h"
#include "runtime/src/errors.h"
#include "runtime/src/runtime_env_util.h"

namespace ray::runtime {
namespace {

/// Records the submit_task event, naming the submitted task.
void NoteSubmit(events::Scoped& event, const proto::TaskSpec& spec) {
  if (!event.active()) return;
  event.view().task_id = spec.task_id;
  event.view().job_id = spec.job_id;
  event.view().actor_id = spec.actor_id;
  event.view().function = spec.function;
  event.Finish();
}

}  // namespace
namespace {

/// Bytes read in place from the shared-memory store; unpins the object when destroyed.
class ShmBuffer : public internal::ObjectBuffer {
 public:
  ShmBuffer(std::shared_ptr<StoreClient> store, std::string id, const char* data, size_t size)
      : store_(std::move(store)), id_(std::move(id)), data_(data), size_(size) {}
  ~ShmBuffer() override { store_->Unpin(id_); }
  const char* data() const override { return data_; }
  size_t size() const override { return size_; }
  bool in_shared_memory() const override { return true; }

 private:
  std::shared_ptr<StoreClient> store_;
  std::string id_;
  const char* data_;
  size_t size_;
};

}  // namespace

/// Most ids one process lists for `ray memory` (the total counts them all).
constexpr size_t kReferenceReportLimit = 10000;

ClusterRuntime::ClusterRuntime() {
  observe::SetReferenceReport([this] { return refs_.ReportJson(kReferenceReportLimit); });
}

ClusterRuntime::~ClusterRuntime() {
  observe::SetReferenceReport(nullptr);
  Shutdown();
}

std::unique_ptr<ClusterRuntime> ClusterRuntime::StartDriver(const RayConfig& config,
                                                            const std::string& address,
                                                            std::string* error) {
  std::unique_ptr<ClusterRuntime> rt(new ClusterRuntime());
  ClusterRuntime* self = rt.get();
  Session::DriverInbox inbox{
      [self](const std::string& bytes) { self->OnPushedResults(bytes); },
      [self](const std::string& bytes) { self->OnDirectDone(bytes); },
      [self](const caf::actor_addr& worker) { self->OnDirectWorkerDown(worker); },
      [self](const std::string& worker_id) {
        self->HandleWorkerDown(self->direct_.OnWorkerGone(worker_id));
      }};
  if (!rt->session_.StartDriver(config, address, std::move(inbox), error)) return nullptr;
  std::string seed_base = rt->session_.job_id();
  TaskContext& context = *rt->context_;
  if (config.object_id_seed) {
    seed_base += "seed" + std::to_string(*config.object_id_seed);
    context.task_id = ids::Derive(seed_base, 0);
  } else {
    context.task_id = ids::Derive(seed_base + ids::Random(16), 0);
  }
  // Ray's anonymous namespace: one of this job's own, which no other job can name.
  context.ray_namespace = config.ray_namespace.empty()
                              ? "anonymous-" + ids::Hex(ids::Random(16))
                              : config.ray_namespace;
  context.default_detached = config.default_actor_lifetime == ActorLifetime::DETACHED;
  if (config.runtime_env && !config.runtime_env->Empty()) {
    // Throws RayRuntimeEnvException (the runtime shuts down with rt).
    context.runtime_env = rt->ResolveRuntimeEnv("", config.runtime_env->Serialize(), "ray::Init");
  }
  return rt;
}

std::unique_ptr<ClusterRuntime> ClusterRuntime::StartWorker(const std::string& address,
                                                            const std::string& worker_id,
                                                            const ExecutorFactory& make_executor,
                                                            caf::actor* worker,
                                                            std::string* error) {
  std::unique_ptr<ClusterRuntime> rt(new ClusterRuntime());
  ClusterRuntime* self = rt.get();
  if (!rt->session_.StartWorker(
          address, worker_id, [&] { return make_executor(self); }, worker, error)) {
    return nullptr;
  }
  return rt;
}

// -- ids and specs -------------------------------------------------------------

std::vector<proto::Arg> ClusterRuntime::PrepareArgs(std::vector<internal::TaskArg> args) {
  std::vector<proto::Arg> out;
  out.reserve(args.size());
  std::vector<std::string> refs;
  for (const auto& a : args) {
    if (a.is_ref) refs.push_back(a.object_id);
  }
  if (!refs.empty()) refs_.Share(refs);  // the raylet resolves them through the object manager
  for (auto& a : args) {
    if (!a.is_ref && a.value.size() > proto::kInlineObjectLimit) {
      // Large by-value arguments go through the store once instead of in every message.
      std::string id = Put(internal::SerializedObject::FromString(std::move(a.value)));
      out.push_back({true, id, {}});
    } else {
      out.push_back({a.is_ref, std::move(a.object_id), std::move(a.value)});
    }
  }
  return out;
}

proto::TaskSpec ClusterRuntime::NewSpec(proto::TaskKind kind, const std::string& function,
                                        std::vector<internal::TaskArg> args, int num_returns) {
  proto::TaskSpec spec;
  {
    // One lock for the id and what the spec inherits from the calling task.
    std::lock_guard<std::mutex> lock(mu_);
    TaskContext& context = Context();
    spec.task_id = ids::Derive(context.task_id, ++context.task_counter);
    spec.ray_namespace = context.ray_namespace;
    spec.default_detached = context.default_detached;
    spec.runtime_env = context.runtime_env;
  }
  spec.job_id = session_.job_id();
  spec.kind = static_cast<uint8_t>(kind);
  spec.function = function;
  spec.args = PrepareArgs(std::move(args));
  for (int i = 0; i < num_returns; ++i) spec.return_ids.push_back(ids::ObjectId(spec.task_id, i + 1));
  spec.caller_id = session_.client_id();
  return spec;
}

void ClusterRuntime::ApplyEnvAndGroup(proto::TaskSpec* spec, const std::string& runtime_env,
                                      const std::string& placement_group, int bundle_index,
                                      const std::string& what) {
  if (!runtime_env.empty()) {
    spec->runtime_env = ResolveRuntimeEnv(spec->runtime_env, runtime_env, what);
  }
  if (placement_group.empty()) return;
  spec->placement_group = placement_group;
  spec->bundle_index = bundle_index;
  spec->resources = proto::RequestInGroup(placement_group, bundle_index, spec->resources);
}

// -- tasks and actors --------------------------------------------------------------

std::vector<std::string> ClusterRuntime::SubmitTask(const std::string& function,
                                                    std::vector<internal::TaskArg> args,
                                                    const internal::CallOptions& options) {
  events::Scoped event("submit_task");
  proto::TaskSpec spec = NewSpec(proto::TaskKind::kNormal, function, std::move(args),
                                 std::max(1, options.num_returns));
  spec.resources = options.resources;
  if (!spec.resources.count("CPU")) spec.resources["CPU"] = 1;  // Ray's default for tasks
  spec.max_calls = options.max_calls;
  spec.max_retries = options.max_retries;
  spec.retry_exceptions = options.retry_exceptions;
  spec.name = options.name;
  ApplyEnvAndGroup(&spec, options.runtime_env, options.placement_group, options.bundle_index,
                   "ray::Task(...).Remote");
  std::vector<std::string> ids = spec.return_ids;
  refs_.MarkSubmitted(ids, /*await_push=*/session_.is_driver());
  session_.Submit(spec);
  NoteSubmit(event, spec);
  return ids;
}

std::string ClusterRuntime::CreateActor(const std::string& factory,
                                        std::vector<internal::TaskArg> args,
                                        const internal::ActorOptions& options) {
  events::Scoped event("submit_task");
  proto::TaskSpec spec = NewSpec(proto::TaskKind::kActorCreation, factory, std::move(args), 0);
  spec.actor_id = spec.task_id;
  spec.resources = options.resources;  // actors hold only what they ask for (default none)
  spec.max_restarts = options.max_restarts;
  spec.max_concurrency = options.max_concurrency;
  spec.detached = options.detached.value_or(spec.default_detached);
  spec.actor_name = options.name;
  spec.name_namespace = options.ray_namespace.empty() ? spec.ray_namespace : options.ray_namespace;
  ApplyEnvAndGroup(&spec, options.runtime_env, options.placement_group, options.bundle_index,
                   "ray::Actor(...).Remote");
  spec.name = factory;
  if (!options.name.empty() &&
      !session_.AskGcs<bool>("cannot register actor name: ", atoms::reserve::value,
                             proto::ActorNameKey(spec.name_namespace, options.name),
                             spec.actor_id)) {
    throw RayException("an actor named '" + options.name + "' already exists in namespace '" +
                       spec.name_namespace + "'");
  }
  session_.Submit(spec);
  NoteSubmit(event, spec);
  return spec.actor_id;
}

std::vector<std::string> ClusterRuntime::SubmitActorTask(const std::string& actor_id,
                                                         const std::string& method,
                                                         std::vector<internal::TaskArg> args,
                                                         const internal::CallOptions& options) {
  events::Scoped event("submit_task");
  proto::TaskSpec spec = NewSpec(proto::TaskKind::kActorMethod, method, std::move(args),
                                 std::max(1, options.num_returns));
  spec.actor_id = actor_id;
  spec.name = options.name;
  spec.max_retries = options.max_retries;  // re-run on the restarted actor if it dies
  std::vector<std::string> ids = spec.return_ids;
  refs_.MarkSubmitted(ids, /*await_push=*/session_.is_driver());
  std::vector<proto::ObjectEntry> failed;
  if (direct_.FailIfEnded(spec, &failed)) {
    refs_.KeepResults(std::move(failed), /*owner_only=*/true);
    return ids;
  }
  NoteSubmit(event, spec);
  if (session_.is_driver()) {
    direct_.Route(std::move(spec));
  } else {
    session_.Submit(spec);
  }
  return ids;
}

std::optional<std::string> ClusterRuntime::GetNamedActor(const std::string& name,
                                                         const std::string& ray_namespace) {
  std::string key = proto::ActorNameKey(ray_namespace.empty() ? GetNamespace() : ray_namespace,
                                        name);
  std::string id = session_.AskGcs<std::string>("GetActor failed, GCS unreachable: ",
                                                atoms::lookup::value, key);
  if (id.empty()) return std::nullopt;
  // Killed by this process: gone, even if the GCS has not heard yet.
  if (direct_.IsEnded(id)) return std::nullopt;
  return id;
}

void ClusterRuntime::KillActor(const std::string& actor_id, bool no_restart) {
  if (no_restart) direct_.MarkKilled(actor_id);
  caf::anon_send(session_.raylet(), atoms::kill::value, actor_id, no_restart);
}

void ClusterRuntime::ExitActor() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!Context().in_actor) throw RayException("ray::ExitActor called outside an actor method");
  Context().exit_actor = true;
}

// -- what the anchor delivers ----------------------------------------------------------

void ClusterRuntime::OnPushedResults(const std::string& bytes) {
  auto entries = proto::Decode<std::vector<proto::ObjectEntry>>(bytes);
  direct_.OnRayletResults(entries);
  refs_.KeepResults(std::move(entries), /*owner_only=*/false);
}

void ClusterRuntime::OnDirectDone(const std::string& bytes) {
  auto reply = proto::Decode<proto::ExecReply>(bytes);
  if (!direct_.OnDone(reply)) return;
  refs_.KeepResults(std::move(reply.results), /*owner_only=*/!reply.stored);
}

void ClusterRuntime::OnDirectWorkerDown(const caf::actor_addr& worker) {
  HandleWorkerDown(direct_.OnWorkerDown(
      [&](const DirectWorker& w) { return Session::IsWorker(w, worker); }));
}

void ClusterRuntime::HandleWorkerDown(DirectCalls::WorkerDown down) {
  // Behind their submits: the store frees them once the retry stores them.
  for (const auto& id : down.unreferenced) session_.Release(id, true);
  if (!down.failed.empty()) refs_.KeepResults(std::move(down.failed), /*owner_only=*/true);
}

// -- objects -------------------------------------------------------------------

int64_t ClusterRuntime::Create(const std::string& id, uint64_t size) {
  // Via the raylet, behind this process's earlier releases (see RemoveLocalReference).
  auto reply = proto::Decode<proto::CreateReply>(
      session_.Ask<std::string>(session_.raylet(), caf::infinite, "object store unreachable: ",
                                atoms::create::value, id, size));
  if (!reply.error.empty()) throw RayObjectStoreFullException(reply.error);
  return reply.offset;
}

proto::ObjectEntry ClusterRuntime::StoreResult(const std::string& id,
                                               const internal::SerializedObject& value) {
  proto::ObjectEntry entry;
  entry.id = id;
  if (value.size <= proto::kInlineObjectLimit) {
    entry.kind = static_cast<uint8_t>(proto::ObjectKind::kInline);
    entry.data = value.ToString();
    return entry;
  }
  entry.kind = static_cast<uint8_t>(proto::ObjectKind::kShm);
  entry.offset = Create(id, value.size);
  entry.size = value.size;
  value.write_to(session_.store().shm->At(entry.offset));
  return entry;
}

std::string ClusterRuntime::Put(const internal::SerializedObject& object) {
  events::Scoped event("ray.put");
  std::string id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    TaskContext& context = Context();
    id = ids::ObjectId(context.task_id, ids::kPutIndexFlag | ++context.put_counter);
  }
  proto::ObjectEntry entry = StoreResult(id, object);
  refs_.MarkOwned(id);
  if (entry.kind == static_cast<uint8_t>(proto::ObjectKind::kInline)) {
    refs_.CacheLocally(id, std::make_shared<InlineBuffer>(entry.data));
  }
  session_.Put(entry);
  event.view().value = static_cast<int64_t>(object.size);
  return id;
}

std::pair<const char*, size_t> ClusterRuntime::ArgBytes(const proto::ObjectEntry& entry) const {
  if (entry.kind == static_cast<uint8_t>(proto::ObjectKind::kShm)) {
    return {session_.store().shm->At(entry.offset), entry.size};
  }
  return {entry.data.data(), entry.data.size()};
}

std::vector<std::shared_ptr<internal::ObjectBuffer>> ClusterRuntime::Get(
    const std::vector<std::string>& ids, int64_t timeout_ms) {
  events::Scoped event("ray.get");
  event.view().value = static_cast<int64_t>(ids.size());
  std::vector<std::shared_ptr<internal::ObjectBuffer>> out;
  if (refs_.GetCached(ids, &out)) return out;  // every object small and already here
  if (session_.is_driver() && refs_.GetPushed(ids, &timeout_ms, &out)) return out;
  refs_.Share(ids);  // results only this process holds (or will) go to the store
  return GetFromStore(ids, timeout_ms);
}

std::vector<std::shared_ptr<internal::ObjectBuffer>> ClusterRuntime::GetFromStore(
    const std::vector<std::string>& ids, int64_t timeout_ms) {
  proto::GetRequest request{ids, timeout_ms, session_.client_id()};
  bool lend_cpu;
  {
    std::lock_guard<std::mutex> lock(mu_);
    lend_cpu = Context().in_normal_task;
  }
  if (lend_cpu) caf::anon_send(session_.raylet(), atoms::blocked::value, session_.client_id());
  struct Unblock {  // also when the request throws
    Session* session;
    bool active;
    ~Unblock() {
      if (active) caf::anon_send(session->raylet(), atoms::unblocked::value, session->client_id());
    }
  } unblock{&session_, lend_cpu};
  std::string bytes = session_.Ask<std::string>(session_.store().om, caf::infinite,
                                                "Get failed, object store unreachable: ",
                                                atoms::get::value, proto::Encode(request));
  auto reply = proto::Decode<proto::GetReply>(bytes);
  if (reply.timed_out) {
    throw RayTimeoutException("Get timed out after " + std::to_string(timeout_ms) +
                              " ms waiting for " + std::to_string(ids.size()) + " object(s)");
  }
  return ReadEntries(reply);
}

std::vector<std::shared_ptr<internal::ObjectBuffer>> ClusterRuntime::ReadEntries(
    proto::GetReply& reply) {
  std::vector<std::shared_ptr<internal::ObjectBuffer>> out;
  out.reserve(reply.entries.size());
  const proto::ObjectEntry* error = nullptr;
  for (auto& e : reply.entries) {
    switch (static_cast<proto::ObjectKind>(e.kind)) {
      case proto::ObjectKind::kInline: {
        auto buffer = std::make_shared<InlineBuffer>(std::move(e.data));
        refs_.KeepRead(e.id, buffer);
        out.push_back(std::move(buffer));
        break;
      }
      case proto::ObjectKind::kShm: {
        refs_.NoteReady(e.id);
        out.push_back(std::make_shared<ShmBuffer>(session_.shared_store(), e.id,
                                                  session_.store().shm->At(e.offset), e.size));
        break;
      }
      case proto::ObjectKind::kError:
        if (!error) error = &e;
        break;
    }
  }
  if (error) ThrowError(proto::Decode<proto::ErrorInfo>(error->data));  // `out` unpins
  return out;
}

std::vector<bool> ClusterRuntime::Wait(const std::vector<const std::string*>& ids,
                                       int num_objects, int64_t timeout_ms) {
  events::Scoped event("ray.wait");
  event.view().value = static_cast<int64_t>(ids.size());
  // Objects never become unready: what this process already saw ready needs no
  // round trip, and only the others are asked about.
  std::vector<bool> ready(ids.size(), false);
  std::vector<std::string> unknown;
  std::vector<size_t> unknown_at;
  int known = refs_.SplitKnownReady(ids, &ready, &unknown, &unknown_at);
  if (known < num_objects) {
    refs_.Share(unknown);  // results only this process holds (or will) go to the store
    proto::WaitRequest request{unknown, num_objects - known, timeout_ms};
    std::string bits = session_.Ask<std::string>(session_.store().om, caf::infinite,
                                                 "Wait failed, object store unreachable: ",
                                                 atoms::wait::value, proto::Encode(request));
    for (size_t j = 0; j < unknown.size() && j < bits.size(); ++j) {
      if (bits[j] == '1') ready[unknown_at[j]] = true;
    }
    refs_.NoteWaitReady(unknown, bits);
  }
  return ready;
}

std::string ClusterRuntime::ObjectStoreStats() {
  return session_.Ask<std::string>(session_.store().om, std::chrono::seconds(10),
                                   "object store unreachable: ", atoms::stats::value);
}

std::string ClusterRuntime::RuntimeStats() {
  return "direct_calls_sent=" + std::to_string(direct_.sent()) + " " +
         session_.Ask<std::string>(session_.raylet(), std::chrono::seconds(10),
                                   "raylet unreachable: ", atoms::stats::value);
}

}  // namespace ray::runtime
