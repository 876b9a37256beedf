#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace ray::test {

/// The whole of `path`, or what could be read of it before an error; "" when it cannot be
/// opened. Safe on /proc files of a process that exits while they are read: libstdc++'s
/// filebuf throws std::ios_base::failure from an istreambuf_iterator when read() fails
/// (ESRCH), whatever the stream's exception mask says.
inline std::string ReadWholeFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string text;
  char buffer[8192];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

}  // namespace ray::test
