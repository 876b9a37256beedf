// `ray start`: launch a raynode in the background (or, with --block, become it).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <ctime>
#include <iostream>

#include "tools/ray/commands.h"
#include "tools/ray/process.h"
#include "tools/ray/registry.h"
#include "tools/ray/start_options.h"

namespace po = boost::program_options;

namespace ray::cli {
namespace {

constexpr int kReadyTimeoutMs = 30000;
constexpr int kLogLinesOnFailure = 20;

/// Outcome of waiting for a launched raynode to write its address file.
enum class Readiness { kReady, kExited, kTimedOut };

Readiness WaitForAddress(pid_t pid, const std::string& address_file, std::string* address) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kReadyTimeoutMs);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string text;
    // raynode renames the file into place, so a complete line means it is ready.
    if (ReadFile(address_file, &text) && !text.empty() && text.back() == '\n') {
      *address = text.substr(0, text.size() - 1);
      return Readiness::kReady;
    }
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return Readiness::kExited;
    SleepMs(20);
  }
  return Readiness::kTimedOut;
}

void PrintInstructions(const StartPlan& plan, pid_t pid, const std::string& address,
                       const std::string& log) {
  std::string cluster = plan.head ? address : plan.join_address;
  std::cout << "Started a Ray " << (plan.head ? "head node" : "node") << " (pid " << pid
            << ") listening on " << address;
  if (!log.empty()) std::cout << ", logs in " << log;
  std::cout << "\nTo connect a driver to this cluster:\n"
            << "    RayConfig config; config.address = \"" << cluster << "\"; ray::Init(config);\n"
            << "  or run it with RAY_ADDRESS=" << cluster << "\n"
            << "To add another node to this cluster:\n"
            << "    ray start --address=" << cluster
            << (plan.password.empty() ? "" : " --redis-password=" + plan.password) << "\n"
            << (plan.password.empty()
                    ? "  on another host, with this host's auth token there: copy ~/.ray/auth_token,\n"
                      "  or set RAY_AUTH_TOKEN=$(ray get-auth-token) (security: README, \"Security\")\n"
                    : "")
            << "To stop the nodes this host started:\n"
            << "    ray stop" << std::endl;
}

/// Forgets a node that never became ready.
void Unregister(const NodeFiles& files) {
  unlink(files.record.c_str());
  unlink(files.address.c_str());
}

/// The raynode command line for the node that will have `pid`.
Launch RaynodeLaunch(const StartPlan& plan, const std::string& state_dir, pid_t pid) {
  NodeFiles files(state_dir, pid);
  Launch launch;
  launch.argv = {ExecutableDirectory() + "/raynode"};
  launch.argv.insert(launch.argv.end(), plan.raynode_flags.begin(), plan.raynode_flags.end());
  launch.argv.insert(launch.argv.end(), {"--address-file", files.address});
  if (plan.include_webui) launch.argv.insert(launch.argv.end(), {"--webui-file", files.address + ".webui"});
  if (plan.redirect_output) launch.log_path = files.log;
  return launch;
}

/// --block: registers this process, then becomes the raynode (same pid).
int BecomeRaynode(const StartPlan& plan, const std::string& state_dir, NodeRecord record) {
  std::string error;
  record.pid = getpid();
  record.address_file = NodeFiles(state_dir, record.pid).address;
  if (!WriteRecord(state_dir, record, &error)) return Fail("start", error, kExitFailure);
  Launch launch = RaynodeLaunch(plan, state_dir, record.pid);
  Exec(launch.argv, &error);
  Unregister(NodeFiles(state_dir, record.pid));
  return Fail("start", error, kExitFailure);
}

