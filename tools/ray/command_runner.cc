#include "tools/ray/command_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "tools/ray/process.h"

namespace ray::cli {
namespace {

void FlushLines(std::string* pending, std::ostream* live, const std::string& prefix, bool all) {
  if (live == nullptr) return;
  size_t start = 0;
  for (size_t nl; (nl = pending->find('\n', start)) != std::string::npos; start = nl + 1) {
    *live << prefix << pending->substr(start, nl - start + 1);
  }
  pending->erase(0, start);
  if (all && !pending->empty()) {
    *live << prefix << *pending << "\n";
    pending->clear();
  }
  live->flush();
}

}  // namespace

std::string ShellQuote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string LastLines(const std::string& text, int lines) {
  size_t end = text.find_last_not_of('\n');
  if (end == std::string::npos) return "";
  size_t start = end + 1;
  for (int n = 0; n < lines && start > 0; ++n) {
    size_t nl = text.rfind('\n', start - 1);
    start = nl == std::string::npos ? 0 : nl;
    if (nl == std::string::npos) break;
  }
  if (text[start] == '\n') ++start;
  return text.substr(start, end + 1 - start);
}

std::string ExportLines(const Env& env) {
  std::string out;
  for (const auto& [name, value] : env) {
    out += "export " + name + "=" + ShellQuote(value) + (name == "PATH" ? ":\"$PATH\"\n" : "\n");
  }
  return out;
}

namespace {

/// Forks `argv` in a process group of its own, its input and output on
/// pipes. The child's pid, or -1 with `*error`.
pid_t Spawn(const std::vector<std::string>& argv, int* to_child, int* from_child,
            std::string* error) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + strerror(errno);
    return -1;
  }
  if (pipe2(out, O_CLOEXEC) != 0) {
    close(in[0]);
    close(in[1]);
    *error = std::string("pipe: ") + strerror(errno);
    return -1;
  }
  // Built before fork: the launcher and the monitor have threads, so the
  // child may only call async-signal-safe functions until it execs.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    *error = std::string("fork: ") + strerror(errno);
    for (int fd : {in[0], in[1], out[0], out[1]}) close(fd);
    return -1;
  }
  if (pid == 0) {
    setpgid(0, 0);  // its own group, so that a timeout kills ssh's children too
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(out[1], 2);
    execvp(args[0], args.data());
    const char msg[] = "cannot run the command\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  *to_child = in[1];
  *from_child = out[0];
  return pid;
}

/// Feeds `input` and collects the output until EOF or the deadline; false on timeout.
bool Pump(int to_child, int from_child, const std::string& input, int timeout_s,
          std::ostream* live, const std::string& prefix, std::string* output) {
  size_t written = 0;
  if (input.empty()) {
    close(to_child);
    to_child = -1;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  std::string pending;
  bool done = false;
  char buf[8192];
  while (!done) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) break;
    pollfd fds[2] = {{from_child, POLLIN, 0}, {to_child, POLLOUT, 0}};
    int n = poll(fds, to_child >= 0 ? 2 : 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (n < 0 && errno == EINTR) continue;
    if (to_child >= 0 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t w = write(to_child, input.data() + written, input.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      if (w < 0 && errno != EAGAIN) written = input.size();  // the child closed its input
      if (written >= input.size()) {
        close(to_child);
        to_child = -1;
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = read(from_child, buf, sizeof buf);
      done = r <= 0;  // EOF: every holder of the pipe is gone
      if (r > 0) {
        output->append(buf, static_cast<size_t>(r));
        pending.append(buf, static_cast<size_t>(r));
        FlushLines(&pending, live, prefix, false);
      }
    }
  }
  FlushLines(&pending, live, prefix, true);
  if (to_child >= 0) close(to_child);
  close(from_child);
  return done;
}

}  // namespace

RunResult RunProcess(const std::vector<std::string>& argv, const std::string& input, int timeout_s,
                     std::ostream* live, const std::string& prefix) {
  RunResult result;
  int to_child = -1, from_child = -1;
  pid_t pid = Spawn(argv, &to_child, &from_child, &result.error);
  if (pid < 0) return result;
  bool finished = Pump(to_child, from_child, input, timeout_s, live, prefix, &result.output);
  int status = 0;
  if (!finished) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    result.error = "timed out after " + std::to_string(timeout_s) + " s";
    return result;
  }
  waitpid(pid, &status, 0);
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else {
    result.error = "killed by signal " + std::to_string(WTERMSIG(status));
  }
  return result;
}

namespace {

/// Where ssh's shared connections live: /tmp/ray-ssh-<uid>, made 0700 and
/// checked to be ours (a socket path must be short: 108 bytes with the
/// suffix ssh adds while it makes one). Empty when it is not safe to use.
std::string ControlDirectory() {
  std::string dir = "/tmp/ray-ssh-" + std::to_string(getuid());
  mkdir(dir.c_str(), 0700);
  struct stat st;
  if (lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
      (st.st_mode & 077) != 0) {
    return "";
  }
  return dir;
}

class SshRunner : public CommandRunner {
 public:
  SshRunner(std::string host, SshOptions options)
      : host_(std::move(host)), options_(std::move(options)) {}

  std::string Where() const override { return host_; }

  RunResult Run(const std::string& script, const Env& env, int timeout_s,
                std::ostream* live) override {
    std::vector<std::string> argv = Base(false);
    argv.push_back(Target());
    argv.push_back("bash -s");
    return RunProcess(argv, ExportLines(env) + script + "\n", timeout_s, live,
                      "  [" + host_ + "] ");
  }

