// ray: the command-line tool of Ray 0.7 for this runtime (start and stop nodes).
#include <cstring>
#include <iostream>
#include <string>

#include "tools/ray/commands.h"

namespace ray::cli {
namespace {

struct Command {
  const char* name;
  const char* summary;
};

const Command kCommands[] = {
    {"start", "start a raynode on this host (a new cluster's head, or joining one)"},
    {"stop", "stop every raynode that `ray start` launched on this host"},
    {"lineage", "print how an object was made, from the cluster's lineage log"},
    {"get-auth-token", "print (or --generate) the token nodes and drivers must hold"},
    {"create-tls-certs", "write a cluster CA and a node certificate for mutual TLS"},
    {"up", "create or update a cluster from a config file (Ray's cluster YAML)"},
    {"down", "stop every node of a cluster that `ray up` started"},
    {"exec", "run a command on a cluster's head"},
    {"attach", "open a shell on a cluster's head"},
    {"get_head_ip", "print the head IP of a cluster config (Ray's cluster YAML)"},
    {"get_worker_ips", "print the IPs of a cluster's live worker nodes"},
    {"monitor", "the autoscaler beside a head (ray start --autoscaling-config starts it)"},
    {"status", "show the cluster's nodes, resources, demand, actors and object stores"},
    {"memory", "list the objects in the cluster's object stores"},
    {"stack", "print every worker's thread stacks, on every node"},
    {"logs", "print (or --follow) a worker's log, from any host"},
    {"timeline", "write the cluster's timeline as a Chrome trace (Perfetto)"},
};

void PrintUsage(std::ostream& out) {
  out << "Usage: ray <command> [options]   (ray <command> --help for its options)\n\nCommands:\n";
  for (const Command& command : kCommands) {
    out << "  " << command.name << std::string(18 - strlen(command.name), ' ') << command.summary
        << "\n";
  }
  out << "\nThe registry of started nodes is $RAY_STATE_DIR (default /tmp/ray/nodes)." << std::endl;
}

}  // namespace
}  // namespace ray::cli

int main(int argc, char** argv) {
  using namespace ray::cli;
  if (argc < 2) {
    PrintUsage(std::cerr);
    return kExitUsage;
  }
  std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    PrintUsage(std::cout);
    return 0;
  }
  // The command sees "ray <cmd>" as its argv[0].
  std::string program = "ray " + name;
  argv[1] = program.data();
  if (name == "start") return StartCommand(argc - 1, argv + 1);
  if (name == "stop") return StopCommand(argc - 1, argv + 1);
  if (name == "lineage") return LineageCommand(argc - 1, argv + 1);
  if (name == "get-auth-token") return GetAuthTokenCommand(argc - 1, argv + 1);
  if (name == "create-tls-certs") return CreateTlsCertsCommand(argc - 1, argv + 1);
  if (name == "timeline") return TimelineCommand(argc - 1, argv + 1);
  if (name == "get_head_ip") return GetHeadIpCommand(argc - 1, argv + 1);
  if (name == "get_worker_ips") return GetWorkerIpsCommand(argc - 1, argv + 1);
  if (name == "up") return UpCommand(argc - 1, argv + 1);
  if (name == "down") return DownCommand(argc - 1, argv + 1);
  if (name == "exec") return ExecCommand(argc - 1, argv + 1);
  if (name == "attach") return AttachCommand(argc - 1, argv + 1);
  if (name == "monitor") return MonitorCommand(argc - 1, argv + 1);
  if (name == "status") return StatusCommand(argc - 1, argv + 1);
  if (name == "memory") return MemoryCommand(argc - 1, argv + 1);
  if (name == "stack") return StackCommand(argc - 1, argv + 1);
  if (name == "logs") return LogsCommand(argc - 1, argv + 1);
  for (const Command& command : kCommands) {
    if (name == command.name) return UnsupportedCommand(name, argc - 1, argv + 1);
  }
  std::cerr << "ray: unknown command '" << name << "'\n";
  PrintUsage(std::cerr);
  return kExitUsage;
}
