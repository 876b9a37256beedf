// A fresh embedded one-node cluster per test.
#ifndef RAY_TESTS_RUNTIME_CLUSTER_FIXTURE_H_
#define RAY_TESTS_RUNTIME_CLUSTER_FIXTURE_H_

#include <gtest/gtest.h>
#include <ray/api.h>

class ClusterTest : public ::testing::Test {
 protected:
  /// Override to change the cluster a test gets.
  virtual void Configure(ray::RayConfig& config) { (void)config; }

  void SetUp() override {
    ray::RayConfig config;
    config.num_cpus = 2;
    config.object_store_memory = int64_t{256} << 20;
    config.temp_dir = "/tmp/ray-tests";
    Configure(config);
    ray::Init(config);
  }
  void TearDown() override { ray::Shutdown(); }
};

#endif  // RAY_TESTS_RUNTIME_CLUSTER_FIXTURE_H_
