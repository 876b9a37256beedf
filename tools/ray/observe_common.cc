#include "tools/ray/observe_common.h"

#include <cstdio>
#include <iostream>

#include "tools/ray/commands.h"

namespace po = boost::program_options;

namespace ray::cli {

void AddCommonOptions(po::options_description* desc, CommonOptions* options, bool format) {
  desc->add_options()("help,h", "show this help")(
      "address", po::value(&options->address),
      "HOST:PORT of any node of the cluster (default $RAY_ADDRESS)")(
      "redis-password", po::value(&options->password),
      "the cluster's auth token (else RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token)");
  if (format) {
    desc->add_options()("format", po::value(&options->format)->default_value("text"),
                        "text (for people) or json (for scripts)");
  }
}

int ParseAndConnect(const std::string& command, const po::options_description& desc,
                    const po::positional_options_description* positional, int argc, char** argv,
                    CommonOptions* options, ClusterClient* client) {
  po::variables_map vm;
  try {
    auto style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    po::command_line_parser parser(argc, argv);
    parser.options(desc).style(style);
    if (positional) parser.positional(*positional);
    po::store(parser.run(), vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    return Fail(command, std::string(e.what()) + " (see ray " + command + " --help)", kExitUsage);
  }
  if (vm.count("help")) {
    std::cout << desc << std::endl;
    return 0;
  }
  if (options->format != "text" && options->format != "json") {
    return Fail(command, "--format must be text or json, not '" + options->format + "'",
                kExitUsage);
  }
  int code = client->Connect(command, options->address, options->password);
  return code == 0 ? -1 : code;
}

bool QueryReport(const std::string& command, ClusterClient* client, const std::string& kind,
                 const nlohmann::json& args, nlohmann::json* report) {
  std::string text, error;
  if (!client->Observe(kind, args.dump(), &text, &error)) {
    Fail(command, "the cluster did not answer: " + error, kExitFailure);
    return false;
  }
  *report = nlohmann::json::parse(text, nullptr, false);
  if (report->is_discarded() || !report->is_object()) {
    Fail(command, "the cluster's answer is not a JSON object", kExitFailure);
    return false;
  }
  return true;
}

int ReportCommand(const std::string& command, const std::string& kind, const char* usage,
                  void (*print)(const nlohmann::json& report), int argc, char** argv) {
  po::options_description desc(usage);
  CommonOptions options;
  AddCommonOptions(&desc, &options);
  ClusterClient client;
  if (int code = ParseAndConnect(command, desc, nullptr, argc, argv, &options, &client); code >= 0) {
    return code;
  }
  nlohmann::json report;
  if (!QueryReport(command, &client, kind, nlohmann::json::object(), &report)) return kExitFailure;
  if (options.format == "json") {
    std::cout << report.dump(2) << std::endl;
  } else {
    print(report);
  }
  return 0;
}

std::string HumanBytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  char buf[32];
  snprintf(buf, sizeof buf, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
  return buf;
}

std::string ShortId(const std::string& hex) { return hex.substr(0, 8); }

}  // namespace ray::cli
