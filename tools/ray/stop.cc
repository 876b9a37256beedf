// `ray stop`: stop every raynode in the registry, then clean up after each.
#include <signal.h>
#include <unistd.h>

#include <boost/program_options.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <vector>

#include "tools/ray/commands.h"
#include "tools/ray/process.h"
#include "tools/ray/registry.h"

namespace po = boost::program_options;

namespace ray::cli {
namespace {

constexpr int kKillWaitMs = 5000;  // after SIGKILL

/// A registry entry and whether its raynode was running when `ray stop` began.
struct Entry {
  std::string path;
  NodeRecord record;
  bool running = false;
};

/// Removes what the node leaves behind; its log stays for post-mortems.
void CleanUp(const Entry& entry, const std::string& state_dir) {
  RemoveSegments(entry.record.pid, "");
  if (!entry.record.plasma_directory.empty()) {
    RemoveSegments(entry.record.pid, entry.record.plasma_directory);
  }
  NodeFiles files(state_dir, entry.record.pid);
  unlink(entry.path.c_str());
  unlink(files.address.c_str());
  unlink((files.address + ".tmp").c_str());
  if (!entry.record.address_file.empty()) unlink(entry.record.address_file.c_str());
}

}  // namespace

int StopCommand(int argc, char** argv) {
  po::options_description desc(
      "Usage: ray stop [--force] [--grace-period SECONDS]\n"
      "Stops every raynode that `ray start` launched on this host (SIGTERM, then SIGKILL\n"
      "after the grace period), waits until they are gone, and removes their shared-memory\n"
      "segments and registry entries");
  int grace_s = 10;
  desc.add_options()("help,h", "show this help")("force,f", "send SIGKILL at once")(
      "grace-period", po::value(&grace_s)->default_value(10),
      "seconds a node has to exit after SIGTERM before it gets SIGKILL");
  po::variables_map vm;
  if (int code = ParseOptions("stop", desc, argc, argv, &vm); code >= 0) return code;
  if (grace_s < 0) {
    std::cerr << "ray stop: --grace-period must be 0 or more seconds" << std::endl;
    return kExitUsage;
  }
  const bool force = vm.count("force") > 0;
  const int grace_ms = grace_s * 1000;
  const std::string state_dir = StateDir();
  std::vector<Entry> entries;
  for (const std::string& path : ListRecords(state_dir)) {
    Entry entry{path, {}, false};
    std::string error;
    if (!ReadRecord(path, &entry.record, &error)) {
      std::cerr << "ray stop: skipping " << error << std::endl;
      continue;
    }
    entry.running = IsRaynode(entry.record.pid);
    // The autoscaler first, so that it launches nothing more; it finishes
    // the launches in progress before it exits.
    StopMonitor(entry.record.monitor_pid, force);
    // Signal all first so that the nodes shut down in parallel.
    if (entry.running) kill(entry.record.pid, force ? SIGKILL : SIGTERM);
    entries.push_back(entry);
  }
  int stopped = 0, failed = 0, force_killed = 0;
  auto grace_end = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  for (const Entry& entry : entries) {
    if (entry.running) {
      pid_t pid = entry.record.pid;
      int left = static_cast<int>(std::max<int64_t>(
          0, std::chrono::duration_cast<std::chrono::milliseconds>(grace_end -
                                                                   std::chrono::steady_clock::now())
                 .count()));
      if (!force && !WaitUntilGone(pid, left)) {
        std::cerr << "ray stop: raynode " << pid << " did not exit within " << grace_s
                  << " s of SIGTERM; sending SIGKILL" << std::endl;
        kill(pid, SIGKILL);
        ++force_killed;
      }
      if (!WaitUntilGone(pid, kKillWaitMs)) {
        std::cerr << "ray stop: raynode " << pid << " is still running" << std::endl;
        ++failed;
        continue;  // keep its entry: a later `ray stop` can try again
      }
      ++stopped;
    }
    CleanUp(entry, state_dir);
  }
  std::cout << "Stopped " << stopped << " Ray node(s)";
  if (force) {
    std::cout << " (SIGKILL, --force)";
  } else if (force_killed > 0) {
    std::cout << " (" << force_killed << " force-killed after the " << grace_s
              << " s grace period)";
  }
  std::cout << std::endl;
  return failed == 0 ? 0 : kExitFailure;
}

}  // namespace ray::cli
