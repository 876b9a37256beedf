// `ray` argument handling: everything here fails or prints before any raynode starts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/cli/cli_fixture.h"

namespace ray::cli::testing {
namespace {

using ::testing::HasSubstr;

using RayOptions = CliTest;

TEST_F(RayOptions, HelpListsEverySubcommand) {
  RunResult result = Ray({"--help"});
  EXPECT_EQ(result.code, 0);
  for (const char* command :
       {"start", "stop", "up", "down", "exec", "attach", "get_head_ip", "stack", "timeline"}) {
    EXPECT_THAT(result.out, HasSubstr("  " + std::string(command) + " ")) << command;
  }
}

TEST_F(RayOptions, StartHelpListsEveryRay07Option) {
  RunResult result = Ray({"start", "--help"});
  EXPECT_EQ(result.code, 0);
  for (const char* option : {"node-ip-address",
                             "redis-address",
                             "address",
                             "redis-port",
                             "port",
                             "num-redis-shards",
                             "redis-max-clients",
                             "redis-password",
                             "redis-shard-ports",
                             "object-manager-port",
                             "node-manager-port",
                             "memory",
                             "object-store-memory",
                             "redis-max-memory",
                             "gcs-dir",
                             "num-cpus",
                             "num-gpus",
                             "resources",
                             "head",
                             "include-webui",
                             "dashboard-host",
                             "dashboard-port",
                             "block",
                             "plasma-directory",
                             "huge-pages",
                             "autoscaling-config",
                             "no-redirect-worker-output",
                             "no-redirect-output",
                             "plasma-store-socket-name",
                             "raylet-socket-name",
                             "temp-dir",
                             "include-java",
                             "java-worker-options",
                             "internal-config",
                             "load-code-from-local",
                             "logging-level"}) {
    EXPECT_THAT(result.out, HasSubstr("--" + std::string(option) + " ")) << option;
  }
}

TEST_F(RayOptions, RefusedOptionsAreUsageErrorsNamingTheOption) {
  const std::vector<std::vector<std::string>> refused = {
      {"--redis-shard-ports", "6380,6381"},
      {"--plasma-store-socket-name", "/tmp/plasma"},
      {"--raylet-socket-name", "/tmp/raylet"},
      {"--include-java"},
      {"--java-worker-options", "-Xmx1g"},
      {"--node-manager-port", "6381"},
      {"--memory", "1000000000"},
  };
  for (const auto& args : refused) {
    std::vector<std::string> command = {"start", "--head", "--temp-dir", temp_dir_};
    command.insert(command.end(), args.begin(), args.end());
    RunResult result = Ray(command);
    EXPECT_EQ(result.code, 2) << args[0];
    EXPECT_THAT(result.err, HasSubstr("ray start: " + args[0])) << args[0];
  }
  EXPECT_TRUE(RegistryRecords().empty());
}

TEST_F(RayOptions, RefusedOptionsGiveTheReason) {
  EXPECT_THAT(Ray({"start", "--address=127.0.0.1:1", "--include-webui"}).err,
              HasSubstr("--include-webui applies to the head only"));
  EXPECT_THAT(Ray({"start", "--head", "--dashboard-port", "9000"}).err,
              HasSubstr("--dashboard-host and --dashboard-port need --include-webui"));
  EXPECT_THAT(Ray({"start", "--head", "--redis-shard-ports", "1"}).err,
              HasSubstr("LevelDB databases inside the head's raynode"));
  EXPECT_THAT(Ray({"start", "--head", "--raylet-socket-name", "s"}).err,
              HasSubstr("there are no Unix sockets"));
  EXPECT_THAT(Ray({"start", "--head", "--include-java"}).err,
              HasSubstr("Java workers are not supported"));
}

TEST_F(RayOptions, InternalConfigRejectsUnknownKeyNamingIt) {
  RunResult result = Ray({"start", "--head", "--internal-config", "{\"bogus\": 1}"});
  EXPECT_EQ(result.code, 2);
  EXPECT_THAT(result.err, HasSubstr("\"bogus\""));
  EXPECT_THAT(result.err, HasSubstr("num_heartbeats_timeout"));
}

TEST_F(RayOptions, InternalConfigMustBeAFlatObjectOfIntegers) {
  for (const char* config : {"{", "[1]", "{\"num_heartbeats_timeout\": 1.5}",
                             "{\"raylet_heartbeat_timeout_milliseconds\": \"100\"}",
                             "{\"num_heartbeats_timeout\": {\"a\": 1}}"}) {
    RunResult result = Ray({"start", "--head", "--internal-config", config});
    EXPECT_EQ(result.code, 2) << config;
    EXPECT_THAT(result.err, HasSubstr("--internal-config")) << config;
  }
}

TEST_F(RayOptions, ResourcesMustBeAnObjectOfNonNegativeNumbers) {
  for (const char* resources : {"{\"CPU\": 1", "not json", "{\"Custom\": -1}",
                                "{\"Custom\": \"2\"}", "{\"Custom\": 2} trailing"}) {
    RunResult result = Ray({"start", "--head", "--resources", resources});
    EXPECT_EQ(result.code, 2) << resources;
    EXPECT_THAT(result.err, HasSubstr("ray start: --resources")) << resources;
  }
}

TEST_F(RayOptions, StartNeedsExactlyOneOfHeadAndAddress) {
  RunResult neither = Ray({"start"});
  EXPECT_EQ(neither.code, 2);
  EXPECT_THAT(neither.err, HasSubstr("give --head to start a new cluster, or --address=HOST:PORT"));
  RunResult both = Ray({"start", "--head", "--address", "127.0.0.1:6379"});
  EXPECT_EQ(both.code, 2);
  EXPECT_THAT(both.err, HasSubstr("not both"));
}

TEST_F(RayOptions, HeadOnlyOptionsNeedHead) {
  for (const char* option :
       {"--num-redis-shards", "--redis-max-clients", "--redis-max-memory", "--gcs-dir"}) {
    RunResult result = Ray({"start", "--address", "127.0.0.1:6379", option, "2"});
    EXPECT_EQ(result.code, 2) << option;
    EXPECT_THAT(result.err, HasSubstr(std::string(option) + " needs --head")) << option;
  }
}

TEST_F(RayOptions, BadValuesAreUsageErrors) {
  const std::vector<std::vector<std::string>> bad = {
      {"--address", "no-port"},        {"--head", "--port", "70000"},
      {"--head", "--num-cpus", "abc"}, {"--head", "--num-redis-shards", "0"},
      {"--head", "--num-gpus", "-1"},  {"--head", "--logging-level", "chatty"},
      {"--head", "--no-such-option"},  {"--head", "--port", "1", "--redis-port", "2"},
  };
  for (auto args : bad) {
    args.insert(args.begin(), "start");
    RunResult result = Ray(args);
    EXPECT_EQ(result.code, 2) << args[2];
    EXPECT_THAT(result.err, HasSubstr("ray start: ")) << args[2];
  }
}

TEST_F(RayOptions, StopWithNothingRunningStopsZero) {
  RunResult result = Ray({"stop"});
  EXPECT_EQ(result.code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("Stopped 0"));
}

TEST_F(RayOptions, ClusterLauncherCommandsNameTheConfigTheyCannotRead) {
  for (const char* command : {"up", "down", "exec", "attach", "get_worker_ips"}) {
    std::vector<std::string> args = {command, temp_dir_ + "/missing.yaml"};
    if (std::string(command) == "exec") args.push_back("true");
    RunResult result = Ray(args);
    EXPECT_EQ(result.code, 2) << command;
    EXPECT_THAT(result.err, HasSubstr("ray " + std::string(command) +
                                      ": cannot read the cluster config " + temp_dir_ +
                                      "/missing.yaml"));
  }
  EXPECT_THAT(Ray({"exec", "c.yaml"}).err, HasSubstr("give the cluster config file and the command"));
  EXPECT_THAT(Ray({"attach", "-N", "c.yaml"}).err, HasSubstr("-N needs --tmux or --screen"));
  EXPECT_THAT(Ray({"up", "--no-restart", "--restart-only", "c.yaml"}).err,
              HasSubstr("--no-restart and --restart-only contradict each other"));
  EXPECT_THAT(Ray({"up", "--min-workers", "-1", "c.yaml"}).err,
              HasSubstr("--min-workers must be 0 or more"));
}

TEST_F(RayOptions, AutoscalingConfigIsCheckedBeforeTheHeadStarts) {
  RunResult missing = Ray({"start", "--head", "--autoscaling-config", temp_dir_ + "/none.yaml"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_THAT(missing.err, HasSubstr("ray start: --autoscaling-config: cannot read the cluster config"));
  RunResult worker = Ray({"start", "--address=127.0.0.1:1", "--autoscaling-config", "c.yaml"});
  EXPECT_THAT(worker.err, HasSubstr("--autoscaling-config needs --head"));
  EXPECT_TRUE(RegistryRecords().empty());
}

TEST_F(RayOptions, UnknownCommandIsAUsageError) {
  RunResult result = Ray({"frobnicate"});
  EXPECT_EQ(result.code, 2);
  EXPECT_THAT(result.err, HasSubstr("unknown command 'frobnicate'"));
  EXPECT_EQ(Ray({}).code, 2);
}

}  // namespace
}  // namespace ray::cli::testing
