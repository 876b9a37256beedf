// The raylet core: runtime envs of the workers it starts (env_vars, and a
// working_dir fetched from the GCS and written under the session directory).
#include <nlohmann/json.hpp>

#include "actors/common/logging.h"
#include "actors/raylet/raylet_core.h"

namespace ray::raylet {
namespace {
using json = nlohmann::json;
constexpr char kUriScheme[] = "gcs://";
}  // namespace

bool Core::PrepareEnv(const std::string& runtime_env, std::map<std::string, std::string>* env) {
  json parsed = json::parse(runtime_env, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) {
    FailEnv(runtime_env, "its runtime env is not a JSON object: " + runtime_env);
    return false;
  }
  if (auto vars = parsed.find("env_vars"); vars != parsed.end() && vars->is_object()) {
    for (const auto& [name, value] : vars->items()) {
      if (value.is_string()) (*env)[name] = value.get<std::string>();
    }
  }
  auto uri = parsed.find("working_dir");
  if (uri == parsed.end()) return true;
  const std::string text = uri->is_string() ? uri->get<std::string>() : std::string();
  if (text.rfind(kUriScheme, 0) != 0 || text.find('/', sizeof(kUriScheme) - 1) != std::string::npos) {
    FailEnv(runtime_env, "its runtime env's working_dir is not one the runtime shipped: " + text);
    return false;
  }
  const std::string key = text.substr(sizeof(kUriScheme) - 1);
  WorkingDir& dir = st_.working_dirs[key];
  if (dir.ready) {
    (*env)["RAY_WORKING_DIR"] = dir.path;
    return true;
  }
  if (!dir.fetching) {
    dir.fetching = true;
    out_.FetchCode(key, [this, key, runtime_env](StatusOr<proto::CodePackage> files) {
      OnWorkingDirFetched(key, runtime_env, std::move(files));
    });
  }
  return false;
}

void Core::OnWorkingDirFetched(const std::string& key, const std::string& runtime_env,
                               StatusOr<proto::CodePackage> files) {
  WorkingDir& dir = st_.working_dirs[key];
  dir.fetching = false;
  std::string why;
  if (!files.ok()) {
    why = "cannot fetch its working_dir (" + key + ") from the GCS: " + files.status().message();
  } else {
    std::string path = st_.options.session_dir + "/runtime_resources/" + key;
    Status written = host_.InstallWorkingDir(path, *files);
    if (written.ok()) {
      dir.ready = true;
      dir.path = path;
      Schedule();
      return;
    }
    why = "cannot write its working_dir: " + written.message();
  }
  RAY_LOG(Error) << why;
  FailEnv(runtime_env, why);
}

void Core::FailEnv(const std::string& runtime_env, const std::string& why) {
  FailReadyTasks([&](const proto::TaskSpec& spec) { return spec.runtime_env == runtime_env; },
                 "has no worker: none can start in its runtime env: " + why);
  std::vector<std::string> actors;
  for (const auto& [aid, a] : st_.actors) {
    if (a.needs_worker && a.creation.runtime_env == runtime_env) actors.push_back(aid);
  }
  for (const auto& aid : actors) {
    st_.actors[aid].needs_worker = false;
    if (auto t = st_.tasks.find(st_.actors[aid].creation.task_id); t != st_.tasks.end()) {
      UnpinArgs(t->second);
      st_.tasks.erase(t);
    }
    MarkActorDead(aid, "no worker can start for it: " + why);
  }
}

}  // namespace ray::raylet
