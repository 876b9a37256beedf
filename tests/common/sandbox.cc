#include "tests/common/sandbox.h"
#include "tests/common/read_file.h"

#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <system_error>

extern char** environ;

namespace ray::test {
namespace {

constexpr char kMarkerName[] = "RAY_TEST_OWNER";

std::string ReadFile(const std::string& path) { return ReadWholeFile(path); }

/// pid -> parent pid of every process in /proc.
std::map<pid_t, pid_t> Parents() {
  std::map<pid_t, pid_t> parents;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return parents;
  while (dirent* entry = readdir(proc)) {
    pid_t pid = static_cast<pid_t>(std::atoi(entry->d_name));
    if (pid <= 0) continue;
    std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
    size_t close = stat.rfind(')');  // the command name may hold spaces and ')'
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    long ppid = 0;
    if (rest >> state >> ppid) parents[pid] = static_cast<pid_t>(ppid);
  }
  closedir(proc);
  return parents;
}

bool EnvironHolds(pid_t pid, const std::string& marker) {
  std::string env = ReadFile("/proc/" + std::to_string(pid) + "/environ");
  size_t at = 0;
  while (at < env.size()) {
    size_t end = env.find('\0', at);
    if (end == std::string::npos) end = env.size();
    if (env.compare(at, end - at, marker) == 0) return true;
    at = end + 1;
  }
  return false;
}

std::atomic<int> g_sandboxes{0};

}  // namespace

std::vector<pid_t> ProcessesMarked(const std::string& marker) {
  std::map<pid_t, pid_t> parents = Parents();
  std::set<pid_t> found;
  for (const auto& [pid, ppid] : parents) {
    if (pid != getpid() && EnvironHolds(pid, marker)) found.insert(pid);
  }
  // Descendants: a worker spawned with an environment of its own still goes.
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& [pid, ppid] : parents) {
      if (found.count(ppid) && pid != getpid() && found.insert(pid).second) grew = true;
    }
  }
  return std::vector<pid_t>(found.begin(), found.end());
}

void ScrubRunnerEnvironment() {
  std::vector<std::string> names;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    std::string name = entry.substr(0, entry.find('='));
    if (name.rfind("RAY_", 0) != 0) continue;
    bool own = name.rfind("RAY_TEST_", 0) == 0 || name.rfind("RAY_FUZZ_", 0) == 0 ||
               name.rfind("RAY_CHAOS_", 0) == 0;
    if (!own) names.push_back(name);
  }
  for (const auto& name : names) unsetenv(name.c_str());
}

Sandbox::Sandbox() {
  char pattern[] = "/tmp/ray-test-XXXXXX";
  if (mkdtemp(pattern) == nullptr) {
    perror("ray test sandbox: mkdtemp /tmp/ray-test-XXXXXX");
    abort();
  }
  root_ = pattern;
  mkdir((root_ + "/home").c_str(), 0700);
  mkdir((root_ + "/state").c_str(), 0700);
  id_ = std::to_string(getpid()) + "." + std::to_string(++g_sandboxes);
  setenv("HOME", (root_ + "/home").c_str(), 1);
  setenv("RAY_STATE_DIR", (root_ + "/state").c_str(), 1);
  setenv(kMarkerName, id_.c_str(), 1);
}

Sandbox::~Sandbox() {
  KillOwned();
  if (getenv("RAY_TEST_KEEP") == nullptr) {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  } else {
    fprintf(stderr, "[sandbox] kept %s\n", root_.c_str());
  }
}

std::string Sandbox::MarkerEnv() const { return std::string(kMarkerName) + "=" + id_; }

std::vector<pid_t> Sandbox::KillOwned() const {
  std::set<pid_t> killed;
  // A process may fork while we look: look again until a pass finds nobody.
  for (int pass = 0; pass < 50; ++pass) {
    std::vector<pid_t> marked = ProcessesMarked(MarkerEnv());
    std::vector<pid_t> live;
    for (pid_t pid : marked) {
      std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
      size_t close = stat.rfind(')');
      bool zombie = close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
      if (!zombie) live.push_back(pid);
    }
    if (live.empty()) break;
    for (pid_t pid : live) {
      kill(pid, SIGKILL);
      killed.insert(pid);
    }
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    usleep(20000);
  }
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  return std::vector<pid_t>(killed.begin(), killed.end());
}

}  // namespace ray::test
