#include "actors/common/profile_events.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

namespace ray::events {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

uint32_t ThreadId() {
  thread_local const uint32_t tid = static_cast<uint32_t>(syscall(SYS_gettid));
  return tid;
}

namespace {
thread_local TaskContext current_task;
thread_local bool in_task = false;
}  // namespace

const TaskContext* CurrentTask() { return in_task ? &current_task : nullptr; }

TaskScope::TaskScope(const std::string& task_id, const std::string& job_id,
                     const std::string& actor_id) {
  current_task.task_id = task_id;
  current_task.job_id = job_id;
  current_task.actor_id = actor_id;
  in_task = true;
}

TaskScope::~TaskScope() { in_task = false; }

Recorder& Recorder::Instance() {
  static Recorder* recorder = new Recorder();  // never destroyed: threads record until exit
  return *recorder;
}

Recorder::Recorder() {
  const char* env = std::getenv("RAY_ENABLE_TIMELINE");
  if (env && (std::strcmp(env, "0") == 0 || std::strcmp(env, "false") == 0)) SetEnabled(false);
  pending_.pid = static_cast<int32_t>(getpid());
}

void Recorder::SetIdentity(std::string component_type, std::string component_id,
                           std::string job_id) {
  std::lock_guard<std::mutex> lock(mu_);
  job_id_ = std::move(job_id);
  pending_.component_type = std::move(component_type);
  pending_.component_id = std::move(component_id);
}

std::string Recorder::component_type() {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_.component_type;
}

void Recorder::Record(Event event) {
  if (!enabled()) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (pending_.events.size() >= kMaxBuffered) {
    ++pending_.dropped;
    return;
  }
  pending_.events.push_back(std::move(event));
}

Batch Recorder::Take() {
  Batch out;
  std::lock_guard<std::mutex> lock(mu_);
  out.component_type = pending_.component_type;
  out.component_id = pending_.component_id;
  out.pid = static_cast<int32_t>(getpid());  // a forked child records as itself
  out.dropped = pending_.dropped;
  out.events.swap(pending_.events);
  pending_.dropped = 0;
  if (!job_id_.empty()) {
    for (auto& event : out.events) {
      if (event.job_id.empty() && event.source == static_cast<uint8_t>(Source::kProcess)) {
        event.job_id = job_id_;
      }
    }
  }
  return out;
}

}  // namespace ray::events
