#include "runtime/src/errors.h"

#include <typeinfo>

#include "ray/api.h"

namespace ray::runtime {

void ThrowError(const proto::ErrorInfo& info) {
  switch (static_cast<proto::ErrorKind>(info.kind)) {
    case proto::ErrorKind::kTask:
      throw RayTaskException(info.task_name, info.exception_type, info.message);
    case proto::ErrorKind::kActor:
      throw RayActorException(info.message);
    case proto::ErrorKind::kWorker:
      throw RayWorkerException(info.message);
    case proto::ErrorKind::kLost:
      throw ObjectLostException(info.message);
    case proto::ErrorKind::kStoreFull:
      throw RayObjectStoreFullException(info.message);
    case proto::ErrorKind::kUnregistered:
      throw RayException(info.message);
  }
  throw RayException(info.message);
}

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

proto::ObjectEntry ErrorEntry(const std::string& id, const proto::ErrorInfo& info) {
  return {id, static_cast<uint8_t>(proto::ObjectKind::kError), proto::Encode(info), -1, 0};
}

}  // namespace ray::runtime