/// Cleans up after a node that did not become ready and says why.
int ReportNotReady(Readiness readiness, const NodeRecord& record, const NodeFiles& files) {
  std::string node = "raynode (pid " + std::to_string(record.pid) + ")";
  std::string see = record.log_path.empty() ? "its output above" : record.log_path;
  if (readiness == Readiness::kTimedOut) {
    kill(record.pid, SIGKILL);
    waitpid(record.pid, nullptr, 0);
  } else if (!record.log_path.empty()) {
    std::cerr << "--- last lines of " << record.log_path << " ---\n"
              << TailFile(record.log_path, kLogLinesOnFailure) << std::flush;
  }
  Unregister(files);
  if (readiness == Readiness::kTimedOut) {
    return Fail("start",
                node + " was not ready within " + std::to_string(kReadyTimeoutMs / 1000) +
                    " s and was killed; see " + see,
                kExitFailure);
  }
  return Fail("start", node + " exited before it was ready; see " + see, kExitFailure);
}

int LaunchNode(const StartPlan& plan, const std::string& state_dir) {
  NodeRecord record;
  record.head = plan.head;
  record.cluster_address = plan.join_address;
  record.plasma_directory = plan.plasma_directory;
  record.temp_dir = plan.temp_dir;
  record.start_time = static_cast<long long>(time(nullptr));
  if (plan.block) return BecomeRaynode(plan, state_dir, record);
  std::string error;
  record.pid =
      SpawnDetached([&](pid_t pid) { return RaynodeLaunch(plan, state_dir, pid); }, &error);
  if (record.pid < 0) return Fail("start", error, kExitFailure);
  // Registered before it is ready, so that `ray stop` finds it even if this process dies now.
  NodeFiles files(state_dir, record.pid);
  record.address_file = files.address;
  if (plan.redirect_output) record.log_path = files.log;
  if (!WriteRecord(state_dir, record, &error)) {
    kill(record.pid, SIGKILL);
    return Fail("start", error, kExitFailure);
  }
  Readiness readiness = WaitForAddress(record.pid, files.address, &record.address);
  if (readiness != Readiness::kReady) return ReportNotReady(readiness, record, files);
  if (plan.head) record.cluster_address = record.address;
  if (!plan.autoscaling_config.empty()) {
    // The autoscaler beside the head, recorded with it so that `ray stop` stops it first.
    std::string monitor_log;
    // It connects like any client: with --redis-password's token, if given,
    // in its environment (never in its argv, which any user can read).
    if (!plan.password.empty()) setenv("RAY_AUTH_TOKEN", plan.password.c_str(), 1);
    record.monitor_pid = SpawnMonitor(state_dir, record, plan.autoscaling_config, &monitor_log, &error);
    if (record.monitor_pid < 0) {
      kill(record.pid, SIGTERM);
      Unregister(files);
      return Fail("start", "cannot start the autoscaler: " + error, kExitFailure);
    }
    std::cout << "Autoscaler (pid " << record.monitor_pid << ") running with "
              << plan.autoscaling_config << ", log in " << monitor_log << std::endl;
  }
  if (!WriteRecord(state_dir, record, &error)) return Fail("start", error, kExitFailure);
  PrintInstructions(plan, record.pid, record.address, record.log_path);
  std::string webui;
  if (plan.include_webui && ReadFile(files.address + ".webui", &webui) && !webui.empty()) {
    if (webui.back() == '\n') webui.pop_back();
    std::cout << "Dashboard: " << webui << "  (log in with `ray get-auth-token`; from another "
              << "machine: ssh -L 8265:localhost:8265 THIS_HOST, then http://localhost:8265)"
              << std::endl;
    unlink((files.address + ".webui").c_str());
  }
  return 0;
}

}  // namespace

int StartCommand(int argc, char** argv) {
  po::options_description desc(
      "Usage: ray start (--head | --address=HOST:PORT) [options]\n"
      "Starts a raynode on this host in the background and waits until it is ready.\n"
      "Options (those of Ray 0.7's `ray start`; 'refused' ones exit with an error)");
  AddStartOptions(&desc);
  po::variables_map vm;
  if (int code = ParseOptions("start", desc, argc, argv, &vm); code >= 0) return code;
  StartPlan plan;
  std::string error;
  if (!PlanStart(vm, &plan, &error)) return Fail("start", error, kExitUsage);
  std::string state_dir = StateDir();
  if (!EnsureStateDir(state_dir, &error)) return Fail("start", error, kExitFailure);
  return LaunchNode(plan, state_dir);
}

}  // namespace ray::cli
