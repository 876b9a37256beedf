// Runtime envs as the runtime submits them: checked against what it honours,
// inherited and merged as Ray does, with a working_dir packed for shipping.
//
// The form that travels in TaskSpec::runtime_env is a JSON object text with
// only the honoured fields: "env_vars" (object of strings) and "working_dir"
// as "gcs://working_dir_<sha256 hex>", the key of its package in the GCS's
// code table ("" for an empty env). nlohmann's objects keep their keys sorted,
// so equal envs have equal texts: the raylet pools workers by that text.
#ifndef RAY_RUNTIME_SRC_RUNTIME_ENV_UTIL_H_
#define RAY_RUNTIME_SRC_RUNTIME_ENV_UTIL_H_

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "actors/common/protocol.h"

namespace ray::runtime {

/// Most bytes a working_dir may hold.
constexpr uint64_t kWorkingDirLimit = uint64_t{100} << 20;
/// How a shipped working_dir is named in a resolved env.
inline constexpr char kWorkingDirUriPrefix[] = "gcs://working_dir_";

/// Throws RayRuntimeEnvException, naming `what` (the call) and the field, when
/// `env` asks for anything not honoured: a field other than env_vars and
/// working_dir, env_vars that are not an object of strings (or set a variable
/// the runtime sets itself), a working_dir that is not a string.
void CheckRuntimeEnv(const nlohmann::json& env, const std::string& what);

/// The files under `dir` (regular files, relative paths, in order), for a
/// working_dir. Throws RayRuntimeEnvException when `dir` is not a readable
/// directory, holds a file that cannot be read, or holds more than
/// kWorkingDirLimit bytes.
proto::CodePackage PackWorkingDir(const std::string& dir, const std::string& what);

/// The key under which a package is stored: "working_dir_" + SHA-256 of its contents.
std::string WorkingDirKey(const proto::CodePackage& package);

/// Ray's inheritance: the fields of `own` replace those of `inherited`, but
/// env_vars are merged, `own`'s winning. Both resolved envs; "" is none.
std::string MergeRuntimeEnv(const std::string& inherited, const std::string& own);

}  // namespace ray::runtime

#endif  // RAY_RUNTIME_SRC_RUNTIME_ENV_UTIL_H_
