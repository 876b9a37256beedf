// Remote functions in a shared library: workers load it from code_search_path.
#include <ray/api.h>
#include <unistd.h>

#include <string>

int LibraryTimesTwo(int x) { return 2 * x; }
std::string LibraryWorkerExe() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, n) : "";
}

RAY_REMOTE(LibraryTimesTwo, LibraryWorkerExe);
