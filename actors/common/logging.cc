#include "actors/common/logging.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <mutex>

namespace ray::logging {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::mutex g_mu;
std::string g_format = "%(asctime)s\t%(levelname)s %(filename)s:%(lineno)s -- %(message)s";

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug: return "DEBUG";
    case Level::kInfo: return "INFO";
    case Level::kWarning: return "WARNING";
    case Level::kError: return "ERROR";
    default: return "OFF";
  }
}

std::string AscTime() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  char buf[64];
  std::tm tm;
  localtime_r(&t, &tm);
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  char out[80];
  std::snprintf(out, sizeof(out), "%s,%03d", buf, static_cast<int>(ms.count()));
  return out;
}

const char* kFields[] = {"asctime", "levelname", "filename", "lineno", "message",
                         "process", "levelno",   "name"};

}  // namespace

bool ParseLevel(const std::string& text, Level* level) {
  std::string t = text;
  std::transform(t.begin(), t.end(), t.begin(), ::tolower);
  if (t == "debug" || t == "10") *level = Level::kDebug;
  else if (t == "info" || t == "20") *level = Level::kInfo;
  else if (t == "warning" || t == "warn" || t == "30") *level = Level::kWarning;
  else if (t == "error" || t == "40") *level = Level::kError;
  else if (t == "off" || t == "critical" || t == "50") *level = Level::kOff;
  else return false;
  return true;
}

bool CheckFormat(const std::string& format, std::string* error) {
  size_t pos = 0;
  while ((pos = format.find("%(", pos)) != std::string::npos) {
    size_t end = format.find(")s", pos);
    if (end == std::string::npos) {
      *error = "unterminated field at offset " + std::to_string(pos) + " (expected %(name)s)";
      return false;
    }
    std::string name = format.substr(pos + 2, end - pos - 2);
    if (std::find(std::begin(kFields), std::end(kFields), name) == std::end(kFields)) {
      *error = "unknown field %(" + name + ")s";
      return false;
    }
    pos = end + 2;
  }
  return true;
}

void Configure(Level level, const std::string& format) {
  g_level = static_cast<int>(level);
  std::lock_guard<std::mutex> lock(g_mu);
  g_format = format;
}

void ConfigureFromEnvironment() {
  Level level = Level::kInfo;
  if (const char* l = std::getenv("RAY_LOGGING_LEVEL")) ParseLevel(l, &level);
  std::lock_guard<std::mutex> lock(g_mu);
  g_level = static_cast<int>(level);
  if (const char* f = std::getenv("RAY_LOGGING_FORMAT")) g_format = f;
}

bool Enabled(Level level) { return static_cast<int>(level) >= g_level.load(); }

void Write(Level level, const char* file, int line, const std::string& message) {
  std::string fmt;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    fmt = g_format;
  }
  const char* base = file;
  for (const char* p = file; *p; ++p) {
    if (*p == '/') base = p + 1;
  }
  std::string out;
  size_t pos = 0;
  while (pos < fmt.size()) {
    size_t f = fmt.find("%(", pos);
    if (f == std::string::npos) {
      out += fmt.substr(pos);
      break;
    }
    out += fmt.substr(pos, f - pos);
    size_t end = fmt.find(")s", f);
    if (end == std::string::npos) {
      out += fmt.substr(f);
      break;
    }
    std::string name = fmt.substr(f + 2, end - f - 2);
    if (name == "asctime") out += AscTime();
    else if (name == "levelname") out += LevelName(level);
    else if (name == "levelno") out += std::to_string(static_cast<int>(level));
    else if (name == "filename") out += base;
    else if (name == "lineno") out += std::to_string(line);
    else if (name == "message") out += message;
    else if (name == "process") out += std::to_string(getpid());
    else if (name == "name") out += "ray";
    pos = end + 2;
  }
  out += '\n';
  (void)!write(2, out.data(), out.size());
}

}  // namespace ray::logging
