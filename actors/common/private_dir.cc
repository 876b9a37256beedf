#include "actors/common/private_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>

namespace ray {
namespace {

std::string Mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

/// Why the ancestor `dir` lets someone else replace what is under it.
std::string UnsafeAncestor(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return "cannot stat " + dir + ": " + std::strerror(errno);
  if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
    return "its parent " + dir + " belongs to uid " + std::to_string(st.st_uid);
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0) {
    return "its parent " + dir + " is writable by others and not sticky (mode " +
           Mode(st.st_mode) + ")";
  }
  return "";
}

}  // namespace

std::string UnsafeDirReason(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path full = fs::absolute(path, ec).lexically_normal();
  struct stat st {};
  if (::lstat(full.c_str(), &st) != 0) return "cannot stat " + path + ": " + std::strerror(errno);
  if (S_ISLNK(st.st_mode)) return path + " is a symlink";
  if (!S_ISDIR(st.st_mode)) return path + " is not a directory";
  if (st.st_uid != ::geteuid()) {
    return path + " belongs to uid " + std::to_string(st.st_uid) + ", not to this user (uid " +
           std::to_string(::geteuid()) + ")";
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return path + " is writable by others (mode " + Mode(st.st_mode) + ")";
  }
  for (fs::path dir = full.parent_path(); !dir.empty(); dir = dir.parent_path()) {
    if (std::string why = UnsafeAncestor(dir.string()); !why.empty()) return path + ": " + why;
    if (dir == dir.root_path()) break;
  }
  return "";
}

std::string EnsurePrivateDir(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path full = fs::absolute(path, ec).lexically_normal();
  fs::path prefix;
  for (const auto& part : full) {
    prefix /= part;
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      return "cannot create " + prefix.string() + ": " + std::strerror(errno);
    }
  }
  return UnsafeDirReason(path);
}

std::string RootOrFallback(const std::string& root, std::string* why) {
  struct stat st {};
  if (::lstat(root.c_str(), &st) != 0 && errno == ENOENT) return root;
  std::string unsafe = UnsafeDirReason(root);
  if (unsafe.empty()) return root;
  if (why != nullptr) *why = unsafe;
  return root + "-" + std::to_string(::geteuid());
}

int OpenPrivateAppend(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
}

int OpenRegularFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return -1;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    errno = EINVAL;
    return -1;
  }
  return fd;
}

}  // namespace ray
