#include "runtime/src/code_shipping.h"

#include <dirent.h>
#include <dlfcn.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

namespace ray::runtime {
namespace {

bool IsSharedLibrary(const std::string& name) {
  return name.size() > 3 && name.compare(name.size() - 3, 3, ".so") == 0;
}

void AppendLibraries(const std::string& directory, std::vector<std::string>* files) {
  DIR* d = opendir(directory.c_str());
  if (!d) return;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (IsSharedLibrary(name)) files->push_back(directory + "/" + name);
  }
  closedir(d);
}

}  // namespace

CodeShipping::CodeShipping(std::string executable, std::vector<std::string> search_path)
    : executable_(std::move(executable)), search_path_(std::move(search_path)) {}

std::vector<std::string> CodeShipping::Files() const {
  if (search_path_.empty()) return {executable_};
  std::vector<std::string> files;
  for (const auto& entry : search_path_) {
    struct stat st;
    if (stat(entry.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      AppendLibraries(entry, &files);
    } else {
      files.push_back(entry);
    }
  }
  return files;
}

bool CodeShipping::Read(proto::CodePackage* code, std::string* error) const {
  for (const auto& path : Files()) {
    std::string bytes;
    if (!ReadWholeFile(path, &bytes)) {
      *error = "cannot read " + path + " to ship it to the cluster: " + strerror(errno) +
               " (or set RayConfig::load_code_from_local)";
      return false;
    }
    code->emplace_back(path.substr(path.rfind('/') + 1), std::move(bytes));
  }
  return true;
}

bool ReadWholeFile(const std::string& path, std::string* out) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) out->append(buf, n);
  bool ok = std::ferror(f) == 0;
  std::fclose(f);
  return ok;
}

std::string LibraryDirectoryOf(const void* symbol) {
  Dl_info info;
  if (dladdr(symbol, &info) == 0 || !info.dli_fname) return ".";
  std::string path = info.dli_fname;
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

}  // namespace ray::runtime
