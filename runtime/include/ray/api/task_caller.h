// ray::Task(f).Remote(args...) and the call options shared with actor calls.
#ifndef RAY_API_TASK_CALLER_H_
#define RAY_API_TASK_CALLER_H_

#include <map>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "ray/api/function_manager.h"
#include "ray/api/object_ref.h"
#include "ray/api/placement_group.h"
#include "ray/api/ray_exception.h"
#include "ray/api/runtime_env.h"
#include "ray/api/runtime_interface.h"

namespace ray {
namespace internal {

/// Serializes one argument for parameter type P. An ObjectRef<P> argument is
/// passed by reference and resolved before the call; a parameter declared
/// ObjectRef<T> receives the ref itself.
template <typename P, typename A>
TaskArg PackArg(A&& arg) {
  using Param = std::decay_t<P>;
  using Arg = std::decay_t<A>;
  if constexpr (IsObjectRef<Arg>::value && !IsObjectRef<Param>::value) {
    static_assert(std::is_same_v<typename Arg::value_type, Param>,
                  "an ObjectRef<T> argument must match a parameter of type T");
    return TaskArg{true, arg.ID(), {}};
  } else {
    static_assert(std::is_convertible_v<A&&, Param>,
                  "argument type does not match the remote function's parameter type");
    return TaskArg{false, {}, SerializeToString(static_cast<Param>(std::forward<A>(arg)))};
  }
}

template <typename... Ps, typename... As>
std::vector<TaskArg> PackArgs(As&&... args) {
  static_assert(sizeof...(Ps) == sizeof...(As),
                "wrong number of arguments for the remote function");
  std::vector<TaskArg> packed;
  packed.reserve(sizeof...(As));
  (packed.push_back(PackArg<Ps>(std::forward<As>(args))), ...);
  return packed;
}

/// What Remote() returns: ObjectRef<R>, or with SetNumReturns<N>() (N > 1) a
/// std::tuple of one ObjectRef per element of the std::tuple that R is.
template <typename R, int N>
struct ReturnRefs {
  static_assert(N >= 1, "SetNumReturns<N>: N must be at least 1");
  static_assert(N == 1 || IsTuple<R>::value,
                "SetNumReturns<N> with N > 1 needs a function returning std::tuple");
  template <typename Tuple, size_t... I>
  static auto Make(const std::vector<std::string>& ids, std::index_sequence<I...>) {
    return std::make_tuple(ObjectRef<std::tuple_element_t<I, Tuple>>(ids[I])...);
  }
  static auto From(const std::vector<std::string>& ids) {
    if constexpr (N == 1) {
      return ObjectRef<R>(ids[0]);
    } else {
      static_assert(std::tuple_size_v<R> == N,
                    "SetNumReturns<N>: N must equal the size of the returned std::tuple");
      return Make<R>(ids, std::make_index_sequence<N>{});
    }
  }
};

/// Options shared by task and actor-method calls (Self is the caller type).
template <typename Self>
class CallOptionsBuilder {
 public:
  Self& SetResource(const std::string& name, double amount) {
    options_.resources[name] = amount;
    return self();
  }
  Self& SetResources(const std::map<std::string, double>& resources) {
    for (const auto& [name, amount] : resources) options_.resources[name] = amount;
    return self();
  }
  Self& SetNumCpus(double n) { return SetResource("CPU", n); }
  Self& SetNumGpus(double n) { return SetResource("GPU", n); }
  Self& SetName(const std::string& name) {
    options_.name = name;
    return self();
  }
  /// The worker process exits after running this function `n` times (0: never).
  Self& SetMaxCalls(int n) {
    options_.max_calls = n;
    return self();
  }
  /// Retries when the worker process dies (default 3; 0 disables).
  Self& SetMaxRetries(int n) {
    options_.max_retries = n;
    return self();
  }
  /// Also retry when the task throws (default false).
  Self& SetRetryExceptions(bool retry) {
    options_.retry_exceptions = retry;
    return self();
  }

 protected:
  CallOptions options_;

 private:
  Self& self() { return static_cast<Self&>(*this); }
};

/// Throws RayException naming `what` for an empty group or an index that is
/// neither -1 nor one of its bundles'.
inline void CheckBundleIndex(PlacementGroup& group, int bundle_index, const char* what) {
  if (group.Empty()) throw RayException(std::string(what) + ": the placement group is empty");
  const int bundles = static_cast<int>(group.GetBundles().size());
  if (bundle_index < -1 || bundle_index >= bundles) {
    throw RayException(std::string(what) + ": bundle_index " + std::to_string(bundle_index) +
                       " is invalid: the group has " + std::to_string(bundles) +
                       " bundle(s); -1 is any of them");
  }
}

}  // namespace internal

template <typename F, int N = 1>
class TaskCaller;

/// Builder for one call of a remote function; see ray::Task.
template <typename R, typename... Ps, int N>
class TaskCaller<R (*)(Ps...), N>
    : public internal::CallOptionsBuilder<TaskCaller<R (*)(Ps...), N>> {
 public:
  using Function = R (*)(Ps...);
  explicit TaskCaller(Function f)
      : name_(internal::FunctionManager::Instance().NameOf(internal::PointerKey(f),
                                                            "remote function")) {}

  /// Runs the task in `env` (env_vars, working_dir), merged over the caller's
  /// own env as Ray does; checked at Remote(), which raises
  /// RayRuntimeEnvException for a field it cannot honour.
  TaskCaller& SetRuntimeEnv(const RuntimeEnv& env) {
    this->options_.runtime_env = env.Empty() ? std::string() : env.Serialize();
    return *this;
  }
  /// Runs the task in bundle `bundle_index` of `group` (-1: any of its
  /// bundles), on the resources reserved there; its resource requests are
  /// taken from the bundle, and it waits while the bundle lacks them.
  TaskCaller& SetPlacementGroup(PlacementGroup group, int bundle_index) {
    internal::CheckBundleIndex(group, bundle_index, "ray::Task(...).SetPlacementGroup");
    this->options_.placement_group = group.GetID();
    this->options_.bundle_index = bundle_index;
    return *this;
  }

  /// Splits a std::tuple result into N objects (the seed's num_return_vals).
  template <int M>
  TaskCaller<Function, M> SetNumReturns() const {
    TaskCaller<Function, M> other(name_);
    other.options_ = this->options_;
    other.options_.num_returns = M;
    return other;
  }

  template <typename... As>
  auto Remote(As&&... args) {
    internal::CheckResources(this->options_.resources, "ray::Task(...).Remote");
    auto ids = internal::Runtime().SubmitTask(
        name_, internal::PackArgs<Ps...>(std::forward<As>(args)...), this->options_);
    return internal::ReturnRefs<std::conditional_t<std::is_void_v<R>, void, R>, N>::From(ids);
  }

 private:
  template <typename, int>
  friend class TaskCaller;
  explicit TaskCaller(std::string name) : name_(std::move(name)) {}
  std::string name_;
};

/// Starts a call of a function registered with RAY_REMOTE; throws RayException
/// if it is not registered.
template <typename R, typename... Ps>
TaskCaller<R (*)(Ps...)> Task(R (*f)(Ps...)) {
  return TaskCaller<R (*)(Ps...)>(f);
}

}  // namespace ray

#endif  // RAY_API_TASK_CALLER_H_
