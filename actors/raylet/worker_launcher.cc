#include "actors/raylet/worker_launcher.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "actors/common/private_dir.h"

extern char** environ;

namespace ray::raylet {

WorkerLauncher::WorkerLauncher(std::string log_dir, bool log_to_driver, ExitCallback on_exit)
    : log_dir_(std::move(log_dir)), log_to_driver_(log_to_driver), on_exit_(std::move(on_exit)) {
  if (pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) wake_[0] = wake_[1] = -1;
  thread_ = std::thread([this] { Loop(); });
}

WorkerLauncher::~WorkerLauncher() {
  KillAll();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  if (wake_[1] >= 0) (void)!write(wake_[1], "x", 1);
  thread_.join();
  if (wake_[0] >= 0) close(wake_[0]);
  if (wake_[1] >= 0) close(wake_[1]);
}

pid_t WorkerLauncher::Launch(const std::vector<std::string>& argv,
                             const std::map<std::string, std::string>& env, std::string* error) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return -1;
  }
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) merged[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : env) merged[k] = v;
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : merged) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, args;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  // No inherited sockets or store fds: a worker holds only what it opens itself.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  // Workers start with no blocked signals and default handlers, whatever this process uses.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &actions, &attr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    close(out[0]);
    close(err[0]);
    *error = "cannot start worker " + argv[0] + ": " + std::strerror(rc);
    return -1;
  }
  std::string base = log_dir_ + "/worker-" + std::to_string(pid);
  // 0600, and never through a symlink someone planted (the logs dir is 0700 too).
  int out_log = OpenPrivateAppend(base + ".out");
  int err_log = OpenPrivateAppend(base + ".err");
  {
    std::lock_guard<std::mutex> lock(mu_);
    children_[pid] = Child{pid, out[0], err[0], out_log, err_log, {}, {}};
  }
  if (wake_[1] >= 0) (void)!write(wake_[1], "x", 1);
  return pid;
}

void WorkerLauncher::Signal(pid_t pid, int sig) {
  std::lock_guard<std::mutex> lock(mu_);
  if (children_.count(pid)) ::kill(pid, sig);
}

void WorkerLauncher::KillAll() {
  std::vector<pid_t> pids;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [pid, c] : children_) {
      ::kill(pid, SIGKILL);
      pids.push_back(pid);
    }
  }
  // The log thread reaps them once their pipes close; wait for that.
  for (int i = 0; i < 2000 && live() > 0; ++i) usleep(1000);
}

bool WorkerLauncher::Usable(const std::string& path, bool executable) {
  return access(path.c_str(), executable ? X_OK : R_OK) == 0;
}

namespace {

/// Writes `bytes` to `path`, this user's only (0700), never through a symlink.
bool WritePrivateFile(const std::string& path, const std::string& bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0700);
  size_t done = 0;
  while (fd >= 0 && done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  bool ok = fd >= 0 && done == bytes.size() && ::fchmod(fd, 0700) == 0;
  if (fd >= 0) ::close(fd);
  return ok;
}

}  // namespace

Status WorkerLauncher::InstallCode(const std::string& dir, const proto::CodePackage& code) {
  namespace fs = std::filesystem;
  if (std::string why = EnsurePrivateDir(dir); !why.empty()) {
    return Status(Errc::kIoError, "cannot keep shipped code: " + why);
  }
  for (const auto& [name, bytes] : code) {
    // A name with a directory part would write outside `dir`.
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
      return Status(Errc::kInvalidArgument, "shipped code has a bad file name: " + name);
    }
    fs::path path = fs::path(dir) / name;
    if (!WritePrivateFile(path.string(), bytes)) {
      return Status(Errc::kIoError, "cannot write shipped code to " + path.string());
    }
  }
  return Status::Ok();
}

