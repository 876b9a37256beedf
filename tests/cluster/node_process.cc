#include "tests/cluster/node_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace ray::test {

bool NodeProcess::Start(const std::vector<std::string>& args, int timeout_ms,
                        const std::map<std::string, std::string>& env) {
  char tmpl[] = "/tmp/ray-cluster-test-XXXXXX";
  if (!mkdtemp(tmpl)) return false;
  temp_dir_ = tmpl;
  log_path_ = temp_dir_ + "/raynode.log";
  std::string address_file = temp_dir_ + "/address";
  std::vector<std::string> argv = {binary_, "--address-file", address_file};
  // Its own temp dir, unless the test gives one.
  if (std::find(args.begin(), args.end(), "--temp-dir") == args.end()) {
    argv.insert(argv.end(), {"--temp-dir", temp_dir_});
  }
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  // Its own session: no job-control signal meant for the test's process group
  // (SIGCONT, SIGHUP of an orphaned group) reaches it.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) merged[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : env) {
    if (v.empty()) {
      merged.erase(k);
    } else {
      merged[k] = v;
    }
  }
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : merged) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  int rc = posix_spawn(&pid_, cargv[0], &actions, &attr, cargv.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    return false;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(address_file);
    if (in && std::getline(in, address_) && !address_.empty()) return true;
    if (!Running()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

bool NodeProcess::Running() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    pid_ = -1;
    return false;
  }
  return true;
}

bool NodeProcess::WaitExit(int timeout_ms, int* status) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (pid_ > 0 && std::chrono::steady_clock::now() < deadline) {
    int s = 0;
    if (waitpid(pid_, &s, WNOHANG) == pid_) {
      pid_ = -1;
      if (status) *status = s;
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pid_ <= 0;
}

int NodeProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGCONT);
  kill(pid_, SIGTERM);
  int status = 0;
  if (!WaitExit(10000, &status)) {
    Kill();
    return -1;
  }
  return status;
}

void NodeProcess::Signal(int signal) {
  if (pid_ <= 0) return;
  kill(pid_, signal);
  if (signal == SIGKILL) {
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
}

void NodeProcess::Kill() { Signal(SIGKILL); }

bool NodeProcess::IsStopped() const {
  if (pid_ <= 0) return false;
  std::ifstream stat("/proc/" + std::to_string(pid_) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'T';
}

std::string NodeProcess::log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace ray::test
