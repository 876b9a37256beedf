// Conversion between errors stored as objects and the public exceptions.
#ifndef RAY_RUNTIME_SRC_ERRORS_H_
#define RAY_RUNTIME_SRC_ERRORS_H_

#include <exception>
#include <string>

#include "actors/common/protocol.h"

namespace ray::runtime {

/// Throws the public exception matching `info` (RayTaskException, ...).
[[noreturn]] void ThrowError(const proto::ErrorInfo& info);
/// Describes the exception being handled (call inside a catch block). Defined
/// in ray_api (exception_info.cc), not ray_runtime_core.
proto::ErrorInfo CurrentExceptionInfo(const std::string& task_name);
/// An error entry for object `id`.
proto::ObjectEntry ErrorEntry(const std::string& id, const proto::ErrorInfo& info);

}  // namespace ray::runtime

#endif  // RAY_RUNTIME_SRC_ERRORS_H_
