// The cluster launcher's commands: `ray up`, `down`, `exec`, `attach`,
// `get_head_ip` and `get_worker_ips`, from Ray's cluster YAML
// (cluster_config.h), through a node provider (node_provider.h) and the node
// updater (node_updater.h); `up` and `down` themselves are launcher_up.cc.
//
// `ray up` sets the head up and starts it, then the min_workers workers in
// parallel, waits until the cluster shows them all, and last starts the
// autoscaler on the head (`ray monitor`), which from then on launches and
// terminates workers as the demand says. What each node was given is
// recorded (a digest of its commands and file mounts), so that a second
// `ray up` of an unchanged config changes nothing.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "tools/ray/cluster_config.h"
#include "tools/ray/commands.h"
#include "tools/ray/launcher_up.h"

namespace po = boost::program_options;

namespace ray::cli {
namespace {

/// Runs `argv` attached to this terminal; its exit status.
int RunAttached(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return kExitFailure;
  if (pid == 0) {
    execvp(args[0], args.data());
    perror(args[0]);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : kExitFailure;
}

/// The head of a cluster that must be up, or an error naming how to start it.
bool RequireHead(Cluster& cluster, const std::string& command, ProviderNode* head, int* code) {
  std::string error;
  if (cluster.Head(head, &error)) return true;
  if (!error.empty()) {
    *code = Fail(command, error, kExitFailure);
    return false;
  }
  *code = Fail(command, "cluster '" + cluster.config().cluster_name +
                            "' is not up (no head in " + cluster.dir() +
                            "/state.json): run `ray up CONFIG` first, or give --start",
               kExitFailure);
  return false;
}

/// The script prefix that gives a command on the head the cluster's address and token.
std::string ClientPrefix() {
  return "export RAY_ADDRESS=\"$RAY_HEAD_ADDRESS\"; "
         "if t=\"$(ray get-auth-token 2>/dev/null)\"; then export RAY_AUTH_TOKEN=\"$t\"; fi; unset t; ";
}

void AddUpOptions(po::options_description* desc, UpOptions* o) {
  desc->add_options()("yes,y", po::bool_switch(&o->yes), "do not ask for confirmation")(
      "min-workers", po::value(&o->min_workers), "override the config's min_workers")(
      "max-workers", po::value(&o->max_workers), "override the config's max_workers")(
      "no-restart", po::bool_switch(&o->no_restart),
      "run the setup commands but do not restart Ray on running nodes")(
      "restart-only", po::bool_switch(&o->restart_only),
      "skip the file mounts and setup commands, only restart Ray");
}

/// What every launcher command is given: [-n NAME] CONFIG, and for exec CMD.
struct ClusterArgs {
  std::string name, path, command;
  po::variables_map vm;
};

/// Adds --help, -n and the CONFIG positional (then CMD, with `with_command`)
/// to `desc` and parses `argv`: -1 to go on, or the exit code.
int ParseClusterArgs(const std::string& command, po::options_description& desc, int argc,
                     char** argv, bool with_command, ClusterArgs* args) {
  desc.add_options()("help,h", "show this help")(
      "cluster-name,n", po::value(&args->name), "override the config's cluster_name")(
      "config", po::value(&args->path), "the cluster config (YAML)");
  po::positional_options_description positional;
  positional.add("config", 1);
  if (with_command) {
    desc.add_options()("cmd", po::value(&args->command), "the command");
    positional.add("cmd", 1);
  }
  if (int code = ParseOptions(command, desc, argc, argv, &args->vm, &positional); code >= 0) {
    return code;
  }
  if (args->path.empty() || (with_command && args->command.empty())) {
    return Fail(command,
                with_command ? "give the cluster config file and the command"
                             : "give the cluster config file",
                kExitUsage);
  }
  return -1;
}

/// The head of a cluster that must be up, after `ray up -y` when `start`.
bool UpHeadFor(Cluster& cluster, const std::string& command, bool start, ProviderNode* head,
               int* code) {
  if (start) {
    UpOptions up;
    up.yes = true;
    if ((*code = Up(cluster, up)) != 0) return false;
  }
  return RequireHead(cluster, command, head, code);
}

}  // namespace

int UpCommand(int argc, char** argv) {
  po::options_description desc(
      "Usage: ray up [-y] [-n NAME] [--min-workers N] [--max-workers N] [--no-restart]\n"
      "              [--restart-only] CLUSTER_CONFIG_FILE\n"
      "Creates or updates the cluster the config describes: sets the head up and starts it,\n"
      "then its min_workers workers, then the autoscaler. A second run with an unchanged\n"
      "config changes nothing. Options");
  UpOptions options;
  AddUpOptions(&desc, &options);
  ClusterArgs args;
  if (int code = ParseClusterArgs("up", desc, argc, argv, false, &args); code >= 0) return code;
  if (options.no_restart && options.restart_only) {
    return Fail("up", "--no-restart and --restart-only contradict each other", kExitUsage);
  }
  for (const char* option : {"min-workers", "max-workers"}) {
    if (args.vm.count(option) && args.vm[option].as<int>() < 0) {
      return Fail("up", std::string("--") + option + " must be 0 or more", kExitUsage);
    }
  }
  Cluster cluster;
  int code = 0;
  if (!cluster.Load("up", args.path, args.name, &code)) return code;
  return Up(cluster, options);
}

int DownCommand(int argc, char** argv) {
  po::options_description desc(
      "Usage: ray down [-y] [--workers-only] [-n NAME] CLUSTER_CONFIG_FILE\n"
      "Stops Ray on every node of the cluster (the head and its autoscaler first) and gives\n"
      "the nodes back to the provider. Options");
  bool yes = false, workers_only = false;
  desc.add_options()("yes,y", po::bool_switch(&yes), "do not ask for confirmation")(
      "workers-only", po::bool_switch(&workers_only), "stop only the workers");
  ClusterArgs args;
  if (int code = ParseClusterArgs("down", desc, argc, argv, false, &args); code >= 0) return code;
  Cluster cluster;
  int code = 0;
  if (!cluster.Load("down", args.path, args.name, &code)) return code;
  return Down(cluster, yes, workers_only);
}

int ExecCommand(int argc, char** argv) {
  po::options_description desc(
      "Usage: ray exec [--start] [--stop] [--tmux | --screen] [--port-forward P]... [-n NAME]\n"
      "                CLUSTER_CONFIG_FILE CMD\n"
      "Runs CMD on the cluster's head with RAY_ADDRESS and RAY_AUTH_TOKEN set. Its exit\n"
      "status is ray exec's. Options");
  bool start = false, stop = false, tmux = false, screen = false;
  std::vector<int> ports;
  desc.add_options()("start", po::bool_switch(&start),
                     "start the cluster first if needed (ray up -y)")(
      "stop", po::bool_switch(&stop), "stop the cluster after the command (ray down -y)")(
      "tmux", po::bool_switch(&tmux), "run it in a new tmux session on the head, detached")(
      "screen", po::bool_switch(&screen), "run it in a new screen session on the head, detached")(
      "port-forward,p", po::value(&ports)->composing(),
      "forward this port of the head to localhost (repeatable)");
  ClusterArgs args;
  if (int code = ParseClusterArgs("exec", desc, argc, argv, true, &args); code >= 0) return code;
  if (tmux && screen) return Fail("exec", "give --tmux or --screen, not both", kExitUsage);
  for (int port : ports) {
    if (port < 1 || port > 65535) {
      return Fail("exec", "--port-forward " + std::to_string(port) + " is not a port", kExitUsage);
    }
  }
  Cluster cluster;
  int code = 0;
  ProviderNode head;
  if (!cluster.Load("exec", args.path, args.name, &code) ||
      !UpHeadFor(cluster, "exec", start, &head, &code)) {
    return code;
  }
  std::string script = ClientPrefix() + args.command;
  if (tmux || screen) {
    std::string inner = ShellQuote(script + "; exec bash");
    script = tmux ? "tmux new-session -d bash -c " + inner : "screen -dm bash -c " + inner;
  }
  auto runner = cluster.provider().Runner(head);
  bool tty = isatty(STDIN_FILENO) && !tmux && !screen;
  int status = RunAttached(
      runner->InteractiveArgv(script, NodeEnv(cluster.config(), head, cluster.context()), tty, ports));
  if ((tmux || screen) && status == 0) {
    std::cout << "Running in a " << (tmux ? "tmux" : "screen") << " session on the head; see it with "
              << "`ray attach " << (tmux ? "--tmux " : "--screen ") << args.path << "`" << std::endl;
  }
  if (stop) {
    int down = Down(cluster, true, false);
    if (status == 0) status = down;
  }
  return status;
}

int AttachCommand(int argc, char** argv) {
  po::options_description desc(
      "Usage: ray attach [--start] [--tmux | --screen] [-N] [-n NAME] CLUSTER_CONFIG_FILE\n"
      "Opens a shell on the cluster's head (with RAY_ADDRESS and RAY_AUTH_TOKEN set). Options");
  bool start = false, tmux = false, screen = false, fresh = false;
  desc.add_options()("start", po::bool_switch(&start),
                     "start the cluster first if needed (ray up -y)")(
      "tmux", po::bool_switch(&tmux), "attach to the head's tmux session (or make one)")(
      "screen", po::bool_switch(&screen), "attach to the head's screen session (or make one)")(
      "new,N", po::bool_switch(&fresh), "with --tmux or --screen: a new session");
  ClusterArgs args;
  if (int code = ParseClusterArgs("attach", desc, argc, argv, false, &args); code >= 0) return code;
  if (tmux && screen) return Fail("attach", "give --tmux or --screen, not both", kExitUsage);
  if (fresh && !tmux && !screen) return Fail("attach", "-N needs --tmux or --screen", kExitUsage);
  Cluster cluster;
  int code = 0;
  ProviderNode head;
  if (!cluster.Load("attach", args.path, args.name, &code) ||
      !UpHeadFor(cluster, "attach", start, &head, &code)) {
    return code;
  }
  std::string shell = "exec \"${SHELL:-bash}\" -l";
  if (tmux) shell = fresh ? "exec tmux new-session" : "tmux attach-session || exec tmux new-session";
  if (screen) shell = fresh ? "exec screen" : "exec screen -xRR";
  auto runner = cluster.provider().Runner(head);
  return RunAttached(runner->InteractiveArgv(
      ClientPrefix() + shell, NodeEnv(cluster.config(), head, cluster.context()), true, {}));
}

int GetHeadIpCommand(int argc, char** argv) {
  po::options_description desc(
      "Usage: ray get_head_ip [-n NAME] CLUSTER_CONFIG_FILE\n"
      "Prints the head node's IP of the cluster that the config describes. Options");
  ClusterArgs args;
  if (int code = ParseClusterArgs("get_head_ip", desc, argc, argv, false, &args); code >= 0) {
    return code;
  }
  ClusterConfig config;
  std::string error;
  if (!LoadClusterConfig(args.path, &config, &error)) return Fail("get_head_ip", error, kExitUsage);
  std::cout << config.HeadIp() << std::endl;
  return 0;
}

int GetWorkerIpsCommand(int argc, char** argv) {
  po::options_description desc(
      "Usage: ray get_worker_ips [-n NAME] CLUSTER_CONFIG_FILE\n"
      "Prints the IPs of the cluster's live worker nodes, one per line (asks the head). Options");
  ClusterArgs args;
  if (int code = ParseClusterArgs("get_worker_ips", desc, argc, argv, false, &args); code >= 0) {
    return code;
  }
  Cluster cluster;
  int code = 0;
  ProviderNode head;
  if (!cluster.Load("get_worker_ips", args.path, args.name, &code) ||
      !RequireHead(cluster, "get_worker_ips", &head, &code)) {
    return code;
  }
  ClusterView view;
  std::string error;
  if (!cluster.Status(head, &view, &error)) return Fail("get_worker_ips", error, kExitFailure);
  for (const auto& n : view.nodes) {
    if (!n.is_head) std::cout << n.address.substr(0, n.address.rfind(':')) << "\n";
  }
  std::cout << std::flush;
  return 0;
}

}  // namespace ray::cli
