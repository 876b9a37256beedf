#include "runtime/src/errors.h"

#include "ray/api/ray_exception.h"

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

proto::ObjectEntry ErrorEntry(const std::string& id, const proto::ErrorInfo& info) {
  return {id, static_cast<uint8_t>(proto::ObjectKind::kError), proto::Encode(info), -1, 0};
}

}  // namespace ray::runtime
