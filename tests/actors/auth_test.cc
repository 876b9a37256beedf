// The auth token's sources, the token file and the proofs of the handshake.
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
  ScopedEnv env({{"RAY_AUTH_MODE", std::nullopt}, {"RAY_AUTH_TOKEN", "from-env"}});
  Settings s;
  std::string error;
  ASSERT_TRUE(Resolve("explicit", &s, &error)) << error;
  EXPECT_EQ(s.token, "explicit");
}

TEST(AuthResolve, EnvironmentThenPathThenHomeFile) {
  ray::storage::TempDir home;
  std::filesystem::create_directories(home.path() + "/.ray");
  WriteFile(home.path() + "/.ray/auth_token", "home-token\n");
  WriteFile(home.path() + "/other", "  path-token \n");
  Settings s;
  std::string error;
  {
    ScopedEnv env({{"HOME", home.path()}, {"RAY_AUTH_MODE", std::nullopt},
                   {"RAY_AUTH_TOKEN", "env-token"}, {"RAY_AUTH_TOKEN_PATH", home.path() + "/other"}});
    ASSERT_TRUE(Resolve("", &s, &error)) << error;
    EXPECT_EQ(s.token, "env-token");
  }
  {
    ScopedEnv env({{"HOME", home.path()}, {"RAY_AUTH_MODE", std::nullopt},
                   {"RAY_AUTH_TOKEN", std::nullopt}, {"RAY_AUTH_TOKEN_PATH", home.path() + "/other"}});
    ASSERT_TRUE(Resolve("", &s, &error)) << error;
    EXPECT_EQ(s.token, "path-token");
  }
  {
    ScopedEnv env({{"HOME", home.path()}, {"RAY_AUTH_MODE", std::nullopt},
                   {"RAY_AUTH_TOKEN", std::nullopt}, {"RAY_AUTH_TOKEN_PATH", std::nullopt}});
    ASSERT_TRUE(Resolve("", &s, &error)) << error;
    EXPECT_EQ(s.token, "home-token");
    EXPECT_EQ(s.source, home.path() + "/.ray/auth_token");
  }
}

TEST(AuthResolve, UnreadableTokenPathIsAnErrorNotAFallback) {
  ray::storage::TempDir home;
  std::filesystem::create_directories(home.path() + "/.ray");
  WriteFile(home.path() + "/.ray/auth_token", "home-token\n");
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
    ASSERT_TRUE(Resolve("x", &s, &error));
    EXPECT_EQ(s.mode, Mode::kToken);
  }
  {
    ScopedEnv env({{"RAY_AUTH_MODE", "disabled"}, {"RAY_AUTH_TOKEN", std::nullopt}});
    ASSERT_TRUE(Resolve("x", &s, &error));
    EXPECT_EQ(s.mode, Mode::kDisabled);
  }
  {
    ScopedEnv env({{"RAY_AUTH_MODE", "tokn"}, {"RAY_AUTH_TOKEN", std::nullopt}});
    EXPECT_FALSE(Resolve("x", &s, &error));
    EXPECT_NE(error.find("RAY_AUTH_MODE='tokn'"), std::string::npos) << error;
  }
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
