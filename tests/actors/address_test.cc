// "host:port" is parsed in one place (SplitHostPort) for every process.
#include <gtest/gtest.h>

#include "actors/common/address.h"

namespace {

TEST(SplitHostPort, TakesTheLastColonAndAPortInRange) {
  std::string host;
  uint16_t port = 0;
  ASSERT_TRUE(ray::SplitHostPort("127.0.0.1:6379", &host, &port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 6379);
  ASSERT_TRUE(ray::SplitHostPort("::1:65535", &host, &port));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 65535);
}

TEST(SplitHostPort, RefusesWhatIsNotHostColonPort) {
  std::string host = "unchanged";
  uint16_t port = 7;
  for (const char* bad : {"", "host", ":6379", "host:", "host:0", "host:65536", "host:12x",
                          "host:-1", "host:999999"}) {
    EXPECT_FALSE(ray::SplitHostPort(bad, &host, &port)) << bad;
  }
  EXPECT_EQ(host, "unchanged");
  EXPECT_EQ(port, 7);
}

}  // namespace
