// Entry point of worker processes and the executor running user code in them.
//
// A worker is the driver's own executable started with LD_PRELOAD of
// libray_worker_preload.so, which calls ray_internal_worker_main instead of
// the user's main after all static initializers (and so every RAY_REMOTE) ran;
// or ray_default_worker, which first dlopens the code_search_path libraries.
#include <dirent.h>
#include <dlfcn.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <unordered_map>

#include "actors/common/ids.h"
#include "actors/common/profile_events.h"
#include "actors/common/logging.h"
#include "actors/worker/worker.h"
#include "ray/api.h"
#include "runtime/src/cluster_runtime.h"
#include "runtime/src/errors.h"
#include "runtime/src/runtime.h"

namespace ray::runtime {
namespace {

/// The profile event of one task: its phases' ends are noted as they pass,
/// and the event is recorded once the results are stored.
class TaskEvent {
 public:
  /// `spec` and `name` must outlive Finish.
  TaskEvent(const proto::TaskSpec& spec, const std::string& name)
      : record_(events::Recorder::Instance().enabled()) {
    if (!record_) return;
    event_.start_us = events::NowMicros();
    event_.type = "task";
    event_.task_id = spec.task_id;
    event_.job_id = spec.job_id;
    event_.actor_id = spec.actor_id;
    event_.function = name;
    event_.attempt = spec.attempts;
  }
  void ArgumentsDone() {
    if (record_) event_.args_end_us = events::NowMicros();
  }
  void ExecutionDone() {
    if (record_) event_.exec_end_us = events::NowMicros();
  }
  void Failed(const proto::ErrorInfo& info) {
    if (!record_) return;
    if (event_.exec_end_us == 0) event_.exec_end_us = events::NowMicros();
    event_.extra = {{"error_type", info.exception_type}, {"error_message", info.message}};
  }
  void Finish() {
    if (!record_) return;
    event_.end_us = events::NowMicros();
    events::Recorder::Instance().Record(std::move(event_));
  }

 private:
  bool record_;
  events::EventView event_;
};

class Executor : public worker::TaskExecutor {
 public:
  Executor(ClusterRuntime* runtime, std::string worker_id)
      : runtime_(runtime), worker_id_(std::move(worker_id)) {
    if (const char* cvd = std::getenv("CUDA_VISIBLE_DEVICES")) original_cvd_ = cvd;
  }

  proto::ExecReply Execute(const proto::ExecRequest& request) override {
    const proto::TaskSpec& spec = request.spec;
    proto::ExecReply reply;
    reply.task_id = spec.task_id;
    reply.worker_id = worker_id_;
    std::string name = spec.name.empty() ? spec.function : spec.name;
    TaskEvent event(spec, name);
    runtime_->WaitReady();
    SetVisibleGpus(request);
    runtime_->BeginTask(request);
    events::TaskScope task_scope(spec.task_id, spec.job_id, spec.actor_id);
    std::vector<internal::SerializedObject> results;
    try {
      std::vector<internal::ArgView> args;
      size_t next_ref = 0;
      for (const auto& a : spec.args) {
        if (a.is_ref) {
          auto bytes = runtime_->ArgBytes(request.resolved.at(next_ref++));
          args.push_back({bytes.first, bytes.second});
        } else {
          args.push_back({a.value.data(), a.value.size()});
        }
      }
      auto& fm = internal::FunctionManager::Instance();
      event.ArgumentsDone();
      switch (spec.Kind()) {
        case proto::TaskKind::kNormal: {
          const internal::Invoker* f = fm.GetInvoker(spec.function);
          if (!f) throw RayException("function " + spec.function + " is not registered in the worker");
          results = (*f)(nullptr, args, static_cast<int>(spec.return_ids.size()));
          break;
        }
        case proto::TaskKind::kActorCreation: {
          const internal::Factory* f = fm.GetFactory(spec.function);
          if (!f) throw RayException("actor factory " + spec.function + " is not registered in the worker");
          SetActorRestarted(spec.restarts > 0);  // already in its constructor
          actor_ = (*f)(args);
          break;
        }
        case proto::TaskKind::kActorMethod: {
          const internal::Invoker* f = fm.GetInvoker(spec.function);
          if (!f) throw RayException("actor method " + spec.function + " is not registered in the worker");
          if (!actor_) throw RayActorException("this worker hosts no actor");
          results = (*f)(actor_.get(), args, static_cast<int>(spec.return_ids.size()));
          break;
        }
      }
      event.ExecutionDone();
      for (size_t i = 0; i < spec.return_ids.size(); ++i) {
        if (i >= results.size()) throw RayException("task returned too few values");
        reply.results.push_back(runtime_->StoreResult(spec.return_ids[i], results[i]));
      }
    } catch (...) {
      proto::ErrorInfo info = CurrentExceptionInfo(name);
      event.Failed(info);
      reply.user_error = true;
      reply.results.clear();
      if (spec.Kind() == proto::TaskKind::kActorCreation) {
        reply.results.push_back(ErrorEntry("", info));
      }
      for (const auto& id : spec.return_ids) reply.results.push_back(ErrorEntry(id, info));
    }
    reply.exit_actor = runtime_->EndTask();
    event.Finish();
    if (spec.max_calls > 0 && ++calls_[spec.function] >= spec.max_calls) reply.exiting = true;
    return reply;
  }

