// local_mode: every task and actor call runs at once, serially, in the
// driver's process and thread. For debugging; no worker processes exist.
#ifndef RAY_RUNTIME_SRC_LOCAL_MODE_RUNTIME_H_
#define RAY_RUNTIME_SRC_LOCAL_MODE_RUNTIME_H_

#include <memory>
#include <mutex>
#include <unordered_map>

#include "actors/common/protocol.h"
#include "ray/api/function_manager.h"
#include "ray/api/runtime_interface.h"

namespace ray::runtime {

class LocalModeRuntime : public internal::RuntimeInterface {
 public:
  /// `ray_namespace` empty: an anonymous one of its own.
  LocalModeRuntime(std::string root_id, std::string ray_namespace);

  std::vector<std::string> SubmitTask(const std::string& function,
                                      std::vector<internal::TaskArg> args,
                                      const internal::CallOptions& options) override;
  std::string CreateActor(const std::string& factory, std::vector<internal::TaskArg> args,
                          const internal::ActorOptions& options) override;
  std::vector<std::string> SubmitActorTask(const std::string& actor_id,
                                           const std::string& method,
                                           std::vector<internal::TaskArg> args,
                                           const internal::CallOptions& options) override;
  std::string Put(const internal::SerializedObject& object) override;
  std::vector<std::shared_ptr<internal::ObjectBuffer>> Get(const std::vector<std::string>& ids,
                                                           int64_t timeout_ms) override;
  std::vector<bool> Wait(const std::vector<const std::string*>& ids, int num_objects,
                         int64_t timeout_ms) override;
  std::optional<std::string> GetNamedActor(const std::string& name,
                                           const std::string& ray_namespace) override;
  std::string GetNamespace() override { return ray_namespace_; }
  void KillActor(const std::string& actor_id, bool no_restart) override;
  void ExitActor() override;
  std::vector<int> GetGpuIds() override { return {}; }
  internal::ResourceIds GetResourceIds() override { return {}; }
  bool IsLocalMode() const override { return true; }

 private:
  struct Stored {
    std::string bytes;
    bool is_error = false;
  };
  struct LocalActor {
    std::shared_ptr<void> instance;
    std::string name;
    std::string death_cause;  // empty while alive
  };
  std::string NextTaskId();
  std::vector<internal::ArgView> Resolve(const std::vector<internal::TaskArg>& args,
                                         std::vector<std::string>* error_bytes);
  std::vector<std::string> Store(const std::string& task_id, int num_returns,
                                 const std::function<std::vector<internal::SerializedObject>()>& run,
                                 const std::string& task_name);

  std::recursive_mutex mu_;  // tasks may submit tasks: re-entrant
  std::string root_id_;
  const std::string ray_namespace_;
  uint64_t counter_ = 0;
  std::unordered_map<std::string, Stored> objects_;
  std::unordered_map<std::string, LocalActor> actors_;
  std::unordered_map<std::string, std::string> names_;
  std::string current_actor_;
  bool exit_requested_ = false;
};

}  // namespace ray::runtime

#endif  // RAY_RUNTIME_SRC_LOCAL_MODE_RUNTIME_H_
