#include "tests/cli/cli_runner.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/common/read_file.h"

namespace ray::cli::testing {
namespace {

std::string Slurp(FILE* file) {
  std::string text;
  rewind(file);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), file)) > 0) text.append(buf, n);
  fclose(file);
  return text;
}

[[noreturn]] void ExecChild(const std::vector<std::string>& argv,
                            const std::map<std::string, std::string>& env) {
  for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
  std::vector<char*> c_argv;
  for (const auto& arg : argv) c_argv.push_back(const_cast<char*>(arg.c_str()));
  c_argv.push_back(nullptr);
  execv(c_argv[0], c_argv.data());
  perror(c_argv[0]);
  _exit(127);
}

int ExitCode(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

RunResult RunProgram(const std::vector<std::string>& argv,
                     const std::map<std::string, std::string>& env) {
  FILE* out = tmpfile();
  FILE* err = tmpfile();
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fileno(out), STDOUT_FILENO);
    dup2(fileno(err), STDERR_FILENO);
    ExecChild(argv, env);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  RunResult result;
  result.code = ExitCode(status);
  result.out = Slurp(out);
  result.err = Slurp(err);
  return result;
}

pid_t StartBackground(const std::vector<std::string>& argv,
                      const std::map<std::string, std::string>& env) {
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int null_fd = open("/dev/null", O_RDWR);
    dup2(null_fd, STDOUT_FILENO);
    dup2(null_fd, STDERR_FILENO);
    ExecChild(argv, env);
  }
  return pid;
}

bool IsAlive(pid_t pid) {
  std::string text = ray::test::ReadWholeFile("/proc/" + std::to_string(pid) + "/stat");
  size_t close = text.rfind(") ");
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] != 'Z';
}

std::vector<std::string> FilesWithPrefix(const std::string& dir, const std::string& prefix) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* entry = readdir(d)) {
      std::string name = entry->d_name;
      if (name.compare(0, prefix.size(), prefix) == 0) names.push_back(name);
    }
    closedir(d);
  }
  return names;
}

bool WaitForLine(const std::string& path, int timeout_ms, std::string* line) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    std::string s = text.str();
    if (!s.empty() && s.back() == '\n') {
      *line = s.substr(0, s.size() - 1);
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

bool WaitForMatch(const std::string& path, const std::string& pattern, int timeout_ms,
                  std::string* text) {
  const std::regex re(pattern);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    std::ifstream in(path);
    std::stringstream content;
    content << in.rdbuf();
    *text = content.str();
    if (std::regex_search(*text, re)) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace ray::cli::testing
