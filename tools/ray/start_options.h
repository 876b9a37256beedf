// `ray start`'s options (every option of Ray 0.7's `ray start`) and how they
// map to raynode flags; see docs/cli.md for the table.
#ifndef RAY_TOOLS_RAY_START_OPTIONS_H_
#define RAY_TOOLS_RAY_START_OPTIONS_H_

#include <boost/program_options.hpp>
#include <string>
#include <vector>

namespace ray::cli {

/// What `ray start` will do, decided from its options alone.
struct StartPlan {
  std::vector<std::string> raynode_flags;  // all but --address-file
  bool head = false;
  std::string join_address;  // the head's "host:port" when joining
  std::string password;
  std::string plasma_directory;
  std::string temp_dir = "/tmp/ray";  // raynode's default
  bool block = false;
  bool redirect_output = true;  // raynode's own output to its log file
  bool include_webui = false;   // the head serves the dashboard
  std::string autoscaling_config;  // absolute path: the head runs `ray monitor` with it
};

/// Adds every `ray start` option, the refused ones included, to `desc`.
void AddStartOptions(boost::program_options::options_description* desc);

/// Checks the parsed options and maps them to raynode flags. On failure returns
/// false with a one-line `*error` naming the offending option.
bool PlanStart(const boost::program_options::variables_map& vm, StartPlan* plan,
               std::string* error);

}  // namespace ray::cli

#endif  // RAY_TOOLS_RAY_START_OPTIONS_H_
