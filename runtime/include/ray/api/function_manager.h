// Registry of remote functions, actor factories and actor methods (RAY_REMOTE).
//
// Names come from the text of the RAY_REMOTE arguments, so every process
// running the same code agrees on them; pointers are only used in-process to
// find a function's name.
#ifndef RAY_API_FUNCTION_MANAGER_H_
#define RAY_API_FUNCTION_MANAGER_H_

#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "ray/api/object_ref.h"
#include "ray/api/serializer.h"

namespace ray {
namespace internal {

struct ArgView {
  const char* data;
  size_t size;
};

/// Runs a function or method on serialized arguments; `self` is the actor
/// instance for methods. Returns `num_returns` serialized values.
using Invoker = std::function<std::vector<SerializedObject>(
    void* self, const std::vector<ArgView>& args, int num_returns)>;
/// Constructs an actor instance from serialized arguments.
using Factory = std::function<std::shared_ptr<void>(const std::vector<ArgView>& args)>;

class FunctionManager {
 public:
  static FunctionManager& Instance();

  void RegisterInvoker(const std::string& name, const std::string& key, Invoker invoker);
  void RegisterFactory(const std::string& name, const std::string& key, Factory factory);
  /// Name of a registered function/method/factory by its pointer key; throws if unregistered.
  const std::string& NameOf(const std::string& key, const char* what) const;
  /// nullptr when unknown.
  const Invoker* GetInvoker(const std::string& name) const;
  const Factory* GetFactory(const std::string& name) const;

