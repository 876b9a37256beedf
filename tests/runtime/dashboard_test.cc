// RayConfig::include_webui: the embedded cluster serves the dashboard, and
// ray::GetWebuiUrl() says where (the seed's include_webui and get_webui_url).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <ray/api.h>

#include <nlohmann/json.hpp>

namespace {

using ::testing::HasSubstr;

TEST(EmbeddedDashboard, ServesTheClusterAtGetWebuiUrlToWhoHoldsTheToken) {
  ray::RayConfig config;
  config.num_cpus = 1;
  config.object_store_memory = 100 << 20;
  config.include_webui = true;
  config.dashboard_port = 0;  // any free port
  config.redis_password = "embedded-dashboard-token-0123456789";
  ray::Init(config);
  const std::string url = ray::GetWebuiUrl();
  ASSERT_EQ(url.rfind("http://127.0.0.1:", 0), 0u) << url;
  httplib::Client client(url);
  auto anonymous = client.Get("/api/cluster_status");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  auto status = client.Get("/api/cluster_status", {{"Authorization", "Bearer " + config.redis_password}});
  ASSERT_TRUE(status);
  ASSERT_EQ(status->status, 200) << status->body;
  auto body = nlohmann::json::parse(status->body);
  EXPECT_EQ(body["data"]["clusterStatus"]["nodes"].size(), 1u);
  ray::Shutdown();
  // Gone with the cluster.
  httplib::Client after(url);
  after.set_connection_timeout(1, 0);
  EXPECT_FALSE(after.Get("/api/version"));
}

TEST(EmbeddedDashboard, NoneRunsUnlessAskedFor) {
  ray::RayConfig config;
  config.num_cpus = 1;
  config.object_store_memory = 100 << 20;
  ray::Init(config);
  EXPECT_EQ(ray::GetWebuiUrl(), "");
  ray::Shutdown();
  config.local_mode = true;
  ray::Init(config);
  EXPECT_EQ(ray::GetWebuiUrl(), "") << "local mode has no cluster to show";
  ray::Shutdown();
}

TEST(EmbeddedDashboard, ABadPortIsRefusedByName) {
  ray::RayConfig config;
  config.include_webui = true;
  config.dashboard_port = 70000;
  EXPECT_THROW(
      {
        try {
          ray::Init(config);
        } catch (const ray::RayException& e) {
          EXPECT_THAT(e.what(), HasSubstr("dashboard_port"));
          throw;
        }
      },
      ray::RayException);
}

}  // namespace
