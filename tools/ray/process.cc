#include "tools/ray/process.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <filesystem>

#include "actors/common/private_dir.h"
#include "actors/common/self_exe.h"
#include "tools/ray/registry.h"

namespace ray::cli {
namespace {

std::vector<char*> CArgv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const auto& arg : argv) out.push_back(const_cast<char*>(arg.c_str()));
  out.push_back(nullptr);
  return out;
}

/// Runs in the forked child: never returns.
[[noreturn]] void RunChild(const Launch& launch) {
  setsid();
  int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
  if (!launch.log_path.empty()) {
    int log_fd = OpenPrivateAppend(launch.log_path);  // 0600, never through a symlink
    if (log_fd < 0) _exit(126);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
  }
  std::vector<char*> argv = CArgv(launch.argv);
  execv(argv[0], argv.data());
  fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
  _exit(127);
}

}  // namespace

std::string ExecutableDirectory() { return SelfExecutableDirectory(); }

pid_t SpawnDetached(const std::function<Launch(pid_t)>& make, std::string* error) {
  fflush(nullptr);  // the child must not write out this process's buffered output again
  pid_t pid = fork();
  if (pid < 0) {
    *error = std::string("fork failed: ") + strerror(errno);
    return -1;
  }
  if (pid == 0) RunChild(make(getpid()));  // this tool is single-threaded: allocating is safe
  return pid;
}

void Exec(const std::vector<std::string>& argv, std::string* error) {
  std::vector<char*> c_argv = CArgv(argv);
  execv(c_argv[0], c_argv.data());
  *error = "cannot run " + argv[0] + ": " + strerror(errno);
}

namespace {

/// The argv of `pid` while it is a live (not zombie) process; empty otherwise.
std::vector<std::string> LiveArgv(pid_t pid) {
  if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH)) return {};
  std::string proc = "/proc/" + std::to_string(pid), stat, cmdline;
  if (!ReadFile(proc + "/stat", &stat) || !ReadFile(proc + "/cmdline", &cmdline)) return {};
  // stat is "pid (comm) STATE ..."; comm may itself hold ") ".
  size_t close = stat.rfind(") ");
  if (close == std::string::npos || close + 2 >= stat.size() || stat[close + 2] == 'Z') return {};
  std::vector<std::string> argv;
  for (size_t start = 0; start < cmdline.size();) {
    size_t end = cmdline.find('\0', start);
    if (end == std::string::npos) end = cmdline.size();
    argv.push_back(cmdline.substr(start, end - start));
    start = end + 1;
  }
  return argv;
}

std::string BaseName(const std::string& path) { return path.substr(path.rfind('/') + 1); }

}  // namespace

bool IsRaynode(pid_t pid) {
  std::vector<std::string> argv = LiveArgv(pid);
  return !argv.empty() && BaseName(argv[0]) == "raynode";
}

bool IsMonitor(pid_t pid) {
  std::vector<std::string> argv = LiveArgv(pid);  // ".../ray" "monitor" ...
  return argv.size() >= 2 && BaseName(argv[0]) == "ray" && argv[1] == "monitor";
}

void StopMonitor(pid_t pid, bool force) {
  if (!IsMonitor(pid)) return;
  kill(pid, force ? SIGKILL : SIGTERM);
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(force ? 5 : 120);
  while (IsMonitor(pid) && std::chrono::steady_clock::now() < until) SleepMs(50);
  if (IsMonitor(pid)) kill(pid, SIGKILL);
}

std::string ExpandHome(const std::string& path) {
  const char* home = getenv("HOME");
  if (path.rfind("~/", 0) == 0 && home != nullptr) return home + path.substr(1);
  return path;
}

bool WaitUntilGone(pid_t pid, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (IsRaynode(pid)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    SleepMs(20);
  }
  return true;
}

int RemoveSegments(pid_t pid, const std::string& directory) {
  std::string prefix = "ray_" + std::to_string(pid) + "_";
  std::error_code ec;
  std::vector<std::filesystem::path> segments;
  for (const auto& entry :
       std::filesystem::directory_iterator(directory.empty() ? "/dev/shm" : directory, ec)) {
    if (entry.path().filename().string().rfind(prefix, 0) == 0) segments.push_back(entry.path());
  }
  int removed = 0;
  for (const auto& path : segments) removed += std::filesystem::remove(path, ec) ? 1 : 0;
  return removed;
}

std::string TailFile(const std::string& path, int lines) {
  std::string text;
  if (!ReadFile(path, &text)) return "";
  size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  for (int seen = 0; pos > 0; --pos) {
    if (text[pos - 1] == '\n' && ++seen == lines) break;
  }
  std::string tail = text.substr(pos);
  if (!tail.empty() && tail.back() != '\n') tail += '\n';
  return tail;
}

void SleepMs(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

}  // namespace ray::cli
