// Where this process's executable is (the one place /proc/self/exe is read).
#ifndef RAY_ACTORS_COMMON_SELF_EXE_H_
#define RAY_ACTORS_COMMON_SELF_EXE_H_

#include <filesystem>
#include <string>
#include <system_error>

namespace ray {

/// The absolute path of the running executable, or "" when unknown.
inline std::string SelfExecutable() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : path.string();
}

/// Its directory, or `fallback` when unknown.
inline std::string SelfExecutableDirectory(const std::string& fallback = ".") {
  std::string exe = SelfExecutable();
  return exe.empty() ? fallback : std::filesystem::path(exe).parent_path().string();
}

}  // namespace ray

#endif  // RAY_ACTORS_COMMON_SELF_EXE_H_
