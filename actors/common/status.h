// Status and StatusOr: how the node's plain-C++ cores report failure. Between
// actors the same codes travel as caf::error values (actors/net/errors.h);
// at the public API they become exceptions (runtime/include/ray/api/...).
#ifndef RAY_ACTORS_COMMON_STATUS_H_
#define RAY_ACTORS_COMMON_STATUS_H_

#include <cassert>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace ray {

/// The project's error codes. The numeric values are part of the wire
/// protocol (caf::error codes of category "ray"): append, never renumber.
enum class Errc : uint8_t {
  kOk = 0,
  /// A message, option or argument with bad content.
  kInvalidArgument = 1,
  /// The id names nothing this component knows (actor, job, object, task).
  kNotFound = 2,
  /// The name or id is taken (actor name, node id).
  kAlreadyExists = 3,
  /// The GCS removed this node from the cluster (missed heartbeats).
  kRemovedFromCluster = 4,
  /// The actor is dead; the message says why.
  kActorDead = 5,
  /// A component that must answer is not reachable now; retrying may work.
  kUnavailable = 6,
  /// Nothing came within the time allowed.
  kTimeout = 7,
  /// A limit was reached: no room in the object store, too many nodes.
  kResourceExhausted = 8,
  /// The sender may not ask for this (not from this process, bad token).
  kPermissionDenied = 9,
  /// A file or LevelDB operation failed.
  kIoError = 10,
  /// A broken invariant: a bug.
  kInternal = 11,
};

/// Name of a code, for logs ("not_found").
const char* ErrcName(Errc code);

/// Success, or an error code with a message saying what went wrong.
class Status {
 public:
  Status() = default;
  Status(Errc code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Errc::kOk; }
  Errc code() const { return code_; }
  const std::string& message() const { return message_; }
  /// "not_found: unknown job 0a0b" (or "ok").
  std::string ToString() const;

 private:
  Errc code_ = Errc::kOk;
  std::string message_;
};

/// A value, or the Status saying why there is none.
template <class T>
class StatusOr {
 public:
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT: implicit, as absl::StatusOr
  StatusOr(Status status) : status_(std::move(status)) { assert(!status_.ok()); }  // NOLINT

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  const T& value() const& { assert(ok()); return *value_; }
  T& value() & { assert(ok()); return *value_; }
  T&& value() && { assert(ok()); return std::move(*value_); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace ray

#endif  // RAY_ACTORS_COMMON_STATUS_H_