Status WorkerLauncher::InstallWorkingDir(const std::string& dir,
                                         const proto::CodePackage& files) {
  namespace fs = std::filesystem;
  if (std::string why = EnsurePrivateDir(dir); !why.empty()) {
    return Status(Errc::kIoError, "cannot keep the working_dir: " + why);
  }
  for (const auto& [name, bytes] : files) {
    // Relative, and never through "..": nothing is written outside `dir`.
    fs::path relative(name);
    bool bad = name.empty() || relative.is_absolute();
    for (const auto& part : relative) bad = bad || part == ".." || part == ".";
    if (bad) return Status(Errc::kInvalidArgument, "the working_dir has a bad file name: " + name);
    fs::path path = fs::path(dir) / relative;
    if (std::string why = EnsurePrivateDir(path.parent_path().string()); !why.empty()) {
      return Status(Errc::kIoError, "cannot write the working_dir: " + why);
    }
    if (!WritePrivateFile(path.string(), bytes)) {
      return Status(Errc::kIoError, "cannot write the working_dir file " + path.string());
    }
  }
  return Status::Ok();
}

size_t WorkerLauncher::live() const {
  std::lock_guard<std::mutex> lock(mu_);
  return children_.size();
}

void WorkerLauncher::Drain(Child& child, bool is_err, int fd) {
  char buf[65536];
  ssize_t n = read(fd, buf, sizeof(buf));
  if (n <= 0) {
    close(fd);
    (is_err ? child.err_fd : child.out_fd) = -1;
    return;
  }
  int log_fd = is_err ? child.err_log : child.out_log;
  if (log_fd >= 0) (void)!write(log_fd, buf, n);
  if (!log_to_driver_) return;
  std::string& partial = is_err ? child.err_partial : child.out_partial;
  partial.append(buf, n);
  size_t start = 0, nl;
  std::string lines;
  while ((nl = partial.find('\n', start)) != std::string::npos) {
    lines += "(pid=" + std::to_string(child.pid) + ") " + partial.substr(start, nl - start + 1);
    start = nl + 1;
  }
  partial.erase(0, start);
  if (!lines.empty()) (void)!write(is_err ? 2 : 1, lines.data(), lines.size());
}

void WorkerLauncher::Reap(Child& child) {
  if (!child.out_partial.empty() && log_to_driver_) {
    std::string line = "(pid=" + std::to_string(child.pid) + ") " + child.out_partial + "\n";
    (void)!write(1, line.data(), line.size());
  }
  if (child.out_log >= 0) close(child.out_log);
  if (child.err_log >= 0) close(child.err_log);
  int status = 0;
  waitpid(child.pid, &status, 0);
  if (on_exit_) on_exit_(child.pid, status);
}

void WorkerLauncher::Loop() {
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<std::pair<pid_t, bool>> owners;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_ && children_.empty()) return;
      for (auto& [pid, c] : children_) {
        if (c.out_fd >= 0) {
          fds.push_back({c.out_fd, POLLIN, 0});
          owners.emplace_back(pid, false);
        }
        if (c.err_fd >= 0) {
          fds.push_back({c.err_fd, POLLIN, 0});
          owners.emplace_back(pid, true);
        }
      }
    }
    fds.push_back({wake_[0], POLLIN, 0});
    if (poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) return;
    if (fds.back().revents) {
      char drain[64];
      while (read(wake_[0], drain, sizeof(drain)) > 0) {
      }
    }
    std::vector<Child> finished;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t i = 0; i + 1 < fds.size(); ++i) {
        if (!fds[i].revents) continue;
        auto it = children_.find(owners[i].first);
        if (it == children_.end()) continue;
        Drain(it->second, owners[i].second, fds[i].fd);
      }
      for (auto it = children_.begin(); it != children_.end();) {
        if (it->second.out_fd < 0 && it->second.err_fd < 0) {
          finished.push_back(std::move(it->second));
          it = children_.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (Child& c : finished) Reap(c);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_ && children_.empty()) return;
    }
  }
}

}  // namespace ray::raylet
