#include "runtime/src/local_mode_runtime.h"

#include <set>

#include "actors/common/ids.h"
#include "ray/api.h"
#include "runtime/src/buffers.h"
#include "runtime/src/errors.h"

namespace ray::runtime {
namespace {

/// Local mode runs everything in the driver's own process and environment.
void RefuseRuntimeEnv(const std::string& env, const char* what) {
  if (env.empty()) return;
  throw RayRuntimeEnvException(std::string(what) +
                               ": a runtime env cannot be honoured in local mode, where every "
                               "task runs in the driver's own process and environment; run "
                               "without local_mode");
}

}  // namespace

LocalModeRuntime::LocalModeRuntime(std::string root_id, std::string ray_namespace)
    : root_id_(std::move(root_id)),
      ray_namespace_(ray_namespace.empty() ? "anonymous-" + ids::Hex(ids::Random(16))
                                           : std::move(ray_namespace)) {}

std::string LocalModeRuntime::NextTaskId() { return ids::Derive(root_id_, ++counter_); }

std::vector<internal::ArgView> LocalModeRuntime::Resolve(
    const std::vector<internal::TaskArg>& args, std::vector<std::string>* error_bytes) {
  std::vector<internal::ArgView> views;
  for (const auto& a : args) {
    if (!a.is_ref) {
      views.push_back({a.value.data(), a.value.size()});
      continue;
    }
    auto it = objects_.find(a.object_id);
    if (it == objects_.end()) throw RayException("local mode: unknown object " + ids::Hex(a.object_id));
    if (it->second.is_error) error_bytes->push_back(it->second.bytes);
    views.push_back({it->second.bytes.data(), it->second.bytes.size()});
  }
  return views;
}

std::vector<std::string> LocalModeRuntime::Store(
    const std::string& task_id, int num_returns,
    const std::function<std::vector<internal::SerializedObject>()>& run,
    const std::string& task_name) {
  std::vector<std::string> ids;
  for (int i = 0; i < std::max(1, num_returns); ++i) ids.push_back(ids::ObjectId(task_id, i + 1));
  try {
    auto results = run();
    for (size_t i = 0; i < ids.size() && i < results.size(); ++i) {
      objects_[ids[i]] = Stored{results[i].ToString(), false};
    }
  } catch (...) {
    std::string error = proto::Encode(CurrentExceptionInfo(task_name));
    for (const auto& id : ids) objects_[id] = Stored{error, true};
  }
  return ids;
}

std::vector<std::string> LocalModeRuntime::SubmitTask(const std::string& function,
                                                      std::vector<internal::TaskArg> args,
                                                      const internal::CallOptions& options) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  RefuseRuntimeEnv(options.runtime_env, "ray::Task(...).Remote");
  const internal::Invoker* invoker = internal::FunctionManager::Instance().GetInvoker(function);
  if (!invoker) throw RayException("function " + function + " is not registered");
  std::string task_id = NextTaskId();
  std::string name = options.name.empty() ? function : options.name;
  return Store(task_id, options.num_returns, [&] {
    std::vector<std::string> errors;
    auto views = Resolve(args, &errors);
    if (!errors.empty()) ThrowError(proto::Decode<proto::ErrorInfo>(errors[0]));
    return (*invoker)(nullptr, views, options.num_returns);
  }, name);
}

std::string LocalModeRuntime::CreateActor(const std::string& factory,
                                          std::vector<internal::TaskArg> args,
                                          const internal::ActorOptions& options) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  const internal::Factory* f = internal::FunctionManager::Instance().GetFactory(factory);
  if (!f) throw RayException("actor factory " + factory + " is not registered");
  RefuseRuntimeEnv(options.runtime_env, "ray::Actor(...).Remote");
  if (options.max_concurrency > 1) {
    throw RayException(
        "ray::Actor(...).Remote: SetMaxConcurrency(" + std::to_string(options.max_concurrency) +
        ") cannot be honoured in local mode, where every call runs in the driver, one at a "
        "time, when it is submitted; run without local_mode");
  }
  const std::string ns = options.ray_namespace.empty() ? ray_namespace_ : options.ray_namespace;
  const std::string key = proto::ActorNameKey(ns, options.name);
  if (!options.name.empty() && names_.count(key)) {
    throw RayException("an actor named '" + options.name + "' already exists in namespace '" +
                       ns + "'");
  }
  std::string actor_id = NextTaskId();
  LocalActor actor;
  actor.name = options.name.empty() ? std::string() : key;
  try {
    std::vector<std::string> errors;
    auto views = Resolve(args, &errors);
    if (!errors.empty()) ThrowError(proto::Decode<proto::ErrorInfo>(errors[0]));
    actor.instance = (*f)(views);
  } catch (...) {
    auto info = CurrentExceptionInfo(factory);
    actor.death_cause = "its constructor threw " + info.exception_type + ": " + info.message;
  }
  if (!options.name.empty() && actor.death_cause.empty()) names_[key] = actor_id;
  actors_[actor_id] = std::move(actor);
  return actor_id;
}

