// The project's errors keep their code and message across caf::error and back.
#include "actors/net/errors.h"

#include <gtest/gtest.h>

#include "actors/net/net.h"

namespace ray::net {
namespace {

TEST(Errors, KeepTheirCodeAndMessageThroughCafErrors) {
  caf::error err = MakeError(Errc::kRemovedFromCluster, "missed 10 heartbeats");
  EXPECT_TRUE(Is(err, Errc::kRemovedFromCluster));
  EXPECT_FALSE(Is(err, Errc::kNotFound));
  Status back = ToStatus(err);
  EXPECT_EQ(back.code(), Errc::kRemovedFromCluster);
  EXPECT_EQ(back.message(), "missed 10 heartbeats");
  EXPECT_EQ(back.ToString(), "removed_from_cluster: missed 10 heartbeats");
}

TEST(Errors, CafsOwnBecomeTimeoutsOrUnavailable) {
  EXPECT_EQ(ToStatus(caf::make_error(caf::sec::request_timeout)).code(), Errc::kTimeout);
  EXPECT_EQ(ToStatus(caf::make_error(caf::sec::request_receiver_down)).code(), Errc::kUnavailable);
  EXPECT_EQ(ToStatus(caf::make_error(caf::sec::unexpected_message)).code(), Errc::kInternal);
  EXPECT_TRUE(ToStatus(caf::error()).ok());
}

TEST(Errors, RenderWithTheirNameAndMessage) {
  EXPECT_EQ(RenderError(static_cast<uint8_t>(Errc::kActorDead), kErrorCategory,
                        caf::make_message(std::string("it called ExitActor"))),
            "actor_dead: it called ExitActor");
  EXPECT_EQ(Describe(caf::error(static_cast<uint8_t>(Errc::kNotFound), kErrorCategory)),
            "not_found");
}

}  // namespace
}  // namespace ray::net
