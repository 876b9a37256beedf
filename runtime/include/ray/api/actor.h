// Actors: ray::Actor(Factory).Remote(...) -> ActorHandle<T>; handle.Task(&T::M).Remote(...).
#ifndef RAY_API_ACTOR_H_
#define RAY_API_ACTOR_H_

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "ray/api/ray_config.h"
#include "ray/api/ray_exception.h"
#include "ray/api/task_caller.h"

namespace ray {

template <typename C>
class ActorHandle;

template <typename M, int N = 1>
class ActorTaskCaller;

/// Builder for one call of an actor method (M = &Class::Method); calls from
/// one caller run in submission order.
template <typename M, int N>
class ActorTaskCaller : public internal::CallOptionsBuilder<ActorTaskCaller<M, N>> {
  template <typename>
  struct Traits;
  template <typename R, typename C, typename... Ps>
  struct Traits<R (C::*)(Ps...)> {
    using Return = R;
    template <typename... As>
    static auto Pack(As&&... args) {
      return internal::PackArgs<Ps...>(std::forward<As>(args)...);
    }
  };
  template <typename R, typename C, typename... Ps>
  struct Traits<R (C::*)(Ps...) const> : Traits<R (C::*)(Ps...)> {};

 public:
  /// SetMaxRetries(n) lets a call run again on the restarted actor when the
  /// actor dies while the call is pending (default 0: it fails with
  /// RayActorException, as Ray's max_task_retries).
  ActorTaskCaller(std::string actor_id, M method)
      : actor_id_(std::move(actor_id)),
        method_(internal::FunctionManager::Instance().NameOf(internal::PointerKey(method),
                                                              "actor method")) {
    this->options_.max_retries = 0;
  }

  /// Splits a std::tuple result into N objects (the seed's ray.method(num_return_vals)).
  template <int K>
  ActorTaskCaller<M, K> SetNumReturns() const {
    ActorTaskCaller<M, K> other(actor_id_, method_, 0);
    other.options_ = this->options_;
    other.options_.num_returns = K;
    return other;
  }

  template <typename... As>
  auto Remote(As&&... args) {
    using R = typename Traits<M>::Return;
    internal::CheckResources(this->options_.resources, "ActorHandle::Task(...).Remote");
    auto ids = internal::Runtime().SubmitActorTask(
        actor_id_, method_, Traits<M>::Pack(std::forward<As>(args)...), this->options_);
    return internal::ReturnRefs<R, N>::From(ids);
  }

 private:
  template <typename, int>
  friend class ActorTaskCaller;
  ActorTaskCaller(std::string actor_id, std::string method, int)
      : actor_id_(std::move(actor_id)), method_(std::move(method)) {
    this->options_.max_retries = 0;
  }
  std::string actor_id_;
  std::string method_;
};

/// A reference to an actor. Copyable and serializable: pass it to tasks and return it.
template <typename C>
class ActorHandle {
 public:
  ActorHandle() = default;
  explicit ActorHandle(std::string actor_id) : actor_id_(std::move(actor_id)) {}

  template <typename M>
  ActorTaskCaller<M> Task(M method) const {
    static_assert(std::is_member_function_pointer_v<M>, "Task takes &Class::Method");
    return ActorTaskCaller<M>(actor_id_, method);
  }

  /// Kills the actor's process; with no_restart (default) it is never restarted.
  void Kill(bool no_restart = true) const { internal::Runtime().KillActor(actor_id_, no_restart); }

  const std::string& ID() const { return actor_id_; }
  bool operator==(const ActorHandle& other) const { return actor_id_ == other.actor_id_; }

  MSGPACK_DEFINE(actor_id_);

 private:
  std::string actor_id_;
};

template <typename F>
class ActorCreator;

/// Builder for creating an actor from a factory registered with RAY_REMOTE.
template <typename C, typename... Ps>
class ActorCreator<C* (*)(Ps...)> {
 public:
  using Factory = C* (*)(Ps...);
  explicit ActorCreator(Factory f)
      : factory_(internal::FunctionManager::Instance().NameOf(internal::PointerKey(f),
                                                               "actor factory")) {}

