#include "actors/common/profile_events.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>

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

// -- Batch ----------------------------------------------------------------------------

std::vector<Event> Batch::Expand() const {
  auto text = [this](uint32_t index) -> std::string {
    return index < strings.size() ? strings[index] : std::string();
  };
  std::vector<Event> out;
  out.reserve(events.size());
  for (const auto& w : events) {
    Event e;
    e.type = text(w.type);
    e.start_us = base_us + w.start;
    e.end_us = e.start_us + std::max<int64_t>(0, w.duration);
    e.tid = w.tid;
    e.source = w.source;
    e.task_id = w.task_id;
    e.job_id = text(w.job);
    e.actor_id = text(w.actor);
    e.function = text(w.function);
    e.attempt = w.attempt;
    if (w.args_duration > 0 || w.exec_duration > 0) {
      e.args_end_us = e.start_us + w.args_duration;
      e.exec_end_us = e.start_us + w.exec_duration;
    }
    e.value = w.value;
    e.extra = w.extra;
    out.push_back(std::move(e));
  }
  return out;
}

void Batch::KeepJob(const std::string& job_id) {
  events.erase(std::remove_if(events.begin(), events.end(),
                              [&](const WireEvent& w) {
                                return w.job >= strings.size() || strings[w.job] != job_id;
                              }),
               events.end());
}

// -- Recorder -----------------------------------------------------------------------------

Recorder& Recorder::Instance() {
  static Recorder* recorder = new Recorder();  // never destroyed: threads record until exit
  return *recorder;
}

Recorder::Recorder() {
  const char* env = std::getenv("RAY_ENABLE_TIMELINE");
  if (env && (std::strcmp(env, "0") == 0 || std::strcmp(env, "false") == 0)) SetEnabled(false);
  strings_.emplace_back();
}

void Recorder::SetIdentity(std::string component_type, std::string component_id,
                           std::string job_id) {
  std::lock_guard<std::mutex> lock(mu_);
  component_type_ = std::move(component_type);
  component_id_ = std::move(component_id);
  job_id_ = std::move(job_id);
}

std::string Recorder::component_type() {
  std::lock_guard<std::mutex> lock(mu_);
  return component_type_;
}

uint32_t Recorder::Intern(std::string_view text) {
  if (text.empty()) return 0;
  const size_t hash = std::hash<std::string_view>()(text);
  auto [begin, end] = by_hash_.equal_range(hash);
  for (auto it = begin; it != end; ++it) {
    if (strings_[it->second] == text) return it->second;
  }
  auto index = static_cast<uint32_t>(strings_.size());
  strings_.emplace_back(text);
  by_hash_.emplace(hash, index);
  return index;
}

void Recorder::Record(EventView e) {
  if (!enabled()) return;
  const uint32_t tid = ThreadId();
  std::lock_guard<std::mutex> lock(mu_);
  if (packed_.size() >= kMaxBuffered) {
    ++dropped_;
    return;
  }
  Packed p;
  p.start_us = e.start_us;
  p.end_us = std::max(e.start_us, e.end_us);
  p.args_end_us = e.args_end_us;
  p.exec_end_us = e.exec_end_us;
  p.value = e.value;
  p.tid = tid;
  p.type = Intern(e.type);
  p.job = Intern(e.job_id.empty() && e.source == Source::kProcess ? job_id_ : e.job_id);
  p.actor = Intern(e.actor_id);
  p.function = Intern(e.function);
  p.attempt = e.attempt;
  p.source = static_cast<uint8_t>(e.source);
  p.task_len = static_cast<uint8_t>(std::min<size_t>(e.task_id.size(), sizeof p.task_id));
  std::memcpy(p.task_id, e.task_id.data(), p.task_len);
  p.extra = 0;
  if (!e.extra.empty()) {
    extras_.push_back(std::move(e.extra));
    p.extra = static_cast<uint32_t>(extras_.size());
  }
  packed_.push_back(p);
}

void Recorder::Record(const Event& event) {
  EventView view;
  view.type = event.type;
  view.start_us = event.start_us;
  view.end_us = event.end_us;
  view.args_end_us = event.args_end_us;
  view.exec_end_us = event.exec_end_us;
  view.source = static_cast<Source>(event.source);
  view.task_id = event.task_id;
  view.job_id = event.job_id;
  view.actor_id = event.actor_id;
  view.function = event.function;
  view.attempt = event.attempt;
  view.value = event.value;
  view.extra = event.extra;
  Record(std::move(view));
}

Batch Recorder::Take() {
  Batch out;
  std::vector<Packed> packed;
  std::vector<Extra> extras;
  {
    std::lock_guard<std::mutex> lock(mu_);
    out.component_type = component_type_;
    out.component_id = component_id_;
    out.dropped = dropped_;
    dropped_ = 0;
    packed.swap(packed_);
    extras.swap(extras_);
    out.strings.swap(strings_);
    strings_.emplace_back();
    by_hash_.clear();
    packed_.reserve(packed.size());  // the next second is likely alike
  }
  out.pid = static_cast<int32_t>(getpid());  // a forked child records as itself
  if (out.strings.empty()) out.strings.emplace_back();
  out.base_us = packed.empty() ? 0 : packed.front().start_us;
  for (const auto& p : packed) out.base_us = std::min(out.base_us, p.start_us);
  out.events.reserve(packed.size());
  for (auto& p : packed) {
    WireEvent w;
    w.type = p.type;
    w.start = p.start_us - out.base_us;
    w.duration = p.end_us - p.start_us;
    w.tid = p.tid;
    w.source = p.source;
    w.task_id.assign(p.task_id, p.task_len);
    w.job = p.job;
    w.actor = p.actor;
    w.function = p.function;
    w.attempt = p.attempt;
    if (p.args_end_us > 0) w.args_duration = p.args_end_us - p.start_us;
    if (p.exec_end_us > 0) w.exec_duration = p.exec_end_us - p.start_us;
    w.value = p.value;
    if (p.extra > 0) w.extra = std::move(extras[p.extra - 1]);
    out.events.push_back(std::move(w));
  }
  return out;
}

}  // namespace ray::events
