// RAYLOG (ray/api/logging.h) on the runtime's own logging (actors/common/logging.h).
#include <cstdlib>
#include <sstream>

#include "actors/common/logging.h"
#include "ray/api/logging.h"

namespace ray {
namespace {

logging::Level LevelOf(RayLogLevel level) {
  switch (level) {
    case RayLogLevel::DEBUG:
      return logging::Level::kDebug;
    case RayLogLevel::INFO:
      return logging::Level::kInfo;
    case RayLogLevel::WARNING:
      return logging::Level::kWarning;
    case RayLogLevel::ERROR:
    case RayLogLevel::FATAL:
      break;
  }
  return logging::Level::kError;
}

class Line final : public RayLog {
 public:
  Line(const char* file, int line, RayLogLevel severity)
      : file_(file), line_(line), severity_(severity), enabled_(IsLevelEnabled(severity)) {}
  ~Line() override {
    if (enabled_) {
      logging::Write(LevelOf(severity_), file_, line_,
                     (severity_ == RayLogLevel::FATAL ? "FATAL: " : "") + stream_.str());
    }
    if (severity_ == RayLogLevel::FATAL) std::abort();
  }
  bool IsEnabled() const override { return enabled_; }

 protected:
  std::ostream& Stream() override { return stream_; }

 private:
  const char* file_;
  int line_;
  RayLogLevel severity_;
  bool enabled_;
  std::ostringstream stream_;
};

}  // namespace

std::unique_ptr<RayLog> CreateRayLog(const char* file_name, int line_number, RayLogLevel severity) {
  return std::make_unique<Line>(file_name, line_number, severity);
}

bool IsLevelEnabled(RayLogLevel log_level) {
  // FATAL is never silenced: it ends the process, and says why.
  return log_level == RayLogLevel::FATAL || logging::Enabled(LevelOf(log_level));
}

}  // namespace ray