 private:
  void SetVisibleGpus(const proto::ExecRequest& request) {
    if (request.spec.Kind() == proto::TaskKind::kActorMethod) return;  // set at creation
    auto it = request.allocation.find("GPU");
    if (it == request.allocation.end() || it->second.empty()) {
      if (original_cvd_) setenv("CUDA_VISIBLE_DEVICES", original_cvd_->c_str(), 1);
      else unsetenv("CUDA_VISIBLE_DEVICES");
      return;
    }
    std::string ids;
    for (const auto& [id, fraction] : it->second) ids += (ids.empty() ? "" : ",") + std::to_string(id);
    setenv("CUDA_VISIBLE_DEVICES", ids.c_str(), 1);
  }

  ClusterRuntime* runtime_;
  std::string worker_id_;
  std::shared_ptr<void> actor_;
  std::unordered_map<std::string, int> calls_;
  std::optional<std::string> original_cvd_;
};

void LoadCodeSearchPath(const std::string& joined) {
  std::stringstream ss(joined);
  std::string path;
  while (std::getline(ss, path, ':')) {
    std::vector<std::string> files;
    if (DIR* dir = opendir(path.c_str())) {
      while (dirent* e = readdir(dir)) {
        std::string n = e->d_name;
        if (n.size() > 3 && (n.find(".so") != std::string::npos)) files.push_back(path + "/" + n);
      }
      closedir(dir);
    } else {
      files.push_back(path);
    }
    for (const auto& f : files) {
      if (!dlopen(f.c_str(), RTLD_NOW | RTLD_GLOBAL)) {
        std::cerr << "ray worker: cannot load " << f << ": " << dlerror() << std::endl;
      }
    }
  }
}

int WorkerMain() {
  unsetenv("LD_PRELOAD");  // processes that user code starts are not workers
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  // `ray stack`: the node's gdb (a child of the node) may attach to this
  // worker even where Yama allows ptrace of descendants only (ptrace_scope 1).
  prctl(PR_SET_PTRACER, getppid(), 0, 0, 0);
  const char* node_pid = std::getenv("RAY_NODE_PID");
  if (node_pid && getppid() != std::atoi(node_pid)) return 1;  // node already gone
  logging::ConfigureFromEnvironment();
  if (const char* code = std::getenv("RAY_CODE_SEARCH_PATH")) LoadCodeSearchPath(code);
  // The runtime env's working_dir, written here by the node (after the code
  // is loaded: its paths may be relative to where the node runs).
  if (const char* dir = std::getenv("RAY_WORKING_DIR")) {
    if (chdir(dir) != 0) {
      std::cerr << "ray worker: cannot enter the working_dir " << dir << ": " << strerror(errno)
                << std::endl;
      return 2;
    }
    unsetenv("RAY_WORKING_DIR");
  }
  const char* address = std::getenv("RAY_NODE_ADDRESS");
  const char* worker_hex = std::getenv("RAY_WORKER_ID");
  if (!address || !worker_hex) {
    std::cerr << "ray worker: RAY_NODE_ADDRESS and RAY_WORKER_ID must be set" << std::endl;
    return 2;
  }
  std::string worker_id;
  if (!ids::FromHex(worker_hex, &worker_id)) {
    std::cerr << "ray worker: RAY_WORKER_ID is not hex: " << worker_hex << std::endl;
    return 2;
  }
  std::string error;
  caf::actor worker;
  auto runtime = ClusterRuntime::StartWorker(
      address, worker_id,
      [&](ClusterRuntime* rt) {
        SetCurrentRuntime(rt);  // tasks may call the API as soon as they arrive
        return std::make_shared<Executor>(rt, worker_id);
      },
      &worker,
      &error);
  if (!runtime) {
    std::cerr << "ray worker: " << error << std::endl;
    return 3;
  }
  ClusterRuntime* raw = runtime.get();
  InstallRuntime(std::move(runtime));
  {
    caf::scoped_actor self{raw->system(), true};
    self->monitor(worker);
    self->receive([](const caf::down_msg&) {});
  }
  try {
    raw->FlushEvents();  // the last tasks' events, before the process goes
  } catch (const std::exception&) {
    // The node is gone.
  }
  // Skip the user's static destructors and atexit handlers: this process only served tasks.
  std::cout.flush();
  std::cerr.flush();
  std::_Exit(0);
}

}  // namespace
}  // namespace ray::runtime

extern "C" int ray_internal_worker_main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  // Reached the worker loop, as it should: programs its tasks start are not workers.
  unsetenv("RAY_WORKER_MODE");
  return ray::runtime::WorkerMain();
}
