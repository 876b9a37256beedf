// Minimal leveled logging with a Python-logging style format (RayConfig's
// logging_level / logging_format). Thread-safe; writes one line per message to stderr.
#ifndef RAY_ACTORS_COMMON_LOGGING_H_
#define RAY_ACTORS_COMMON_LOGGING_H_

#include <sstream>
#include <string>

namespace ray::logging {

enum class Level { kDebug = 10, kInfo = 20, kWarning = 30, kError = 40, kOff = 100 };

/// Parses "debug"/"info"/"warning"/"error" (any case) or 10/20/30/40; false if unknown.
bool ParseLevel(const std::string& text, Level* level);
/// Validates a format; false (with *error) on an unknown %(name)s field.
bool CheckFormat(const std::string& format, std::string* error);
void Configure(Level level, const std::string& format);
/// Reads RAY_LOGGING_LEVEL / RAY_LOGGING_FORMAT (set for workers by their node).
void ConfigureFromEnvironment();
bool Enabled(Level level);
void Write(Level level, const char* file, int line, const std::string& message);

class Message {
 public:
  Message(Level level, const char* file, int line) : level_(level), file_(file), line_(line) {}
  ~Message() { Write(level_, file_, line_, stream_.str()); }
  std::ostream& stream() { return stream_; }

 private:
  Level level_;
  const char* file_;
  int line_;
  std::ostringstream stream_;
};

}  // namespace ray::logging

#define RAY_LOG(severity)                                                    \
  if (!::ray::logging::Enabled(::ray::logging::Level::k##severity)) {       \
  } else                                                                     \
    ::ray::logging::Message(::ray::logging::Level::k##severity, __FILE__, __LINE__).stream()

#endif  // RAY_ACTORS_COMMON_LOGGING_H_