  ActorCreator& SetResource(const std::string& name, double amount) {
    options_.resources[name] = amount;
    return *this;
  }
  ActorCreator& SetResources(const std::map<std::string, double>& resources) {
    for (const auto& [name, amount] : resources) options_.resources[name] = amount;
    return *this;
  }
  ActorCreator& SetNumCpus(double n) { return SetResource("CPU", n); }
  ActorCreator& SetNumGpus(double n) { return SetResource("GPU", n); }
  /// Registers the actor under `name` for ray::GetActor, in the caller's namespace.
  ActorCreator& SetName(const std::string& name) {
    options_.name = name;
    options_.ray_namespace.clear();
    return *this;
  }
  /// Registers the actor under `name` in `ray_namespace`.
  ActorCreator& SetName(const std::string& name, const std::string& ray_namespace) {
    options_.name = name;
    options_.ray_namespace = ray_namespace;
    return *this;
  }
  /// DETACHED: the actor outlives its owner and its job, until it is killed
  /// (Python's lifetime="detached"). Default: RayConfig::default_actor_lifetime.
  ActorCreator& SetLifetime(ActorLifetime lifetime) {
    options_.detached = lifetime == ActorLifetime::DETACHED;
    return *this;
  }
  /// Up to `n` calls of the actor run at once, on a pool of n threads in its
  /// process (default 1: one at a time, in submission order per caller). With
  /// n > 1 calls start in submission order but may finish in any order, and
  /// the actor's methods must be safe to run concurrently.
  ActorCreator& SetMaxConcurrency(int n) {
    options_.max_concurrency = n;
    return *this;
  }
  /// The actor's process runs in `env` (env_vars, working_dir), merged over
  /// the creator's own env; checked at Remote() (RayRuntimeEnvException).
  ActorCreator& SetRuntimeEnv(const RuntimeEnv& env) {
    options_.runtime_env = env.Empty() ? std::string() : env.Serialize();
    return *this;
  }
  /// Places the actor in bundle `bundle_index` of `group` (-1: any); it holds
  /// its resources from the bundle, and dies when the group is removed.
  ActorCreator& SetPlacementGroup(PlacementGroup group, int bundle_index) {
    internal::CheckBundleIndex(group, bundle_index, "ray::Actor(...).SetPlacementGroup");
    options_.placement_group = group.GetID();
    options_.bundle_index = bundle_index;
    return *this;
  }
  /// Re-runs the constructor up to n times when the actor's process dies (-1: forever).
  ActorCreator& SetMaxRestarts(int n) {
    options_.max_restarts = n;
    return *this;
  }

  template <typename... As>
  ActorHandle<C> Remote(As&&... args) {
    internal::CheckResources(options_.resources, "ray::Actor(...).Remote");
    internal::CheckActorOptions(options_, "ray::Actor(...).Remote");
    return ActorHandle<C>(internal::Runtime().CreateActor(
        factory_, internal::PackArgs<Ps...>(std::forward<As>(args)...), options_));
  }

 private:
  std::string factory_;
  internal::ActorOptions options_;
};

template <typename C, typename... Ps>
ActorCreator<C* (*)(Ps...)> Actor(C* (*factory)(Ps...)) {
  return ActorCreator<C* (*)(Ps...)>(factory);
}

/// The actor named `name` in the caller's namespace, or nullopt when no live
/// actor has that name there.
template <typename C>
std::optional<ActorHandle<C>> GetActor(const std::string& name) {
  auto id = internal::Runtime().GetNamedActor(name, std::string());
  if (!id) return std::nullopt;
  return ActorHandle<C>(*id);
}

/// The actor named `name` in `ray_namespace`, or nullopt when none is alive there.
template <typename C>
std::optional<ActorHandle<C>> GetActor(const std::string& name,
                                       const std::string& ray_namespace) {
  if (ray_namespace.empty()) throw RayException("GetActor: the namespace must not be empty");
  auto id = internal::Runtime().GetNamedActor(name, ray_namespace);
  if (!id) return std::nullopt;
  return ActorHandle<C>(*id);
}

/// The namespace of the current job (in a task or actor: of the job it runs for).
inline std::string GetNamespace() { return internal::Runtime().GetNamespace(); }

/// Ends the current actor after this method returns; it is not restarted.
inline void ExitActor() { internal::Runtime().ExitActor(); }

}  // namespace ray

#endif  // RAY_API_ACTOR_H_