  RunResult Copy(const std::string& given, const std::string& remote) override {
    const std::string local = ExpandHome(given);
    std::string dest = remote;
    if (dest == "~" || dest.rfind("~/", 0) == 0) {
      // The node's $HOME, as its shell sees it (rsync and scp take paths literally).
      if (home_.empty()) {
        RunResult home = Run("printf '%s' \"$HOME\"", {}, 60, nullptr);
        if (!home.ok()) return home;
        home_ = home.output;
      }
      dest = home_ + dest.substr(1);
    }
    std::string parent = std::filesystem::path(dest).parent_path().string();
    if (!parent.empty()) {
      RunResult made = Run("mkdir -p " + ShellQuote(parent), {}, 60, nullptr);
      if (!made.ok()) return made;
    }
    bool directory = std::filesystem::is_directory(local);
    std::string ssh;
    for (const auto& part : Base(false)) ssh += (ssh.empty() ? "" : " ") + ShellQuote(part);
    if (access("/usr/bin/rsync", X_OK) == 0) {
      // rsync copies only what changed: a second `ray up` sends nothing new.
      return RunProcess({"rsync", "-a", "--delete", "-e", ssh,
                         directory ? local + "/" : local, Target() + ":" + dest + (directory ? "/" : "")},
                        "", 600);
    }
    std::vector<std::string> argv = Base(true);
    if (directory) argv.push_back("-r");
    argv.push_back(local);
    argv.push_back(Target() + ":" + dest);
    return RunProcess(argv, "", 600);
  }

  std::vector<std::string> InteractiveArgv(const std::string& command, const Env& env, bool tty,
                                           const std::vector<int>& ports) override {
    std::vector<std::string> argv = Base(false);
    if (tty) argv.push_back("-tt");
    for (int port : ports) {
      argv.push_back("-L");
      argv.push_back(std::to_string(port) + ":localhost:" + std::to_string(port));
    }
    argv.push_back(Target());
    std::string script = ExportLines(env);
    for (char& c : script) {
      if (c == '\n') c = ';';
    }
    argv.push_back(script + " " + command);
    return argv;
  }

 private:
  std::string Target() const {
    return options_.user.empty() ? host_ : options_.user + "@" + host_;
  }
  std::vector<std::string> Base(bool scp) const {
    std::vector<std::string> argv = {scp ? "scp" : "ssh"};
    if (options_.port != 0) {
      // Only a port the config gives: otherwise the user's ~/.ssh/config (or 22) decides.
      argv.insert(argv.end(), {scp ? "-P" : "-p", std::to_string(options_.port)});
    }
    if (!options_.private_key.empty()) {
      argv.insert(argv.end(), {"-i", options_.private_key, "-o", "IdentitiesOnly=yes"});
    }
    static const std::string control = ControlDirectory();
    std::string dir = options_.control_dir;
    argv.insert(argv.end(),
                {"-o", "BatchMode=yes", "-o",
                 "ConnectTimeout=" + std::to_string(options_.connect_timeout_s), "-o",
                 "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3",
                 // A host seen for the first time is remembered; one whose key
                 // changed afterwards is refused.
                 "-o", "StrictHostKeyChecking=accept-new", "-o",
                 "UserKnownHostsFile=" + dir + "/known_hosts", "-o", "LogLevel=ERROR",
                 // One connection per host, shared by every command of a run.
                 "-o", control.empty() ? "ControlMaster=no" : "ControlMaster=auto", "-o",
                 "ControlPath=" + (control.empty() ? std::string("none") : control + "/cm-%C"),
                 "-o", "ControlPersist=60s"});
    return argv;
  }

  std::string host_;
  SshOptions options_;
  std::string home_;  // the node's $HOME, once asked
};

class LocalRunner : public CommandRunner {
 public:
  explicit LocalRunner(std::string name) : name_(std::move(name)) {}

  std::string Where() const override { return name_; }

  RunResult Run(const std::string& script, const Env& env, int timeout_s,
                std::ostream* live) override {
    return RunProcess({"bash", "-s"}, ExportLines(env) + script + "\n", timeout_s, live,
                      "  [" + name_ + "] ");
  }

  RunResult Copy(const std::string& given, const std::string& remote) override {
    const std::string local = ExpandHome(given);
    std::string dest = ExpandHome(remote);
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(dest).parent_path(), ec);
    RunResult result;
    std::filesystem::copy(local, dest,
                          std::filesystem::copy_options::recursive |
                              std::filesystem::copy_options::overwrite_existing,
                          ec);
    result.exit_code = ec ? 1 : 0;
    if (ec) result.output = "cannot copy " + local + " to " + dest + ": " + ec.message();
    return result;
  }

  std::vector<std::string> InteractiveArgv(const std::string& command, const Env& env, bool,
                                           const std::vector<int>&) override {
    std::string script = ExportLines(env);
    for (char& c : script) {
      if (c == '\n') c = ';';
    }
    return {"bash", "-c", script + " " + command};
  }

 private:
  std::string name_;
};

}  // namespace

std::unique_ptr<CommandRunner> MakeSshRunner(const std::string& host, const SshOptions& options) {
  return std::make_unique<SshRunner>(host, options);
}

std::unique_ptr<CommandRunner> MakeLocalRunner(const std::string& name) {
  return std::make_unique<LocalRunner>(name);
}

}  // namespace ray::cli
