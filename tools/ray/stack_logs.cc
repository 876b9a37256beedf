// `ray stack` (every worker's threads' stacks, collected by each node with
// gdb or eu-stack) and `ray logs` (workers' log files, read by their node).
#include <unistd.h>

#include <iostream>
#include <map>
#include <thread>

#include "actors/common/ids.h"
#include "actors/common/protocol.h"
#include "actors/common/profile_events.h"
#include "tools/ray/commands.h"
#include "tools/ray/observe_common.h"

namespace po = boost::program_options;
using nlohmann::json;

namespace ray::cli {
namespace {

void PrintStacks(const json& report) {
  for (const auto& node : report.value("nodes", json::array())) {
    if (node.value("state", "") != "ALIVE") continue;
    std::cout << "======== Node " << node.value("node_id", "") << " (" << node.value("address", "")
              << ") ========\n";
    const json& r = node.value("report", json::object());
    if (r.contains("error")) std::cout << "(no answer: " << r.value("error", "") << ")\n";
    const json& workers = r.value("workers", json::array());
    if (workers.empty() && !r.contains("error")) std::cout << "(no workers)\n";
    for (const auto& w : workers) {
      std::cout << "--- worker pid " << w.value("pid", 0) << " (" << ShortId(w.value("worker_id", ""))
                << ", job " << w.value("job_id", "") << ") " << w.value("state", "");
      if (!w.value("actor_class", "").empty()) {
        std::cout << ", actor " << w.value("actor_class", "") << " " << ShortId(w.value("actor_id", ""));
      }
      if (!w.value("function", "").empty()) {
        std::cout << ", running " << w.value("function", "") << " (task "
                  << ShortId(w.value("task_id", "")) << ")";
      }
      std::cout << " ---\n" << w.value("stack", "") << "\n";
    }
  }
}

/// Where a worker ran: (node id hex, pid), from the events of the task or
/// actor whose hex id starts with `prefix`; false when none is recorded.
bool FindInEvents(ClusterClient* client, const std::string& prefix, bool actor, std::string* node,
                  int64_t* pid) {
  std::string bytes, error;
  if (!client->Events("", &bytes, &error)) return false;
  auto reply = proto::Decode<events::EventsReply>(bytes);
  for (const auto& stored : reply.batches) {
    if (stored.batch.component_type != "worker") continue;
    for (const auto& e : stored.batch.Expand()) {
      const std::string& id = actor ? e.actor_id : e.task_id;
      if (e.type != "task" || id.empty() || ids::Hex(id).rfind(prefix, 0) != 0) continue;
      *node = ids::Hex(stored.node_id);
      *pid = stored.batch.pid;
      return true;
    }
  }
  return false;
}

/// Which node and pid the options name; false after printing why not.
bool ResolveWorker(ClusterClient* client, const std::string& actor, const std::string& task,
                   std::string* node, int64_t* pid) {
  if (!actor.empty()) {
    // A live actor's worker is in the nodes' status; a dead one's in the events.
    json status;
    if (!QueryReport("logs", client, "status", json::object(), &status)) return false;
    for (const auto& n : status.value("nodes", json::array())) {
      for (const auto& w : n.value("report", json::object()).value("workers", json::array())) {
        if (w.value("actor_id", "").rfind(actor, 0) == 0 && !w.value("actor_id", "").empty()) {
          *node = n.value("node_id", "");
          *pid = w.value("pid", 0);
          return true;
        }
      }
    }
  }
  const std::string& id = actor.empty() ? task : actor;
  if (FindInEvents(client, id, !actor.empty(), node, pid)) return true;
  Fail("logs", std::string("no worker ran ") + (actor.empty() ? "task " : "actor ") + id +
                   " (as far as the cluster's events tell)",
       kExitFailure);
  return false;
}

/// The node that ran a worker of process id `pid` (a live worker in the nodes'
/// status, or one the cluster's events name), for `ray logs --pid` without
/// --node; false after printing why not: no node has one, or several do (pids
/// are per host), which are then listed.
bool NodeOfPid(ClusterClient* client, int64_t pid, std::string* node) {
  json status;
  if (!QueryReport("logs", client, "status", json::object(), &status)) return false;
  std::map<std::string, std::string> found;  // node id hex -> address
  std::map<std::string, std::string> addresses;
  for (const auto& n : status.value("nodes", json::array())) {
    const std::string id = n.value("node_id", "");
    addresses[id] = n.value("address", "");
    for (const auto& w : n.value("report", json::object()).value("workers", json::array())) {
      if (w.value("pid", int64_t{0}) == pid) found[id] = addresses[id];
    }
  }
  std::string bytes, error;
  if (client->Events("", &bytes, &error)) {
    for (const auto& stored : proto::Decode<events::EventsReply>(bytes).batches) {
      if (stored.batch.component_type == "worker" && stored.batch.pid == pid) {
        const std::string id = ids::Hex(stored.node_id);
        found[id] = addresses.count(id) ? addresses[id] : "";
      }
    }
  }
  if (found.size() == 1) {
    *node = found.begin()->first;
    return true;
  }
  if (found.empty()) {
    Fail("logs", "no node has a worker of pid " + std::to_string(pid) + " (ray status lists them)",
         kExitFailure);
    return false;
  }
  std::string list;
  for (const auto& [id, address] : found) {
    list += "\n  " + id + (address.empty() ? "" : " (" + address + ")");
  }
  Fail("logs", "pid " + std::to_string(pid) + " names a worker on " +
                   std::to_string(found.size()) + " nodes; give --node with one of:" + list,
       kExitUsage);
  return false;
}

/// Prints the files of a logs report; returns the offsets to follow from.
void PrintLogs(const json& report, json* offsets, bool headers) {
  for (const auto& node : report.value("nodes", json::array())) {
    const json& r = node.value("report", json::object());
    for (const auto& f : r.value("files", json::array())) {
      if (f.contains("text")) {
        const std::string text = f.value("text", "");
        if (headers && !text.empty()) std::cout << "==> " << f.value("path", "") << " <==\n";
        std::cout << text << std::flush;
        (*offsets)[std::string("offset_") + f.value("stream", "out")] = f.value("offset", 0);
      } else if (f.contains("error")) {
        if (headers) std::cerr << f.value("error", "") << "\n";
      } else {
        std::cout << node.value("node_id", "").substr(0, 8) << "  " << f.value("path", "") << "  "
                  << HumanBytes(f.value("size", 0.0)) << "\n";
      }
    }
  }
}

}  // namespace

int StackCommand(int argc, char** argv) {
  return ReportCommand(
      "stack", "stack",
      "Usage: ray stack [--address HOST:PORT] [--format text|json]\n"
      "Prints every thread's stack of every worker process of every node (each node runs\n"
      "gdb, or eu-stack, on its own workers), with what each worker is running. Options",
      PrintStacks, argc, argv);
}

int LogsCommand(int argc, char** argv) {
  po::options_description desc(
      "Usage: ray logs [--address A] [--node N] [--pid P | --actor ID | --task ID]\n"
      "                [--tail K] [--follow] [--format text|json]\n"
      "Reads workers' log files (stdout and stderr) through the cluster. Without --pid,\n"
      "--actor or --task it lists each node's log files. Options");
  CommonOptions options;
  AddCommonOptions(&desc, &options);
  std::string node, actor, task;
  int64_t pid = 0, tail = 100;
  desc.add_options()("node", po::value(&node), "the node (id prefix or HOST:PORT)")(
      "pid", po::value(&pid), "the worker's process id")(
      "actor", po::value(&actor), "the actor's id (hex, or its prefix)")(
      "task", po::value(&task), "the task's id (hex, or its prefix)")(
      "tail", po::value(&tail)->default_value(100), "print the last K lines")(
      "follow,f", "keep printing what is written");
  ClusterClient client;
  if (int code = ParseAndConnect("logs", desc, nullptr, argc, argv, &options, &client); code >= 0) return code;
  bool follow = false;
  for (int i = 1; i < argc; ++i) follow |= std::string(argv[i]) == "--follow" || std::string(argv[i]) == "-f";
  if ((pid != 0) + !actor.empty() + !task.empty() > 1) {
    return Fail("logs", "give one of --pid, --actor and --task", kExitUsage);
  }
  if (!actor.empty() || !task.empty()) {
    if (!ResolveWorker(&client, actor, task, &node, &pid)) return kExitFailure;
  }
  if (pid != 0 && node.empty() && !NodeOfPid(&client, pid, &node)) return kExitFailure;
  json args = {{"tail", tail}};
  if (!node.empty()) args["node"] = node;
  if (pid != 0) args["pid"] = pid;
  json report;
  if (!QueryReport("logs", &client, "logs", args, &report)) return kExitFailure;
  if (options.format == "json" && !follow) {
    std::cout << report.dump(2) << std::endl;
    return 0;
  }
  json offsets = json::object();
  PrintLogs(report, &offsets, !follow);
  while (follow && pid != 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    json next = args;
    next.update(offsets);
    if (!QueryReport("logs", &client, "logs", next, &report)) return kExitFailure;
    PrintLogs(report, &offsets, false);
  }
  return 0;
}

}  // namespace ray::cli
