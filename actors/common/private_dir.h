// Directories and files for this user's eyes only: the temp root and its
// session directories, the registry of `ray start`, the GCS's LevelDB. A
// directory another local user can write to (or replace) would let them plant
// symlinks that a node running as root then writes through, or read the
// cluster's objects and logs.
#ifndef RAY_ACTORS_COMMON_PRIVATE_DIR_H_
#define RAY_ACTORS_COMMON_PRIVATE_DIR_H_

#include <string>

namespace ray {

/// The default root of session directories (Ray's /tmp/ray).
inline constexpr char kDefaultTempRoot[] = "/tmp/ray";

/// Why `path` is not safe to keep this user's files in; empty when it is.
/// Safe: a real directory (no symlink) owned by this user, writable by no one
/// else, whose every ancestor is owned by this user or root and is either
/// writable by no one else or sticky (as /tmp is).
std::string UnsafeDirReason(const std::string& path);

/// Creates the missing parts of `path` 0700, then checks it with
/// UnsafeDirReason (an existing directory is not changed, only checked).
/// Empty on success, else why not, naming the directory.
std::string EnsurePrivateDir(const std::string& path);

/// `root` while it is missing or safe, else `root`-<uid> (another user's
/// cluster has it, or anyone may write it); `*why`, when given, says why
/// `root` was passed over.
std::string RootOrFallback(const std::string& root, std::string* why = nullptr);

/// This user's default root: RootOrFallback(/tmp/ray).
inline std::string DefaultRoot(std::string* why = nullptr) {
  return RootOrFallback(kDefaultTempRoot, why);
}

/// Opens `path` for appending, creating it 0600; never through a symlink.
/// -1 with errno set on failure.
int OpenPrivateAppend(const std::string& path);

/// Opens `path` for reading only if it is a regular file reached without a
/// symlink; -1 with errno set otherwise (ELOOP for a symlink).
int OpenRegularFile(const std::string& path);

}  // namespace ray

#endif  // RAY_ACTORS_COMMON_PRIVATE_DIR_H_
