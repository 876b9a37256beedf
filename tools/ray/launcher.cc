// The cluster launcher's commands that read Ray's cluster YAML
// (tools/ray/cluster_config.h). `ray get_head_ip` for now; `up`, `down`,
// `exec`, `attach` and the autoscaler are still to come (issue #15).
#include <iostream>

#include "tools/ray/cluster_config.h"
#include "tools/ray/commands.h"

namespace po = boost::program_options;

namespace ray::cli {

int GetHeadIpCommand(int argc, char** argv) {
  po::options_description desc(
      "Usage: ray get_head_ip [-n NAME] CLUSTER_CONFIG_FILE\n"
      "Prints the head node's IP of the cluster that the config describes. Options");
  std::string name, path;
  desc.add_options()("help,h", "show this help")(
      "cluster-name,n", po::value(&name), "override the config's cluster_name")(
      "config", po::value(&path), "the cluster config (YAML)");
  po::positional_options_description positional;
  positional.add("config", 1);
  po::variables_map vm;
  if (int code = ParseOptions("get_head_ip", desc, argc, argv, &vm, &positional); code >= 0) {
    return code;
  }
  if (path.empty()) return Fail("get_head_ip", "give the cluster config file", kExitUsage);
  ClusterConfig config;
  std::string error;
  if (!LoadClusterConfig(path, &config, &error)) return Fail("get_head_ip", error, kExitUsage);
  if (!name.empty()) config.cluster_name = name;
  std::cout << config.HeadIp() << std::endl;
  return 0;
}

}  // namespace ray::cli
