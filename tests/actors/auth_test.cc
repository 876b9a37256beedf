// The auth token's sources, the token file, the proofs of the handshake, and
// the handshake loop's policy (who keeps a place, what the log says).
#include "actors/common/auth.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "actors/common/ids.h"
#include "actors/net/handshake_policy.h"
#include "tests/storage/temp_dir.h"

namespace ray::auth {
namespace {

/// Sets variables for one test and puts the old values back.
class ScopedEnv {
 public:
  explicit ScopedEnv(const std::map<std::string, std::optional<std::string>>& vars) {
    for (const auto& [k, v] : vars) {
      const char* old = getenv(k.c_str());
      old_[k] = old ? std::optional<std::string>(old) : std::nullopt;
      if (v) {
        setenv(k.c_str(), v->c_str(), 1);
      } else {
        unsetenv(k.c_str());
      }
    }
  }
  ~ScopedEnv() {
    for (const auto& [k, v] : old_) {
      if (v) {
        setenv(k.c_str(), v->c_str(), 1);
      } else {
        unsetenv(k.c_str());
      }
    }
  }

 private:
  std::map<std::string, std::optional<std::string>> old_;
};

void WriteFile(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(AuthResolve, ExplicitTokenWinsOverEveryOtherSource) {
  ScopedEnv env({{"RAY_AUTH_MODE", std::nullopt}, {"RAY_AUTH_TOKEN", "from-the-environment"}});
  Settings s;
  std::string error;
  ASSERT_TRUE(Resolve("explicit-token-0123", &s, &error)) << error;
  EXPECT_EQ(s.token, "explicit-token-0123");
}

TEST(AuthResolve, EnvironmentThenPathThenHomeFile) {
  ray::storage::TempDir home;
  std::filesystem::create_directories(home.path() + "/.ray");
  WriteFile(home.path() + "/.ray/auth_token", "home-token-0123456789\n");
  WriteFile(home.path() + "/other", "  path-token-0123456789 \n");
  Settings s;
  std::string error;
  {
    ScopedEnv env({{"HOME", home.path()}, {"RAY_AUTH_MODE", std::nullopt},
                   {"RAY_AUTH_TOKEN", "env-token-0123456789"}, {"RAY_AUTH_TOKEN_PATH", home.path() + "/other"}});
    ASSERT_TRUE(Resolve("", &s, &error)) << error;
    EXPECT_EQ(s.token, "env-token-0123456789");
  }
  {
    ScopedEnv env({{"HOME", home.path()}, {"RAY_AUTH_MODE", std::nullopt},
                   {"RAY_AUTH_TOKEN", std::nullopt}, {"RAY_AUTH_TOKEN_PATH", home.path() + "/other"}});
    ASSERT_TRUE(Resolve("", &s, &error)) << error;
    EXPECT_EQ(s.token, "path-token-0123456789");
  }
  {
    ScopedEnv env({{"HOME", home.path()}, {"RAY_AUTH_MODE", std::nullopt},
                   {"RAY_AUTH_TOKEN", std::nullopt}, {"RAY_AUTH_TOKEN_PATH", std::nullopt}});
    ASSERT_TRUE(Resolve("", &s, &error)) << error;
    EXPECT_EQ(s.token, "home-token-0123456789");
    EXPECT_EQ(s.source, home.path() + "/.ray/auth_token");
  }
}

TEST(AuthResolve, UnreadableTokenPathIsAnErrorNotAFallback) {
  ray::storage::TempDir home;
  std::filesystem::create_directories(home.path() + "/.ray");
  WriteFile(home.path() + "/.ray/auth_token", "home-token-0123456789\n");
  ScopedEnv env({{"HOME", home.path()}, {"RAY_AUTH_MODE", std::nullopt},
                 {"RAY_AUTH_TOKEN", std::nullopt},
                 {"RAY_AUTH_TOKEN_PATH", home.path() + "/missing"}});
  Settings s;
  std::string error;
  EXPECT_FALSE(Resolve("", &s, &error));
  EXPECT_NE(error.find("RAY_AUTH_TOKEN_PATH"), std::string::npos) << error;
  EXPECT_NE(error.find(home.path() + "/missing"), std::string::npos) << error;
}

TEST(AuthResolve, ModeIsTokenByDefaultAndUnknownModesAreRejected) {
  Settings s;
  std::string error;
  {
    ScopedEnv env({{"RAY_AUTH_MODE", std::nullopt}, {"RAY_AUTH_TOKEN", std::nullopt}});
    ASSERT_TRUE(Resolve("a-token-of-16-chars", &s, &error)) << error;
    EXPECT_EQ(s.mode, Mode::kToken);
  }
  {
    ScopedEnv env({{"RAY_AUTH_MODE", "disabled"}, {"RAY_AUTH_TOKEN", std::nullopt}});
    ASSERT_TRUE(Resolve("a-token-of-16-chars", &s, &error)) << error;
    EXPECT_EQ(s.mode, Mode::kDisabled);
  }
  {
    ScopedEnv env({{"RAY_AUTH_MODE", "tokn"}, {"RAY_AUTH_TOKEN", std::nullopt}});
    EXPECT_FALSE(Resolve("a-token-of-16-chars", &s, &error));
    EXPECT_NE(error.find("RAY_AUTH_MODE='tokn'"), std::string::npos) << error;
  }
}

// Issue 22: a short token falls to an offline guess from one proof.
TEST(AuthResolve, TokensShorterThan16CharactersAreRefusedSayingWhereAndWhy) {
  ray::storage::TempDir home;
  Settings s;
  std::string error;
  {
    ScopedEnv env({{"RAY_AUTH_MODE", std::nullopt}, {"RAY_AUTH_TOKEN", std::nullopt}});
    EXPECT_FALSE(Resolve("pw", &s, &error));
    EXPECT_NE(error.find("--redis-password"), std::string::npos) << error;
    EXPECT_NE(error.find("RayConfig::redis_password"), std::string::npos) << error;
    EXPECT_NE(error.find("has 2 characters"), std::string::npos) << error;
    EXPECT_NE(error.find("at least 16"), std::string::npos) << error;
    EXPECT_FALSE(Resolve(std::string(15, 'a'), &s, &error));
    EXPECT_TRUE(Resolve(std::string(16, 'a'), &s, &error)) << error;
  }
  {
    ScopedEnv env({{"RAY_AUTH_MODE", std::nullopt}, {"RAY_AUTH_TOKEN", "s3cret-token"}});
    EXPECT_FALSE(Resolve("", &s, &error));
    EXPECT_EQ(error.find("RAY_AUTH_TOKEN has 12 characters"), 0u) << error;
    EXPECT_NE(error.find("at least 16"), std::string::npos) << error;
  }
  {
    WriteFile(home.path() + "/short", "guessable\n");
    ScopedEnv env({{"RAY_AUTH_MODE", std::nullopt}, {"RAY_AUTH_TOKEN", std::nullopt},
                   {"RAY_AUTH_TOKEN_PATH", home.path() + "/short"}});
    EXPECT_FALSE(Resolve("", &s, &error));
    EXPECT_NE(error.find(home.path() + "/short has 9 characters"), std::string::npos) << error;
  }
  {
    // Nothing to check when there is no token to hold.
    ScopedEnv env({{"RAY_AUTH_MODE", "disabled"}, {"RAY_AUTH_TOKEN", "pw"}});
    EXPECT_TRUE(Resolve("pw", &s, &error)) << error;
  }
  EXPECT_EQ(CheckTokenLength(GenerateToken(), "a generated token"), "");
}

TEST(AuthTokenFile, IsCreatedPrivateWithAtLeast128RandomBits) {
  ray::storage::TempDir dir;
  std::string path = dir.path() + "/.ray/auth_token";
  std::string token, error;
  bool created = false;
  ASSERT_TRUE(EnsureTokenFile(path, &token, &created, &error)) << error;
  EXPECT_TRUE(created);
  EXPECT_GE(token.size() * 4, 128u);  // hex
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // A second call reads the same token back instead of replacing it.
  std::string again;
  ASSERT_TRUE(EnsureTokenFile(path, &again, &created, &error)) << error;
  EXPECT_FALSE(created);
  EXPECT_EQ(again, token);
  EXPECT_NE(GenerateToken(), GenerateToken());
}

TEST(AuthProof, DependsOnTokenLabelAndBothNonces) {
  std::string p = Proof("t", "server", "a", "b");
  EXPECT_EQ(p.size(), 32u);
  std::set<std::string> all = {p, Proof("u", "server", "a", "b"), Proof("t", "client", "a", "b"),
                               Proof("t", "server", "x", "b"), Proof("t", "server", "a", "x")};
  EXPECT_EQ(all.size(), 5u);
  EXPECT_TRUE(ConstantTimeEqual(p, Proof("t", "server", "a", "b")));
  EXPECT_FALSE(ConstantTimeEqual(p, p.substr(1)));
}

}  // namespace
}  // namespace ray::auth

namespace ray::auth {
namespace {

// RFC 4231, test cases 1, 2 and 6 (a key longer than a block).
TEST(AuthHmac, MatchesRfc4231) {
  EXPECT_EQ(ids::Hex(HmacSha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(ids::Hex(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(ids::Hex(HmacSha256(std::string(131, '\xaa'),
                                "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

}  // namespace
}  // namespace ray::auth

namespace ray::net {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

HandshakeTable::Limits SmallLimits() {
  HandshakeTable::Limits limits;
  limits.total = 8;
  limits.per_address = 3;
  limits.deadline = seconds(2);
  return limits;
}

// Issue 22: one stranger's sockets held every place and locked everyone out.
TEST(HandshakeTable, AnAddressAtItsLimitPushesOutItsOwnOldestNeverAnotherAddress) {
  HandshakeTable table(SmallLimits());
  auto t = HandshakeClock::time_point() + seconds(100);
  HandshakeTable::Evicted evicted;
  uint64_t driver = table.Add("127.0.0.1", t, &evicted);
  std::vector<uint64_t> stranger;
  for (int i = 0; i < 50; ++i) stranger.push_back(table.Add("127.0.0.2", t + milliseconds(i), &evicted));
  EXPECT_EQ(table.CountFrom("127.0.0.2"), 3u);
  ASSERT_EQ(evicted.size(), 47u);
  for (size_t i = 0; i < evicted.size(); ++i) {
    EXPECT_EQ(evicted[i].first, stranger[i]);  // oldest first
    EXPECT_EQ(evicted[i].second, Refusal::kAddressLimit);
  }
  EXPECT_EQ(table.CountFrom("127.0.0.1"), 1u);
  table.Remove(driver);  // it finished
  EXPECT_EQ(table.CountFrom("127.0.0.1"), 0u);
}

TEST(HandshakeTable, ANewcomerOnASharedAddressOutlivesOlderStallers) {
  // The stranger shares the driver's address: the driver's fresh place is the
  // last to go, after every place older than it.
  HandshakeTable table(SmallLimits());
  auto t = HandshakeClock::time_point() + seconds(100);
  HandshakeTable::Evicted evicted;
  for (int i = 0; i < 3; ++i) table.Add("127.0.0.1", t, &evicted);
  uint64_t driver = table.Add("127.0.0.1", t + milliseconds(1), &evicted);
  table.Add("127.0.0.1", t + milliseconds(2), &evicted);
  table.Add("127.0.0.1", t + milliseconds(2), &evicted);
  for (const auto& [id, why] : evicted) EXPECT_NE(id, driver);
  evicted.clear();
  table.Add("127.0.0.1", t + milliseconds(3), &evicted);  // the per_address-th after it
  ASSERT_EQ(evicted.size(), 1u);
  EXPECT_EQ(evicted[0].first, driver);
}

TEST(HandshakeTable, AFullTablePushesOutTheOldestOfTheAddressHoldingTheMost) {
  HandshakeTable table(SmallLimits());
  auto t = HandshakeClock::time_point() + seconds(100);
  HandshakeTable::Evicted evicted;
  std::vector<uint64_t> big;
  for (int i = 0; i < 3; ++i) big.push_back(table.Add("10.0.0.1", t, &evicted));
  for (int i = 0; i < 5; ++i) table.Add("10.0.1." + std::to_string(i), t, &evicted);
  ASSERT_EQ(table.size(), 8u);
  ASSERT_TRUE(evicted.empty());
  uint64_t worker = table.Add("127.0.0.1", t + milliseconds(1), &evicted);
  ASSERT_EQ(evicted.size(), 1u);
  EXPECT_EQ(evicted[0].first, big[0]);
  EXPECT_EQ(evicted[0].second, Refusal::kTableFull);
  EXPECT_EQ(table.size(), 8u);
  EXPECT_EQ(table.CountFrom("127.0.0.1"), 1u);
  (void)worker;
}

TEST(HandshakeTable, OneDeadlineForTheWholeHandshakeFromAccept) {
  HandshakeTable table(SmallLimits());
  auto t = HandshakeClock::time_point() + seconds(100);
  HandshakeTable::Evicted evicted;
  uint64_t a = table.Add("127.0.0.2", t, &evicted);
  uint64_t b = table.Add("127.0.0.3", t + milliseconds(500), &evicted);
  EXPECT_EQ(table.NextDeadline(), t + seconds(2));
  // Bytes received do not matter: nothing tells the table of them.
  EXPECT_TRUE(table.Expire(t + milliseconds(1999)).empty());
  EXPECT_EQ(table.Expire(t + seconds(2)), std::vector<uint64_t>{a});
  EXPECT_EQ(table.Expire(t + seconds(3)), std::vector<uint64_t>{b});
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.NextDeadline(), HandshakeClock::time_point::max());
}

size_t CountOf(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(RefusalLog, OneLinePerAddressPer10SecondsWithTheCountOfTheOthers) {
  RefusalLog log;
  auto t = HandshakeClock::time_point() + seconds(100);
  std::string first = log.Note("127.0.0.2", 6379, Refusal::kTimedOut, "did not finish", t);
  EXPECT_EQ(first.find("refused a connection from 127.0.0.2 to port 6379: did not finish"), 0u)
      << first;
  for (int i = 1; i <= 30; ++i) {
    Refusal why = i % 3 == 0 ? Refusal::kTimedOut : Refusal::kAddressLimit;
    EXPECT_EQ(log.Note("127.0.0.2", 6379, why, "x", t + milliseconds(100 * i)), "");
  }
  // Another address has its own line at once.
  EXPECT_NE(log.Note("10.1.2.3", 6379, Refusal::kWrongToken, "wrong auth token", t + seconds(1)), "");
  std::string next = log.Note("127.0.0.2", 6379, Refusal::kClosed, "closed", t + seconds(10));
  EXPECT_NE(next.find("30 more connections (10 timed out, 20 over address limit)"), std::string::npos)
      << next;
}

TEST(RefusalLog, RefusalsOfAnAddressThatWentQuietAreStillLogged) {
  RefusalLog log;
  auto t = HandshakeClock::time_point() + seconds(100);
  EXPECT_NE(log.Note("127.0.0.2", 1, Refusal::kNotRay, "not a Ray peer", t), "");
  for (int i = 0; i < 5; ++i) log.Note("127.0.0.2", 1, Refusal::kNotRay, "x", t + seconds(1));
  EXPECT_TRUE(log.Flush(t + seconds(9)).empty());
  auto lines = log.Flush(t + seconds(10));
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "refused 5 more connections (5 not a Ray peer) from 127.0.0.2 in the last 10 s");
  EXPECT_TRUE(log.Flush(t + seconds(30)).empty());
  // A flood from many addresses: the first ones one by one, the rest together, none unsaid.
  RefusalLog small(seconds(10), 2);
  std::string text;
  for (int i = 0; i < 100; ++i) {
    text += small.Note("10.0.0." + std::to_string(i), 1, Refusal::kClosed, "c", t) + "\n";
  }
  for (const auto& line : small.Flush(t + seconds(10))) text += line + "\n";
  EXPECT_EQ(CountOf(text, "refused a connection from"), 3u) << text;
  EXPECT_NE(text.find("refused 97 more connections (97 closed early) from other addresses"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace ray::net
