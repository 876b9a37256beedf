// `ray stop`: stop every raynode in the registry, then clean up after each.
#include <signal.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <iostream>
#include <vector>

#include "tools/ray/commands.h"
#include "tools/ray/process.h"
#include "tools/ray/registry.h"

namespace po = boost::program_options;

namespace ray::cli {
namespace {

constexpr int kGraceMs = 10000;    // after SIGTERM, before SIGKILL
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
      "Usage: ray stop [--force]\n"
      "Stops every raynode that `ray start` launched on this host (SIGTERM, then SIGKILL\n"
      "after 10 s) and removes their shared-memory segments and registry entries");
  desc.add_options()("help,h", "show this help")("force,f", "send SIGKILL at once");
  po::variables_map vm;
  if (int code = ParseOptions("stop", desc, argc, argv, &vm); code >= 0) return code;
  const bool force = vm.count("force") > 0;
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
    // Signal all first so that the nodes shut down in parallel.
    if (entry.running) kill(entry.record.pid, force ? SIGKILL : SIGTERM);
    entries.push_back(entry);
  }
  int stopped = 0, failed = 0;
  for (const Entry& entry : entries) {
    if (entry.running) {
      pid_t pid = entry.record.pid;
      if (!force && !WaitUntilGone(pid, kGraceMs)) {
        std::cerr << "ray stop: raynode " << pid << " ignored SIGTERM for " << kGraceMs / 1000
                  << " s; sending SIGKILL" << std::endl;
        kill(pid, SIGKILL);
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
  std::cout << "Stopped " << stopped << " Ray node(s)" << std::endl;
  return failed == 0 ? 0 : kExitFailure;
}

}  // namespace ray::cli