std::vector<std::string> LocalModeRuntime::SubmitActorTask(const std::string& actor_id,
                                                           const std::string& method,
                                                           std::vector<internal::TaskArg> args,
                                                           const internal::CallOptions& options) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  const internal::Invoker* invoker = internal::FunctionManager::Instance().GetInvoker(method);
  if (!invoker) throw RayException("actor method " + method + " is not registered");
  std::string task_id = NextTaskId();
  auto it = actors_.find(actor_id);
  std::string name = options.name.empty() ? method : options.name;
  auto result = Store(task_id, options.num_returns, [&] {
    if (it == actors_.end() || !it->second.death_cause.empty()) {
      throw RayActorException("actor " + ids::Hex(actor_id) + " is dead: " +
                              (it == actors_.end() ? "unknown actor" : it->second.death_cause));
    }
    std::vector<std::string> errors;
    auto views = Resolve(args, &errors);
    if (!errors.empty()) ThrowError(proto::Decode<proto::ErrorInfo>(errors[0]));
    std::string previous = current_actor_;
    current_actor_ = actor_id;
    exit_requested_ = false;
    struct Restore {
      std::string& slot;
      std::string value;
      ~Restore() { slot = value; }
    } restore{current_actor_, previous};
    return (*invoker)(it->second.instance.get(), views, options.num_returns);
  }, name);
  if (it != actors_.end() && exit_requested_) {
    it->second.death_cause = "it called ray::ExitActor";
    names_.erase(it->second.name);
    exit_requested_ = false;
  }
  // An actor error is a RayActorException, not a task error.
  for (const auto& id : result) {
    auto& stored = objects_[id];
    if (!stored.is_error) continue;
    auto info = proto::Decode<proto::ErrorInfo>(stored.bytes);
    if (info.exception_type == "ray::RayActorException") {
      info.kind = static_cast<uint8_t>(proto::ErrorKind::kActor);
      stored.bytes = proto::Encode(info);
    }
  }
  return result;
}

std::string LocalModeRuntime::Put(const internal::SerializedObject& object) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  std::string id = ids::ObjectId(NextTaskId(), ids::kPutIndexFlag);
  objects_[id] = Stored{object.ToString(), false};
  return id;
}

std::vector<std::shared_ptr<internal::ObjectBuffer>> LocalModeRuntime::Get(
    const std::vector<std::string>& ids, int64_t timeout_ms) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  std::vector<std::shared_ptr<internal::ObjectBuffer>> out;
  for (const auto& id : ids) {
    auto it = objects_.find(id);
    if (it == objects_.end()) {
      throw RayTimeoutException("local mode: object " + ids::Hex(id) + " does not exist");
    }
    if (it->second.is_error) ThrowError(proto::Decode<proto::ErrorInfo>(it->second.bytes));
    out.push_back(std::make_shared<InlineBuffer>(it->second.bytes));
  }
  (void)timeout_ms;  // everything already ran: nothing to wait for
  return out;
}

std::vector<bool> LocalModeRuntime::Wait(const std::vector<const std::string*>& ids,
                                         int num_objects, int64_t timeout_ms) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  (void)num_objects;
  (void)timeout_ms;
  std::vector<bool> ready;
  for (const std::string* id : ids) ready.push_back(objects_.count(*id) > 0);
  return ready;
}

std::optional<std::string> LocalModeRuntime::GetNamedActor(const std::string& name,
                                                           const std::string& ray_namespace) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto it = names_.find(
      proto::ActorNameKey(ray_namespace.empty() ? ray_namespace_ : ray_namespace, name));
  if (it == names_.end()) return std::nullopt;
  return it->second;
}

void LocalModeRuntime::KillActor(const std::string& actor_id, bool no_restart) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  (void)no_restart;  // a local-mode actor has no process to restart
  auto it = actors_.find(actor_id);
  if (it == actors_.end()) return;
  it->second.death_cause = "it was killed by ray::Kill";
  it->second.instance.reset();
  names_.erase(it->second.name);
}

void LocalModeRuntime::ExitActor() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  if (current_actor_.empty()) throw RayException("ray::ExitActor called outside an actor method");
  exit_requested_ = true;
}

}  // namespace ray::runtime
