// What a driver attached to a cluster ships so that workers on other hosts
// can run its tasks: its executable, or the libraries of its code search
// path. Plain C++ (no CAF): the session sends the package to the GCS.
#ifndef RAY_RUNTIME_SRC_CODE_SHIPPING_H_
#define RAY_RUNTIME_SRC_CODE_SHIPPING_H_

#include <string>
#include <vector>

#include "actors/common/protocol.h"

namespace ray::runtime {

/// The code of one job. Holds only its inputs: safe to use from any thread.
class CodeShipping {
 public:
  /// `search_path` empty: workers run `executable`; else they load the
  /// libraries named there (files, or the .so files of directories).
  CodeShipping(std::string executable, std::vector<std::string> search_path);

  /// The files to ship. Entries of the search path that do not exist are
  /// skipped; a directory's libraries come in the directory's order.
  std::vector<std::string> Files() const;
  /// Appends each file to `*code` as (name without directory, bytes); false
  /// with `*error` naming the first file that cannot be read, and why.
  bool Read(proto::CodePackage* code, std::string* error) const;

 private:
  std::string executable_;
  std::vector<std::string> search_path_;
};

/// Appends the bytes of the file at `path` to `*out`; false (errno set) when
/// it cannot be opened or read.
bool ReadWholeFile(const std::string& path, std::string* out);

/// The directory of the executable or shared library that holds `symbol`
/// (e.g. libray_api.so, next to which its helper programs are installed);
/// "." when it cannot be told.
std::string LibraryDirectoryOf(const void* symbol);

}  // namespace ray::runtime

#endif  // RAY_RUNTIME_SRC_CODE_SHIPPING_H_
