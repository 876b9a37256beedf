// `ray get-auth-token [--generate]`: prints the cluster's auth token, found
// where every Ray process looks (actors/common/auth.h), or makes one.
#include <boost/program_options.hpp>

#include <iostream>
#include <string>

#include "actors/common/auth.h"
#include "tools/ray/commands.h"

namespace po = boost::program_options;

namespace ray::cli {

int GetAuthTokenCommand(int argc, char** argv) {
  po::options_description desc(
      "Usage: ray get-auth-token [--generate]\n"
      "Prints this host's Ray auth token (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or\n"
      "~/.ray/auth_token). Give it to drivers and nodes on other hosts.");
  desc.add_options()("help,h", "show this help")(
      "generate", "make ~/.ray/auth_token (mode 0600, 256 random bits) when there is no token");
  po::variables_map vm;
  if (int code = ParseOptions("get-auth-token", desc, argc, argv, &vm); code >= 0) return code;
  auth::Settings settings;
  std::string error;
  if (!auth::Resolve("", &settings, &error)) return Fail("get-auth-token", error, kExitFailure);
  if (settings.mode == auth::Mode::kDisabled) {
    return Fail("get-auth-token", "RAY_AUTH_MODE=disabled: this host uses no token", kExitFailure);
  }
  if (settings.token.empty()) {
    if (vm.count("generate") == 0) {
      return Fail("get-auth-token",
                  "no auth token (RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH, ~/.ray/auth_token); "
                  "`ray get-auth-token --generate` makes one",
                  kExitFailure);
    }
    std::string path = auth::DefaultTokenPath();
    bool created = false;
    if (path.empty()) return Fail("get-auth-token", "HOME is not set", kExitFailure);
    if (!auth::EnsureTokenFile(path, &settings.token, &created, &error)) {
      return Fail("get-auth-token", error, kExitFailure);
    }
    if (created) std::cerr << "ray get-auth-token: created " << path << std::endl;
  }
  std::cout << settings.token << std::endl;
  return 0;
}

}  // namespace ray::cli
