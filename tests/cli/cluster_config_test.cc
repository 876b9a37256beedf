// Ray's cluster YAML: what is read, and every kind of mistake named with its
// line. Deterministic: no processes (but one `ray get_head_ip` run).
#include "tools/ray/cluster_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "tests/cli/cli_fixture.h"

namespace ray::cli {
namespace {

using ::testing::HasSubstr;

constexpr const char* kLocal = R"(cluster_name: lab
min_workers: 1
max_workers: 2
idle_timeout_minutes: 0.5
provider:
  type: local
  head_ip: 127.0.0.1
  worker_ips: [127.0.0.2, 127.0.0.3]
auth:
  ssh_user: ray
  ssh_private_key: ~/.ssh/id_ed25519
file_mounts:
  /opt/app: ./app
setup_commands:
  - echo setup
head_start_ray_commands:
  - ray start --head --port 6379
available_node_types:
  head:
    resources: {CPU: 2}
  cpu_worker:
    resources: {CPU: 1, custom: 2}
    min_workers: 0
    max_workers: 3
head_node_type: head
)";

/// The error of parsing `text` (empty when it parses).
std::string ErrorOf(const std::string& text) {
  ClusterConfig config;
  std::string error;
  return ParseClusterConfig(text, "cluster.yaml", &config, &error) ? "" : error;
}

TEST(ClusterConfig, ReadsRaysKeys) {
  ClusterConfig c;
  std::string error;
  ASSERT_TRUE(ParseClusterConfig(kLocal, "cluster.yaml", &c, &error)) << error;
  EXPECT_EQ(c.cluster_name, "lab");
  EXPECT_EQ(c.min_workers, 1);
  EXPECT_EQ(c.max_workers, 2);
  EXPECT_DOUBLE_EQ(c.idle_timeout_minutes, 0.5);
  EXPECT_EQ(c.provider.type, "local");
  EXPECT_EQ(c.provider.worker_ips, (std::vector<std::string>{"127.0.0.2", "127.0.0.3"}));
  EXPECT_EQ(c.auth.ssh_user, "ray");
  EXPECT_EQ(c.file_mounts.at("/opt/app"), "./app");
  EXPECT_EQ(c.setup_commands, std::vector<std::string>{"echo setup"});
  EXPECT_EQ(c.available_node_types.at("cpu_worker").max_workers, 3);
  EXPECT_DOUBLE_EQ(c.available_node_types.at("cpu_worker").resources.at("custom"), 2);
  EXPECT_EQ(c.HeadIp(), "127.0.0.1");
}

TEST(ClusterConfig, FakeMultinodeNeedsNoHosts) {
  ClusterConfig c;
  std::string error;
  ASSERT_TRUE(ParseClusterConfig("provider: {type: fake_multinode}\n", "c.yaml", &c, &error)) << error;
  EXPECT_EQ(c.HeadIp(), "127.0.0.1");
  EXPECT_EQ(c.max_workers, 2) << "Ray's default";
}

TEST(ClusterConfig, EachMistakeIsNamedWithItsLine) {
  EXPECT_EQ(ErrorOf("provider: {type: fake_multinode}\nmax_wrokers: 3\n"),
            "cluster.yaml:2: unknown key 'max_wrokers' in the config (known: auth, available_node_types, "
            "cluster_name, file_mounts, head_node_type, head_setup_commands, head_start_ray_commands, "
            "idle_timeout_minutes, initialization_commands, max_workers, min_workers, provider, "
            "setup_commands, worker_setup_commands, worker_start_ray_commands)");
  EXPECT_EQ(ErrorOf("provider: {type: fake_multinode}\nmax_workers: two\n"),
            "cluster.yaml:2: 'max_workers' must be a whole number >= 0, not 'two'");
  EXPECT_EQ(ErrorOf("cluster_name: x\n"), "cluster.yaml:1: the config needs a 'provider' (with its 'type')");
  EXPECT_THAT(ErrorOf("provider:\n  type: aws\n"), HasSubstr("cluster.yaml:2: provider type 'aws' is not supported"));
  EXPECT_THAT(ErrorOf("provider:\n  type: local\nauth: {ssh_user: u}\n"),
              HasSubstr("cluster.yaml:2: the local provider needs 'head_ip'"));
  EXPECT_THAT(ErrorOf("provider: {type: local, head_ip: h}\n"), HasSubstr("needs auth.ssh_user"));
  EXPECT_THAT(ErrorOf("provider:\n  type: fake_multinode\n  zone: x\n"),
              HasSubstr("cluster.yaml:3: unknown key 'zone' in provider"));
  EXPECT_THAT(ErrorOf("provider: {type: fake_multinode}\ndocker:\n  image: x\n"),
              HasSubstr("cluster.yaml:2: 'docker' is not supported: containers are not supported"));
  EXPECT_THAT(ErrorOf("provider: {type: fake_multinode}\nmin_workers: 3\nmax_workers: 1\n"),
              HasSubstr("cluster.yaml:2: min_workers 3 is more than max_workers 1"));
  EXPECT_THAT(ErrorOf("provider: {type: fake_multinode}\nsetup_commands: echo\n"),
              HasSubstr("cluster.yaml:2: 'setup_commands' must be a list of strings"));
  EXPECT_THAT(ErrorOf("provider: {type: fake_multinode}\navailable_node_types:\n  w: {max_workers: 1}\n"),
              HasSubstr("needs a 'head_node_type'"));
  EXPECT_THAT(ErrorOf("provider: {type: fake_multinode}\navailable_node_types:\n  w: {}\nhead_node_type: h\n"),
              HasSubstr("cluster.yaml:4: head_node_type 'h' is not one of available_node_types"));
  EXPECT_THAT(ErrorOf("provider: {type: fake_multinode}\navailable_node_types:\n  w:\n    resources: {CPU: -1}\n"
                      "head_node_type: w\n"),
              HasSubstr("cluster.yaml:4: 'resources.CPU' must be a number >= 0, not '-1'"));
  EXPECT_THAT(ErrorOf("provider: [\n"), HasSubstr("not valid YAML"));
  EXPECT_EQ(ErrorOf(""), "cluster.yaml: the config is empty");
  ClusterConfig c;
  std::string error;
  EXPECT_FALSE(LoadClusterConfig("/nonexistent/cluster.yaml", &c, &error));
  EXPECT_THAT(error, HasSubstr("cannot read the cluster config /nonexistent/cluster.yaml"));
}

TEST(ClusterConfig, TheLauncherHonoursWhatItReadsAndRefusesWhatItCannot) {
  ClusterConfig c;
  std::string error;
  const char* hosts = "provider: {type: local, head_ip: h, worker_ips: [a, b, c]}\n"
                      "auth: {ssh_user: u, ssh_port: 2222}\n";
  ASSERT_TRUE(ParseClusterConfig(hosts, "cluster.yaml", &c, &error)) << error;
  EXPECT_EQ(c.auth.ssh_port, 2222);
  EXPECT_EQ(c.provider.head_port, 6379) << "Ray's port unless head_port says otherwise";
  EXPECT_EQ(c.min_workers, 3) << "Ray's local provider: every listed host is a worker";
  EXPECT_EQ(c.max_workers, 3);
  auto types = c.NodeTypes();
  ASSERT_EQ(types.size(), 2u) << "the implicit head and worker types";
  EXPECT_EQ(types.at(kDefaultWorkerType).min_workers, 3);
  EXPECT_EQ(c.HeadType(), kDefaultHeadType);
  EXPECT_THAT(ErrorOf(std::string(hosts) + "max_workers: 4\n"),
              HasSubstr("cluster.yaml:3: max_workers 4 is more than the 3 worker_ips of the local provider"));
  EXPECT_THAT(ErrorOf("provider: {type: fake_multinode, head_port: 7000}\n"),
              HasSubstr("no head_ip, worker_ips or head_port (it picks a free port)"));
  EXPECT_THAT(ErrorOf("provider: {type: local, head_ip: h}\nauth: {ssh_user: u, ssh_port: 70000}\n"),
              HasSubstr("cluster.yaml:2: 'ssh_port' must be a port, 1 to 65535"));
  EXPECT_THAT(ErrorOf("provider: {type: fake_multinode}\navailable_node_types:\n"
                      "  w: {node_config: {InstanceType: m5.large}}\nhead_node_type: w\n"),
              HasSubstr("cluster.yaml:3: node type 'w': node_config is not supported by the "
                        "fake_multinode provider"));
  ASSERT_TRUE(ParseClusterConfig("provider: {type: fake_multinode}\nmax_workers: 5\n"
                                 "available_node_types:\n  h: {}\n  w: {resources: {CPU: 1}}\n"
                                 "head_node_type: h\n",
                                 "cluster.yaml", &c, &error))
      << error;
  EXPECT_EQ(c.available_node_types.at("w").max_workers, 5) << "capped by the cluster's max_workers";
}

TEST(ClusterConfig, GetHeadIpPrintsItOrTheMistake) {
  storage::TempDir dir;
  const std::string path = dir.path() + "/cluster.yaml";
  std::ofstream(path) << kLocal;
  auto ok = testing::RunProgram({RAY_CLI_PATH, "get_head_ip", path}, {});
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(ok.out, "127.0.0.1\n");
  std::ofstream(path) << "provider: {type: gce}\n";
  auto bad = testing::RunProgram({RAY_CLI_PATH, "get_head_ip", "-n", "other", path}, {});
  EXPECT_EQ(bad.code, 2);
  EXPECT_THAT(bad.err, HasSubstr("ray get_head_ip: " + path + ":1: provider type 'gce' is not supported"));
}

}  // namespace
}  // namespace ray::cli
