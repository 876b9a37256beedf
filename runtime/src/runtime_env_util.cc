#include "runtime/src/runtime_env_util.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

#include "actors/common/auth.h"
#include "actors/common/ids.h"
#include "ray/api/runtime_env.h"

namespace ray::runtime {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

/// Why a field is refused, in one sentence.
std::string Unsupported(const std::string& field) {
  if (field == "pip" || field == "conda" || field == "uv" || field == "py_modules" ||
      field == "py_executable") {
    return "it installs Python packages, and workers here run C++ code only";
  }
  if (field == "container" || field == "image_uri") {
    return "workers run as processes of the node, not in containers";
  }
  if (field == "java_jars") return "Java workers are not supported";
  return "only env_vars and working_dir are honoured";
}

/// Variables the runtime sets for its workers itself.
bool Reserved(const std::string& name) {
  return name.rfind("RAY_", 0) == 0 || name == "LD_PRELOAD";
}

}  // namespace

void CheckRuntimeEnv(const json& env, const std::string& what) {
  if (!env.is_object()) throw RayRuntimeEnvException(what + ": a runtime env is a JSON object");
  for (const auto& [field, value] : env.items()) {
    if (field == "env_vars") {
      if (!value.is_object()) {
        throw RayRuntimeEnvException(what + ": runtime env field env_vars must be an object of "
                                     "variable names to strings, not " + value.dump());
      }
      for (const auto& [name, v] : value.items()) {
        if (!v.is_string()) {
          throw RayRuntimeEnvException(what + ": runtime env env_vars." + name +
                                       " must be a string, not " + v.dump());
        }
        if (name.empty() || name.find('=') != std::string::npos ||
            name.find('\0') != std::string::npos) {
          throw RayRuntimeEnvException(what + ": runtime env env_vars has an invalid variable "
                                       "name '" + name + "'");
        }
        if (Reserved(name)) {
          throw RayRuntimeEnvException(what + ": runtime env env_vars." + name +
                                       " is set by the runtime for its workers and cannot be "
                                       "set here");
        }
      }
    } else if (field == "working_dir") {
      if (!value.is_string() || value.get<std::string>().empty()) {
        throw RayRuntimeEnvException(what + ": runtime env field working_dir must be the path "
                                     "of a local directory, not " + value.dump());
      }
    } else {
      throw RayRuntimeEnvException(what + ": runtime env field '" + field +
                                   "' is not supported: " + Unsupported(field));
    }
  }
}

proto::CodePackage PackWorkingDir(const std::string& dir, const std::string& what) {
  const std::string where = what + ": runtime env working_dir '" + dir + "'";
  std::error_code ec;
  if (dir.rfind("gcs://", 0) == 0 || dir.find("://") != std::string::npos) {
    throw RayRuntimeEnvException(where + " is a URI; only a local directory is supported");
  }
  if (!fs::is_directory(dir, ec)) {
    throw RayRuntimeEnvException(where + " is not a directory" +
                                 (ec ? ": " + ec.message() : std::string()));
  }
  std::vector<fs::path> files;
  uint64_t total = 0;
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;  // directories come with their files; links are skipped
    total += it->file_size(ec);
    if (total > kWorkingDirLimit) {
      throw RayRuntimeEnvException(where + " holds more than " +
                                   std::to_string(kWorkingDirLimit >> 20) +
                                   " MiB, the most a working_dir may ship");
    }
    files.push_back(it->path());
  }
  if (ec) throw RayRuntimeEnvException(where + " cannot be read: " + ec.message());
  std::sort(files.begin(), files.end());
  proto::CodePackage package;
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    if (!in) throw RayRuntimeEnvException(where + ": cannot read " + path.string());
    package.emplace_back(fs::relative(path, dir).string(), bytes.str());
  }
  return package;
}

std::string WorkingDirKey(const proto::CodePackage& package) {
  return "working_dir_" + ids::Hex(auth::Sha256(proto::Encode(package)));
}

std::string MergeRuntimeEnv(const std::string& inherited, const std::string& own) {
  if (own.empty()) return inherited;
  if (inherited.empty()) return own;
  json merged = json::parse(inherited);
  json mine = json::parse(own);
  for (const auto& [field, value] : mine.items()) {
    if (field == "env_vars" && merged.contains("env_vars")) {
      for (const auto& [name, v] : value.items()) merged["env_vars"][name] = v;
    } else {
      merged[field] = value;
    }
  }
  return merged.dump();
}

}  // namespace ray::runtime
