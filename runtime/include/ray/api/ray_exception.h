// Exceptions raised at the public API boundary. All derive from ray::RayException.
#ifndef RAY_API_RAY_EXCEPTION_H_
#define RAY_API_RAY_EXCEPTION_H_

#include <stdexcept>
#include <string>

namespace ray {

/// Base of every error the runtime raises to user code.
class RayException : public std::runtime_error {
 public:
  explicit RayException(const std::string& message) : std::runtime_error(message) {}
};

/// A task or actor method threw: carries the user's exception type, its message and the task's name.
class RayTaskException : public RayException {
 public:
  RayTaskException(std::string task_name, std::string exception_type, std::string message)
      : RayException("task " + task_name + " failed: " + exception_type + ": " + message),
        task_name_(std::move(task_name)),
        exception_type_(std::move(exception_type)),
        user_message_(std::move(message)) {}
  const std::string& task_name() const { return task_name_; }
  /// Demangled type of the exception the user's code threw, e.g. "std::invalid_argument".
  const std::string& exception_type() const { return exception_type_; }
  /// what() of the user's exception.
  const std::string& user_message() const { return user_message_; }

 private:
  std::string task_name_;
  std::string exception_type_;
  std::string user_message_;
};

/// The actor is dead (killed, exited, its process died, or its constructor threw).
class RayActorException : public RayException {
 public:
  using RayException::RayException;
};

/// The worker process running the task died (crash, abort, kill) and retries were exhausted.
class RayWorkerException : public RayException {
 public:
  using RayException::RayException;
};

/// Get or Wait timed out.
class RayTimeoutException : public RayException {
 public:
  using RayException::RayException;
};

/// The object store cannot hold the object (larger than the store, or full of pinned objects).
class RayObjectStoreFullException : public RayException {
 public:
  using RayException::RayException;
};

/// The object is no longer available and cannot be rebuilt.
class ObjectLostException : public RayException {
 public:
  using RayException::RayException;
};

}  // namespace ray

#endif  // RAY_API_RAY_EXCEPTION_H_
