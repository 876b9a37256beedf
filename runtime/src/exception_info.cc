// CurrentExceptionInfo (errors.h): in ray_api, not with the rest of errors.h
// in ray_runtime_core, because it names the exception's type with the public
// API's demangler (internal::DemangledName, api_util.cc).
#include <typeinfo>

#include "ray/api.h"
#include "runtime/src/errors.h"

namespace ray::runtime {

proto::ErrorInfo CurrentExceptionInfo(const std::string& task_name) {
  proto::ErrorInfo info;
  info.kind = static_cast<uint8_t>(proto::ErrorKind::kTask);
  info.task_name = task_name;
  try {
    throw;
  } catch (const RayTaskException& e) {
    // A nested task failed and this task did not catch it: keep the root cause.
    info.exception_type = e.exception_type();
    info.message = e.user_message();
  } catch (const std::exception& e) {
    info.exception_type = internal::DemangledName(typeid(e).name());
    info.message = e.what();
  } catch (...) {
    info.exception_type = "unknown";
    info.message = "a non-std::exception was thrown";
  }
  return info;
}

}  // namespace ray::runtime
