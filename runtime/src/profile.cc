// ray::Profile spans, ray::Timeline, and how a span ended by an exception
// learns its type and message.
//
// C++ gives a destructor run by unwinding no access to the exception in
// flight, so this library wraps the C++ ABI's __cxa_throw (Itanium ABI, as
// GCC and Clang on Linux use): while a span is open on the throwing thread,
// the thrown object's type and what() are noted before the real __cxa_throw
// runs; a span's destructor that finds more uncaught exceptions than at its
// start reports the last noted one. Nothing is done on throws outside spans.
#include <cxxabi.h>
#include <dlfcn.h>

#include <cstdlib>
#include <ctime>
#include <exception>
#include <fstream>
#include <mutex>
#include <typeinfo>

#include "actors/common/profile_events.h"
#include "actors/common/protocol.h"
#include "actors/common/timeline.h"
#include "ray/api.h"

namespace ray {
namespace {

thread_local int open_spans = 0;
thread_local std::string thrown_type;
thread_local std::string thrown_what;

std::string Demangle(const char* name) {
  int status = 0;
  char* out = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string result = status == 0 && out ? out : name;
  std::free(out);
  return result;
}

void NoteThrow(void* object, std::type_info* type) {
  thrown_type = Demangle(type->name());
  thrown_what.clear();
  void* adjusted = object;
  if (typeid(std::exception).__do_catch(type, &adjusted, 1)) {
    thrown_what = static_cast<const std::exception*>(adjusted)->what();
  }
}

}  // namespace
}  // namespace ray

namespace __cxxabiv1 {
extern "C" void __cxa_throw(void* object, std::type_info* type,
                            void(_GLIBCXX_CDTOR_CALLABI* destructor)(void*)) {
  using Real = void (*)(void*, std::type_info*, void(_GLIBCXX_CDTOR_CALLABI*)(void*));
  static Real real = reinterpret_cast<Real>(dlsym(RTLD_NEXT, "__cxa_throw"));
  if (ray::open_spans > 0) {
    try {
      ray::NoteThrow(object, type);
    } catch (...) {
      // Noting is best effort: the exception itself must still be thrown.
    }
  }
  if (!real) std::abort();
  real(object, type, destructor);
  __builtin_unreachable();
}
}  // namespace __cxxabiv1

namespace ray {

struct ProfileSpan::Impl {
  events::Event event;
  int uncaught = 0;
};

ProfileSpan::ProfileSpan(std::string event_type, std::map<std::string, std::string> extra) {
  if (!events::Recorder::Instance().enabled()) return;
  impl_ = std::make_unique<Impl>();
  impl_->uncaught = std::uncaught_exceptions();
  auto& event = impl_->event;
  event.type = std::move(event_type);
  event.extra.assign(extra.begin(), extra.end());
  if (const events::TaskContext* task = events::CurrentTask()) {
    event.task_id = task->task_id;
    event.job_id = task->job_id;
    event.actor_id = task->actor_id;
  }
  ++open_spans;
  event.start_us = events::NowMicros();
}

ProfileSpan::ProfileSpan(ProfileSpan&& other) noexcept : impl_(std::move(other.impl_)) {}

ProfileSpan::~ProfileSpan() {
  if (!impl_) return;
  auto& event = impl_->event;
  event.end_us = events::NowMicros();
  --open_spans;
  if (std::uncaught_exceptions() > impl_->uncaught) {
    event.extra.emplace_back("exception_type", thrown_type.empty() ? "unknown" : thrown_type);
    event.extra.emplace_back("exception_message", thrown_what);
  }
  try {
    events::Recorder::Instance().Record(std::move(event));
  } catch (...) {
    // Out of memory while unwinding: the span is lost, the program is not.
  }
}

void ProfileSpan::SetAttribute(const std::string& key, const std::string& value) {
  if (!impl_) return;
  for (auto& [k, v] : impl_->event.extra) {
    if (k == key) {
      v = value;
      return;
    }
  }
  impl_->event.extra.emplace_back(key, value);
}

namespace {

/// Local mode keeps its events here: there is no GCS.
events::EventsReply& LocalEvents() {
  static events::EventsReply reply;
  return reply;
}

std::string DefaultTimelinePath() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "/tmp/ray-timeline-%Y-%m-%d_%H-%M-%S.json", &tm);
  return buf;
}

}  // namespace

std::string Timeline(const std::string& path) {
  events::EventsReply reply;
  auto& runtime = internal::Runtime();
  if (runtime.IsLocalMode()) {
    static std::mutex mu;
    std::lock_guard<std::mutex> lock(mu);
    events::Batch batch = events::Recorder::Instance().Take();
    batch.component_type = "driver";
    LocalEvents().nodes = {{"local", "local mode"}};
    LocalEvents().batches.push_back({"local", std::move(batch)});
    reply = LocalEvents();
  } else {
    reply = proto::Decode<events::EventsReply>(runtime.QueryEvents(""));
  }
  std::string out = path.empty() ? DefaultTimelinePath() : path;
  std::ofstream file(out, std::ios::trunc);
  file << timeline::ChromeTrace(reply, {});
  file.close();
  if (!file) throw RayException("ray::Timeline: cannot write " + out);
  return out;
}

}  // namespace ray
