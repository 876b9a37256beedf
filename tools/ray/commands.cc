#include "tools/ray/commands.h"

#include <cstring>
#include <iostream>

namespace po = boost::program_options;

namespace ray::cli {
namespace {

constexpr char kNotSupported[] =
    "not supported yet (cluster launcher / profiling is tracked in a later issue)";

}  // namespace

int Fail(const std::string& command, const std::string& message, int code) {
  std::cerr << "ray " << command << ": " << message << std::endl;
  return code;
}

int UnsupportedCommand(const std::string& name, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      std::cout << "ray " << name << ": " << kNotSupported << std::endl;
      return 0;
    }
  }
  return Fail(name, kNotSupported, kExitUsage);
}

int ParseOptions(const std::string& command, const po::options_description& desc, int argc,
                 char** argv, po::variables_map* vm,
                 const po::positional_options_description* positional) {
  try {
    auto style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    po::command_line_parser parser(argc, argv);
    parser.options(desc).style(style);
    if (positional) parser.positional(*positional);
    po::store(parser.run(), *vm);
    po::notify(*vm);
  } catch (const std::exception& e) {
    return Fail(command, std::string(e.what()) + " (see ray " + command + " --help)", kExitUsage);
  }
  if (vm->count("help") > 0) {
    std::cout << desc << std::endl;
    return 0;
  }
  return -1;
}

}  // namespace ray::cli
