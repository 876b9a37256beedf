// RAYLOG: the user's log lines, as Ray's C++ API has them.
//
//   RAYLOG(INFO) << "step " << i << " done";
//
// A line below RayConfig::logging_level (or with configure_logging off) costs
// one comparison and writes nothing. In a worker it goes to the worker's log
// (logs/worker-<pid>.err, which `ray logs` and the dashboard show, and the
// driver's stderr with log_to_driver); in a driver, to stderr. Same format as
// the runtime's own lines (RayConfig::logging_format). FATAL writes, then aborts.
#ifndef RAY_API_LOGGING_H_
#define RAY_API_LOGGING_H_

#include <memory>
#include <ostream>

namespace ray {

enum class RayLogLevel { DEBUG = -1, INFO = 0, WARNING = 1, ERROR = 2, FATAL = 3 };
/// The name the Ray docs also use.
using RayLoggerLevel = RayLogLevel;

/// One log line, written when it is destroyed.
class RayLog {
 public:
  virtual ~RayLog() = default;
  virtual bool IsEnabled() const = 0;
  template <typename T>
  RayLog& operator<<(const T& value) {
    if (IsEnabled()) Stream() << value;
    return *this;
  }

 protected:
  virtual std::ostream& Stream() = 0;
};

std::unique_ptr<RayLog> CreateRayLog(const char* file_name, int line_number, RayLogLevel severity);
/// Whether a line of `log_level` would be written now.
bool IsLevelEnabled(RayLogLevel log_level);

}  // namespace ray

#define RAYLOG_INTERNAL(level) *::ray::CreateRayLog(__FILE__, __LINE__, level)
#define RAYLOG(level)                                         \
  if (!::ray::IsLevelEnabled(::ray::RayLogLevel::level)) {    \
  } else                                                      \
    RAYLOG_INTERNAL(::ray::RayLogLevel::level)

#endif  // RAY_API_LOGGING_H_