 private:
  FunctionManager() = default;
  struct Tables;
  Tables& tables() const;
};

/// The bytes of a (member) function pointer, as an in-process lookup key.
template <typename F>
std::string PointerKey(F f) {
  std::string key(sizeof(F), '\0');
  std::memcpy(key.data(), &f, sizeof(F));
  return key;
}

/// Splits "f, &C::M, RAY_FUNC(g, int)" at top-level commas into clean names.
std::vector<std::string> SplitRemoteNames(const std::string& text);
void CheckArity(const std::string& what, size_t expected, size_t got);

template <typename T>
SerializedObject SerializeOwned(T value) {
  if constexpr (IsByteVector<T>::value) {
    auto owned = std::make_shared<T>(std::move(value));
    SerializedObject inner = Serialize(*owned);
    return {inner.size, [owned, write = std::move(inner.write_to)](char* dst) { write(dst); }};
  } else {
    return Serialize(value);
  }
}

template <typename T>
struct IsTuple : std::false_type {};
template <typename... Ts>
struct IsTuple<std::tuple<Ts...>> : std::true_type {};

template <typename R>
std::vector<SerializedObject> PackResult(R&& value, int num_returns) {
  using V = std::decay_t<R>;
  if (num_returns <= 1) return {SerializeOwned<V>(std::forward<R>(value))};
  if constexpr (IsTuple<V>::value) {
    CheckArity("num_returns of a function returning a tuple", std::tuple_size_v<V>,
               static_cast<size_t>(num_returns));
    std::vector<SerializedObject> out;
    std::apply([&](auto&&... e) { (out.push_back(SerializeOwned(std::move(e))), ...); }, value);
    return out;
  } else {
    throw RayException("num_returns > 1 needs a function returning std::tuple");
  }
}

inline std::vector<SerializedObject> VoidResult(int num_returns) {
  return std::vector<SerializedObject>(std::max(num_returns, 1), Serialize(msgpack::type::nil_t()));
}

/// Deserializes one parameter: an ObjectRef<T> parameter receives the ref itself.
template <typename P>
P UnpackArg(const ArgView& arg) {
  return Deserialize<P>(arg.data, arg.size);
}

template <typename... Ps, size_t... I>
std::tuple<Ps...> UnpackArgs(const std::vector<ArgView>& args, std::index_sequence<I...>) {
  return std::tuple<Ps...>(UnpackArg<Ps>(args[I])...);
}

template <typename R, typename Call>
std::vector<SerializedObject> InvokeAndPack(Call&& call, int num_returns) {
  if constexpr (std::is_void_v<R>) {
    call();
    return VoidResult(num_returns);
  } else {
    return PackResult(call(), num_returns);
  }
}

template <typename R, typename... Ps>
Invoker MakeInvoker(const std::string& name, R (*f)(Ps...)) {
  return [f, name](void*, const std::vector<ArgView>& args, int num_returns) {
    CheckArity(name, sizeof...(Ps), args.size());
    auto tuple = UnpackArgs<std::decay_t<Ps>...>(args, std::index_sequence_for<Ps...>{});
    return InvokeAndPack<R>([&]() -> R { return std::apply(f, tuple); }, num_returns);
  };
}

template <typename R, typename C, typename... Ps>
Invoker MakeMethodInvoker(const std::string& name, R (C::*m)(Ps...)) {
  return [m, name](void* self, const std::vector<ArgView>& args, int num_returns) {
    CheckArity(name, sizeof...(Ps), args.size());
    auto tuple = UnpackArgs<std::decay_t<Ps>...>(args, std::index_sequence_for<Ps...>{});
    C* obj = static_cast<C*>(self);
    return InvokeAndPack<R>(
        [&]() -> R { return std::apply([&](auto&... a) -> R { return (obj->*m)(a...); }, tuple); },
        num_returns);
  };
}

template <typename R, typename C, typename... Ps>
Invoker MakeMethodInvoker(const std::string& name, R (C::*m)(Ps...) const) {
  return [m, name](void* self, const std::vector<ArgView>& args, int num_returns) {
    CheckArity(name, sizeof...(Ps), args.size());
    auto tuple = UnpackArgs<std::decay_t<Ps>...>(args, std::index_sequence_for<Ps...>{});
    const C* obj = static_cast<const C*>(self);
    return InvokeAndPack<R>(
        [&]() -> R { return std::apply([&](auto&... a) -> R { return (obj->*m)(a...); }, tuple); },
        num_returns);
  };
}

template <typename C, typename... Ps>
Factory MakeFactory(const std::string& name, C* (*f)(Ps...)) {
  return [f, name](const std::vector<ArgView>& args) -> std::shared_ptr<void> {
    CheckArity(name, sizeof...(Ps), args.size());
    auto tuple = UnpackArgs<std::decay_t<Ps>...>(args, std::index_sequence_for<Ps...>{});
    C* instance = std::apply(f, tuple);
    if (instance == nullptr) throw RayException("actor factory " + name + " returned nullptr");
    return std::shared_ptr<void>(instance, [](void* p) { delete static_cast<C*>(p); });
  };
}

// -- registration: one overload per kind of callable -------------------------

template <typename R, typename... Ps>
void RegisterOne(const std::string& name, R (*f)(Ps...)) {
  if constexpr (std::is_pointer_v<R> && std::is_class_v<std::remove_pointer_t<R>>) {
    // A function returning C* is an actor factory; it may still be called as a task.
    FunctionManager::Instance().RegisterFactory(name, PointerKey(f), MakeFactory(name, f));
  } else {
    FunctionManager::Instance().RegisterInvoker(name, PointerKey(f), MakeInvoker(name, f));
  }
}

template <typename M, typename = std::enable_if_t<std::is_member_function_pointer_v<M>>>
void RegisterOne(const std::string& name, M method) {
  FunctionManager::Instance().RegisterInvoker(name, PointerKey(method),
                                              MakeMethodInvoker(name, method));
}

/// Fixes the parameter types so that only the return type is deduced (RAY_FUNC).
template <typename... Ps>
struct Overload {
  template <typename R>
  static constexpr auto Of(R (*f)(Ps...)) {
    return f;
  }
};

template <typename... Fs>
bool RegisterRemote(const char* text, Fs... fs) {
  std::vector<std::string> names = SplitRemoteNames(text);
  CheckArity("RAY_REMOTE names", sizeof...(Fs), names.size());
  size_t i = 0;
  (RegisterOne(names[i++], fs), ...);
  return true;
}

}  // namespace internal
}  // namespace ray

#define RAY_INTERNAL_CONCAT_(a, b) a##b
#define RAY_INTERNAL_CONCAT(a, b) RAY_INTERNAL_CONCAT_(a, b)

/// Registers remote functions, actor factories (functions returning C*) and
/// actor methods (&C::Method). Use at namespace scope: RAY_REMOTE(Plus, &Counter::Add);
#define RAY_REMOTE(...)                                                     \
  static const bool RAY_INTERNAL_CONCAT(ray_remote_registered_, __LINE__) = \
      ::ray::internal::RegisterRemote(#__VA_ARGS__, __VA_ARGS__)

/// Picks one overload of a function: RAY_FUNC(Overloaded, int, int).
#define RAY_FUNC(f, ...) ::ray::internal::Overload<__VA_ARGS__>::Of(f)

#endif  // RAY_API_FUNCTION_MANAGER_H_
