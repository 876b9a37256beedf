#include "actors/common/status.h"

namespace ray {

const char* ErrcName(Errc code) {
  switch (code) {
    case Errc::kOk: return "ok";
    case Errc::kInvalidArgument: return "invalid_argument";
    case Errc::kNotFound: return "not_found";
    case Errc::kAlreadyExists: return "already_exists";
    case Errc::kRemovedFromCluster: return "removed_from_cluster";
    case Errc::kActorDead: return "actor_dead";
    case Errc::kUnavailable: return "unavailable";
    case Errc::kTimeout: return "timeout";
    case Errc::kResourceExhausted: return "resource_exhausted";
    case Errc::kPermissionDenied: return "permission_denied";
    case Errc::kIoError: return "io_error";
    case Errc::kInternal: return "internal";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(ErrcName(code_)) + ": " + message_;
}

}  // namespace ray
