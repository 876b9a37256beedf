// `ray lineage`: prints how an object was made, from the lineage log in the
// running cluster's GCS: its producing task, and recursively the tasks that
// made that task's arguments.
#include <cstdlib>
#include <iostream>
#include <set>
#include <string>

#include "actors/common/ids.h"
#include "actors/common/protocol.h"
#include "actors/net/atoms.h"
#include "tools/ray/cluster_client.h"
#include "tools/ray/commands.h"

namespace po = boost::program_options;

namespace ray::cli {
namespace {

class Printer {
 public:
  Printer(ClusterClient* client, int max_depth) : client_(client), max_depth_(max_depth) {}

  /// Prints `object_id` and what made it; false when the GCS did not answer.
  bool Object(const std::string& object_id, const std::string& indent, int depth) {
    std::cout << "object " << ids::Hex(object_id) << "\n";
    if (ids::IsPut(object_id)) {
      std::cout << indent << "└─ made by ray::Put (no task: it cannot be rebuilt)\n";
      return true;
    }
    std::string bytes;
    std::string failure;
    if (!client_->AskGcs(std::chrono::seconds(10), &bytes, &failure, atoms::lineage_get::value,
                         object_id)) {
      std::cerr << "ray lineage: the GCS did not answer: " << failure << std::endl;
      return false;
    }
    if (bytes.empty()) {
      std::cout << indent
                << "└─ no lineage record (garbage-collected after its owner dropped it, "
                   "evicted by the memory cap, or never logged)\n";
      return true;
    }
    auto spec = proto::Decode<proto::TaskSpec>(bytes);
    std::string resources;
    for (const auto& [name, amount] : spec.resources) {
      resources += (resources.empty() ? "" : ", ") + name + "=" + std::to_string(amount);
    }
    std::cout << indent << "└─ made by task " << ids::Hex(spec.task_id) << " " << spec.function
              << (spec.actor_id.empty() ? "" : " (actor " + ids::Hex(spec.actor_id) + ")")
              << " [job " << ids::Hex(spec.job_id) << ", max_retries " << spec.max_retries
              << (resources.empty() ? "" : ", " + resources) << "]\n";
    std::string inner = indent + "   ";
    for (size_t i = 0; i < spec.args.size(); ++i) {
      bool last = i + 1 == spec.args.size();
      std::cout << inner << (last ? "└─ " : "├─ ") << "arg " << i << ": ";
      const auto& arg = spec.args[i];
      if (!arg.is_ref) {
        std::cout << "value (" << arg.value.size() << " bytes)\n";
        continue;
      }
      if (depth >= max_depth_) {
        std::cout << "object " << ids::Hex(arg.object_id) << " (--depth reached)\n";
        continue;
      }
      if (!seen_.insert(arg.object_id).second) {
        std::cout << "object " << ids::Hex(arg.object_id) << " (shown above)\n";
        continue;
      }
      if (!Object(arg.object_id, inner + (last ? "   " : "│  "), depth + 1)) return false;
    }
    return true;
  }

 private:
  ClusterClient* client_;
  int max_depth_;
  std::set<std::string> seen_;
};

}  // namespace

int LineageCommand(int argc, char** argv) {
  po::options_description desc(
      "Usage: ray lineage [--address HOST:PORT] OBJECT_ID\n"
      "Prints how an object was made (from the lineage log in the cluster's GCS): its\n"
      "producing task and, recursively, the tasks that made its arguments.\n"
      "OBJECT_ID is the hex id (ObjectRef::Hex()). Options");
  std::string address, password, object_hex;
  int depth = 10;
  desc.add_options()("help,h", "show this help")(
      "address", po::value(&address), "HOST:PORT of any node of the cluster (default $RAY_ADDRESS)")(
      "redis-password", po::value(&password), "the cluster's auth token (else RAY_AUTH_TOKEN, ...)")(
      "depth", po::value(&depth)->default_value(10), "how many levels of arguments to follow")(
      "object-id", po::value(&object_hex), "the object's hex id");
  po::positional_options_description positional;
  positional.add("object-id", 1);
  po::variables_map vm;
  if (int code = ParseOptions("lineage", desc, argc, argv, &vm, &positional); code >= 0) return code;
  std::string object_id;
  if (object_hex.empty() || !ids::FromHex(object_hex, &object_id) ||
      object_id.size() != ids::kObjectIdSize) {
    return Fail("lineage",
                "give the object's id as " + std::to_string(2 * ids::kObjectIdSize) +
                    " hex digits (ObjectRef::Hex())",
                kExitUsage);
  }
  ClusterClient client;
  if (int code = client.Connect("lineage", address, password); code != 0) return code;
  Printer printer(&client, depth);
  return printer.Object(object_id, "", 0) ? 0 : kExitFailure;
}

}  // namespace ray::cli
