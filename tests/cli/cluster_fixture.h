// A three-node `ray start` cluster (the head with node_a and 2 CPUs, node_b
// and node_c with 1 CPU each; with `webui`, the head serves the dashboard)
// and tests/cli/observe_driver.cc running on it, for the observability tests.
#ifndef RAY_TESTS_CLI_CLUSTER_FIXTURE_H_
#define RAY_TESTS_CLI_CLUSTER_FIXTURE_H_

#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/cli/cli_fixture.h"

namespace ray::cli::testing {

class ClusterTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    env_ = {{"HOME", temp_dir_ + "/home"}, {"RAY_AUTH_TOKEN", ""}};
  }
  void TearDown() override {
    if (driver_ > 0) {
      kill(driver_, SIGKILL);
      waitpid(driver_, nullptr, 0);
    }
    CliTest::TearDown();
  }

  RunResult RayEnv(std::vector<std::string> args) { return Ray(std::move(args), env_); }

  /// Three nodes: the head with node_a (2 CPUs), node_b and node_c (1 CPU each).
  /// With `gcs_dir`, the head keeps its GCS there (a head restarted on it finds its tables).
  void StartCluster(bool webui = false, const std::string& gcs_dir = "") {
    const std::vector<std::string> common = {"--object-store-memory", "100000000", "--temp-dir",
                                             temp_dir_};
    std::vector<std::string> head = {"start", "--head", "--port", "0", "--num-cpus", "2",
                                     "--resources", R"({"node_a": 1})"};
    if (webui) head.insert(head.end(), {"--include-webui", "--dashboard-port", "0"});
    if (!gcs_dir.empty()) head.insert(head.end(), {"--gcs-dir", gcs_dir});
    head.insert(head.end(), common.begin(), common.end());
    RunResult started = RayEnv(head);
    ASSERT_EQ(started.code, 0) << started.err;
    address_ = Between(started.out, "listening on ", ",");
    if (webui) {
      webui_ = Between(started.out, "Dashboard: ", "  ");
      ASSERT_EQ(webui_.rfind("http://127.0.0.1:", 0), 0u) << started.out;
    }
    for (const char* resource : {"node_b", "node_c"}) {
      std::vector<std::string> join = {"start", "--address=" + address_, "--num-cpus", "1",
                                       "--resources", std::string("{\"") + resource + "\": 1}"};
      join.insert(join.end(), common.begin(), common.end());
      RunResult joined = RayEnv(join);
      ASSERT_EQ(joined.code, 0) << joined.err;
    }
    env_["RAY_ADDRESS"] = address_;
  }

  /// Starts the driver and waits (up to 60 s) for what it reports.
  nlohmann::json StartDriver() {
    ready_ = temp_dir_ + "/ready.nlohmann::json";
    release_ = temp_dir_ + "/release";
    driver_ = StartBackground({OBSERVE_DRIVER_PATH, ready_, release_}, env_);
    std::string line;
    if (!WaitForLine(ready_, 60000, &line)) return nlohmann::json();
    return nlohmann::json::parse(line, nullptr, false);
  }

  /// Lets the driver end its job, and waits for it.
  int EndDriver() {
    std::ofstream(release_) << "go\n";
    int status = 0;
    waitpid(driver_, &status, 0);
    driver_ = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::map<std::string, std::string> env_;
  std::string address_;
  std::string webui_;
  std::string ready_, release_;
  pid_t driver_ = 0;
};

}  // namespace ray::cli::testing

#endif  // RAY_TESTS_CLI_CLUSTER_FIXTURE_H_
