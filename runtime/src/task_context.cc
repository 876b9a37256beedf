// ClusterRuntime's task context: what ids, namespaces and runtime envs of
// nested tasks, puts and actors derive from, per executor thread; and the
// resolution of runtime envs (runtime_env_util.h) against it.
#include <nlohmann/json.hpp>

#include "actors/common/ids.h"
#include "actors/net/atoms.h"
#include "ray/api.h"
#include "runtime/src/cluster_runtime.h"
#include "runtime/src/runtime_env_util.h"

namespace ray::runtime {

namespace {
/// The task the calling thread runs (set between BeginTask and EndTask).
thread_local std::shared_ptr<void> t_context;
}  // namespace

ClusterRuntime::TaskContext& ClusterRuntime::Context() {
  if (t_context) return *static_cast<TaskContext*>(t_context.get());
  return *context_;
}

std::string ClusterRuntime::ResolveRuntimeEnv(const std::string& inherited,
                                              const std::string& serialized,
                                              const std::string& what) {
  if (serialized.empty()) return inherited;
  RuntimeEnv::Deserialize(serialized);  // RayRuntimeEnvException unless a JSON object
  nlohmann::json env = nlohmann::json::parse(serialized);
  CheckRuntimeEnv(env, what);
  if (env.contains("working_dir")) {
    const std::string dir = env["working_dir"].get<std::string>();
    std::string uri;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = shipped_dirs_.find(dir); it != shipped_dirs_.end()) uri = it->second;
    }
    if (uri.empty()) {
      proto::CodePackage package = PackWorkingDir(dir, what);
      std::string key = WorkingDirKey(package);
      // Stored before any task names it: the node that starts its workers fetches it.
      if (!session_.AskGcs<bool>("cannot ship the working_dir: ", atoms::code_put::value, key,
                                 proto::Encode(package))) {
        throw RayRuntimeEnvException(what + ": the GCS could not store the working_dir '" +
                                     dir + "'");
      }
      uri = "gcs://" + key;
      std::lock_guard<std::mutex> lock(mu_);
      shipped_dirs_[dir] = uri;
    }
    env["working_dir"] = uri;
  }
  return MergeRuntimeEnv(inherited, env.empty() ? std::string() : env.dump());
}

std::string ClusterRuntime::GetNamespace() {
  std::lock_guard<std::mutex> lock(mu_);
  return Context().ray_namespace;
}

// -- task context ----------------------------------------------------------------

void ClusterRuntime::BeginTask(const proto::ExecRequest& request) {
  const proto::TaskSpec& spec = request.spec;
  auto context = std::make_shared<TaskContext>();
  context->task_id = spec.task_id;
  context->in_normal_task = spec.Kind() == proto::TaskKind::kNormal;
  context->in_actor = !context->in_normal_task;
  context->default_detached = spec.default_detached;
  std::lock_guard<std::mutex> lock(mu_);
  if (spec.Kind() == proto::TaskKind::kActorCreation) {
    actor_namespace_ = spec.ray_namespace;
    actor_env_ = spec.runtime_env;
  }
  context->runtime_env =
      spec.Kind() == proto::TaskKind::kActorMethod ? actor_env_ : spec.runtime_env;
  // An actor's namespace is its creator's job's, whoever calls it.
  context->ray_namespace =
      spec.Kind() == proto::TaskKind::kActorMethod ? actor_namespace_ : spec.ray_namespace;
  if (spec.Kind() != proto::TaskKind::kActorMethod) {
    allocation_ = request.allocation;  // an actor keeps its creation's resources
  }
  context_ = context;
  t_context = context;
}

bool ClusterRuntime::EndTask() {
  std::lock_guard<std::mutex> lock(mu_);
  TaskContext& context = Context();
  context.in_normal_task = false;
  const bool exit = context.exit_actor;
  t_context.reset();
  return exit;
}

std::vector<int> ClusterRuntime::GetGpuIds() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<int> out;
  auto it = allocation_.find("GPU");
  if (it != allocation_.end()) {
    for (const auto& [id, fraction] : it->second) out.push_back(static_cast<int>(id));
  }
  return out;
}

internal::ResourceIds ClusterRuntime::GetResourceIds() {
  std::lock_guard<std::mutex> lock(mu_);
  return allocation_;
}

}  // namespace ray::runtime
