// ray::RuntimeEnv: the environment a job's, a task's or an actor's workers run
// in (Ray's api/runtime_env.h). Fields are JSON values (nlohmann-json), so a
// user type with to_json/from_json can be a field.
//
// Honoured fields (checked when a task or actor is submitted):
//   env_vars     object of string -> string: set in the worker's environment;
//                workers are pooled per env, so a task never runs in a worker
//                started for another one.
//   working_dir  path of a local directory: copied to each node that runs the
//                job's workers (at most 100 MiB), and their working directory.
// Every other field (pip, conda, container, py_modules, ...) is refused with a
// RayRuntimeEnvException naming it.
#ifndef RAY_API_RUNTIME_ENV_H_
#define RAY_API_RUNTIME_ENV_H_

#include <nlohmann/json.hpp>

#include <string>

#include "ray/api/ray_exception.h"

namespace ray {

/// A runtime env field is missing, of another type, or not valid JSON; or the
/// env cannot be honoured (a field this runtime does not support).
class RayRuntimeEnvException : public RayException {
 public:
  using RayException::RayException;
};

namespace internal {
using RayRuntimeEnvException = ray::RayRuntimeEnvException;  // Ray's spelling
}  // namespace internal

class RuntimeEnv {
 public:
  /// Sets field `name` to `value` (anything nlohmann::json can hold).
  template <typename T>
  void Set(const std::string& name, const T& value) {
    try {
      fields_[name] = nlohmann::json(value);
    } catch (const std::exception& e) {
      throw RayRuntimeEnvException("Failed to set the field " + name + ": " + e.what());
    }
  }

  /// Field `name` as a T; throws RayRuntimeEnvException when it is missing or not a T.
  template <typename T>
  T Get(const std::string& name) const {
    if (!Contains(name)) throw RayRuntimeEnvException("The field " + name + " not found.");
    try {
      return fields_.at(name).get<T>();
    } catch (const std::exception& e) {
      throw RayRuntimeEnvException("Failed to get the field " + name + ": " + e.what());
    }
  }

  /// Sets field `name` from a JSON text; throws RayRuntimeEnvException when it is not JSON.
  void SetJsonStr(const std::string& name, const std::string& json_str) {
    try {
      fields_[name] = nlohmann::json::parse(json_str);
    } catch (const std::exception& e) {
      throw RayRuntimeEnvException("Failed to set the field " + name + " by json string: " +
                                   e.what());
    }
  }

  /// Field `name` as JSON text; throws RayRuntimeEnvException when it is missing.
  std::string GetJsonStr(const std::string& name) const {
    if (!Contains(name)) throw RayRuntimeEnvException("The field " + name + " not found.");
    return fields_.at(name).dump();
  }

  bool Contains(const std::string& name) const {
    return fields_.is_object() && fields_.contains(name);
  }

  /// True when it removed an existing field.
  bool Remove(const std::string& name) {
    return fields_.is_object() && fields_.erase(name) > 0;
  }

  bool Empty() const { return !fields_.is_object() || fields_.empty(); }

  /// The env as one JSON object.
  std::string Serialize() const { return Empty() ? "{}" : fields_.dump(); }
  /// Ray's name for what travels with a task: the same JSON here.
  std::string SerializeToRuntimeEnvInfo() const { return Serialize(); }

  /// The env of a JSON object text; throws RayRuntimeEnvException otherwise.
  static RuntimeEnv Deserialize(const std::string& serialized_runtime_env) {
    RuntimeEnv env;
    try {
      env.fields_ = nlohmann::json::parse(serialized_runtime_env);
    } catch (const std::exception& e) {
      throw RayRuntimeEnvException("Failed to deserialize the runtime env " +
                                   serialized_runtime_env + ": " + e.what());
    }
    if (!env.fields_.is_object()) {
      throw RayRuntimeEnvException("Failed to deserialize the runtime env " +
                                   serialized_runtime_env + ": it is not a JSON object");
    }
    return env;
  }

 private:
  nlohmann::json fields_ = nlohmann::json::object();
};

}  // namespace ray

#endif  // RAY_API_RUNTIME_ENV_H_
