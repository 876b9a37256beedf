// The `ray` subcommands. Each takes the arguments after its name (argv[0] is
// "ray <cmd>") and returns the process exit code: 0 success, 1 runtime
// failure, 2 usage error.
#ifndef RAY_TOOLS_RAY_COMMANDS_H_
#define RAY_TOOLS_RAY_COMMANDS_H_

#include <boost/program_options.hpp>
#include <string>

namespace ray::cli {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

/// `ray start`: launches a raynode and waits until it listens.
int StartCommand(int argc, char** argv);

/// `ray stop`: stops every raynode that `ray start` launched on this host.
int StopCommand(int argc, char** argv);

/// `ray get-auth-token`: prints (or with --generate makes) the cluster's auth token.
int GetAuthTokenCommand(int argc, char** argv);

/// `ray create-tls-certs DIR`: writes a cluster CA and a node certificate for mutual TLS.
int CreateTlsCertsCommand(int argc, char** argv);

/// `ray lineage`: prints an object's lineage from the cluster's GCS.
int LineageCommand(int argc, char** argv);

/// `ray timeline`: writes the cluster's events as a Chrome trace.
int TimelineCommand(int argc, char** argv);
/// `ray status`: nodes, resources, demand, actors, object stores.
int StatusCommand(int argc, char** argv);
/// `ray memory`: the objects in the cluster's stores.
int MemoryCommand(int argc, char** argv);
/// `ray stack`: every worker's stacks.
int StackCommand(int argc, char** argv);
/// `ray logs`: workers' log files.
int LogsCommand(int argc, char** argv);

/// `ray get_head_ip CONFIG`: the head's IP from a cluster config.
int GetHeadIpCommand(int argc, char** argv);

/// `ray up`, `ray down`, `ray exec`, `ray attach`, `ray get_worker_ips`:
/// the cluster launcher (launcher.cc).
int UpCommand(int argc, char** argv);
int DownCommand(int argc, char** argv);
int ExecCommand(int argc, char** argv);
int AttachCommand(int argc, char** argv);
int GetWorkerIpsCommand(int argc, char** argv);

/// `ray monitor`: the autoscaler beside a head (monitor.cc).
int MonitorCommand(int argc, char** argv);

struct NodeRecord;
/// Starts `ray monitor` for the head of `record` with `config_path`, its
/// output in `*log` (under `state_dir`). Its pid, or -1 with `*error`.
int SpawnMonitor(const std::string& state_dir, const NodeRecord& record,
                 const std::string& config_path, std::string* log, std::string* error);

/// A command of Ray's CLI that this runtime does not have yet.
int UnsupportedCommand(const std::string& name, int argc, char** argv);

/// Prints "ray <cmd>: <message>" to stderr and returns `code`.
int Fail(const std::string& command, const std::string& message, int code);

/// Parses a command's options into `*vm` (long options must be spelled out),
/// with `positional` naming the options its bare arguments fill.
/// Returns -1 to go on, or the exit code: 0 after printing --help, 2 on a usage error.
int ParseOptions(const std::string& command,
                 const boost::program_options::options_description& desc, int argc, char** argv,
                 boost::program_options::variables_map* vm,
                 const boost::program_options::positional_options_description* positional = nullptr);

}  // namespace ray::cli

#endif  // RAY_TOOLS_RAY_COMMANDS_H_
