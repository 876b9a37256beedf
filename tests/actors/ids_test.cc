// The one hex codec of ids.h.
#include "actors/common/ids.h"

#include <gtest/gtest.h>

#include <string>

namespace ray::ids {
namespace {

TEST(Hex, RoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  std::string back;
  ASSERT_TRUE(FromHex(Hex(all), &back));
  EXPECT_EQ(back, all);
  EXPECT_EQ(Hex("\x01\xab"), "01ab");
  ASSERT_TRUE(FromHex("01AB", &back));
  EXPECT_EQ(back, "\x01\xab");
}

TEST(Hex, RejectsOddLengthsAndNonDigits) {
  std::string out;
  EXPECT_FALSE(FromHex("abc", &out));
  EXPECT_FALSE(FromHex("zz", &out));
  EXPECT_FALSE(FromHex("0x", &out));
  EXPECT_TRUE(FromHex("", &out));
  EXPECT_EQ(out, "");
}

}  // namespace
}  // namespace ray::ids
