// What the observability commands (`ray status`, `memory`, `stack`, `logs`,
// `timeline`) share: their common options and the query of the cluster's report.
#ifndef RAY_TOOLS_RAY_OBSERVE_COMMON_H_
#define RAY_TOOLS_RAY_OBSERVE_COMMON_H_

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include <string>

#include "tools/ray/cluster_client.h"

namespace ray::cli {

struct CommonOptions {
  std::string address;
  std::string password;
  std::string format = "text";
};

/// Adds --help, --address, --redis-password and (with `format`) --format.
void AddCommonOptions(boost::program_options::options_description* desc, CommonOptions* options,
                      bool format = true);

/// Parses the options (-1: go on; else the exit code), checks --format, and connects.
int ParseAndConnect(const std::string& command,
                    const boost::program_options::options_description& desc,
                    const boost::program_options::positional_options_description* positional,
                    int argc, char** argv, CommonOptions* options, ClusterClient* client);

/// The cluster's report of `kind` with `args`; false after printing why.
bool QueryReport(const std::string& command, ClusterClient* client, const std::string& kind,
                 const nlohmann::json& args, nlohmann::json* report);

/// A command that prints one cluster report (status, memory, stack): parses
/// the common options, queries `kind`, and prints it with `print`, or as JSON.
int ReportCommand(const std::string& command, const std::string& kind, const char* usage,
                  void (*print)(const nlohmann::json& report), int argc, char** argv);

/// "1.5 KiB", "3.0 MiB"...
std::string HumanBytes(double bytes);
/// The first 8 hex digits of an id ("" stays "").
std::string ShortId(const std::string& hex);

}  // namespace ray::cli

#endif  // RAY_TOOLS_RAY_OBSERVE_COMMON_H_
