#include "actors/common/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "actors/common/ids.h"

namespace ray::auth {
namespace {

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

bool ReadTokenFile(const std::string& path, std::string* token, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = "cannot read the auth token file " + path;
    return false;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  *token = Trim(buffer.str());
  if (token->empty()) {
    *error = "the auth token file " + path + " is empty";
    return false;
  }
  *error = CheckTokenLength(*token, "the auth token in " + path);
  return error->empty();
}

}  // namespace

std::string RandomBytes(size_t n) {
  // The kernel's CSPRNG: OpenSSL's RAND_bytes would first set up its DRBG and
  // providers, about 2.5 MB more in every process (each worker included).
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = getrandom(out.data() + got, n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) throw std::runtime_error("getrandom failed");
    got += static_cast<size_t>(r);
  }
  return out;
}

std::string CheckTokenLength(const std::string& token, const std::string& source) {
  if (token.size() >= kMinTokenLength) return {};
  return source + " has " + std::to_string(token.size()) +
         (token.size() == 1 ? " character" : " characters") + "; an auth token needs at least " +
         std::to_string(kMinTokenLength) +
         ", since a short one can be guessed offline from one handshake (leave it unset and "
         "`ray start --head` makes a random one in ~/.ray/auth_token, or use `openssl rand -hex 32`)";
}

std::string GenerateToken() { return ids::Hex(RandomBytes(32)); }

std::string DefaultTokenPath() {
  const char* home = std::getenv("HOME");
  if (!home || !*home) return {};
  return std::string(home) + "/.ray/auth_token";
}

std::string MissingTokenHint() {
  return "set RAY_AUTH_TOKEN or copy ~/.ray/auth_token from the head";
}

bool Resolve(const std::string& explicit_token, Settings* out, std::string* error) {
  *out = Settings{};
  const char* mode = std::getenv("RAY_AUTH_MODE");
  std::string m = mode ? mode : "";
  if (m.empty() || m == "token") {
    out->mode = Mode::kToken;
  } else if (m == "disabled") {
    out->mode = Mode::kDisabled;
    return true;
  } else {
    *error = "RAY_AUTH_MODE='" + m + "' is not one of token, disabled";
    return false;
  }
  if (!explicit_token.empty()) {
    out->token = explicit_token;
    out->source = "redis_password";
    *error = CheckTokenLength(explicit_token,
                              "the auth token given by --redis-password (raynode --password, "
                              "RayConfig::redis_password)");
    return error->empty();
  }
  if (const char* env = std::getenv("RAY_AUTH_TOKEN"); env && *env) {
    out->token = Trim(env);
    out->source = "RAY_AUTH_TOKEN";
    *error = CheckTokenLength(out->token, "RAY_AUTH_TOKEN");
    return error->empty();
  }
  if (const char* path = std::getenv("RAY_AUTH_TOKEN_PATH"); path && *path) {
    if (!ReadTokenFile(path, &out->token, error)) {
      *error = "RAY_AUTH_TOKEN_PATH: " + *error;
      return false;
    }
    out->source = path;
    return true;
  }
  std::string path = DefaultTokenPath();
  std::error_code ec;
  if (!path.empty() && std::filesystem::exists(path, ec)) {
    if (!ReadTokenFile(path, &out->token, error)) return false;
    out->source = path;
  }
  return true;
}

bool EnsureTokenFile(const std::string& path, std::string* token, bool* created,
                     std::string* error) {
  namespace fs = std::filesystem;
  std::error_code ec;
  *created = false;
  if (fs::exists(path, ec)) return ReadTokenFile(path, token, error);
  fs::path dir = fs::path(path).parent_path();
  if (!dir.empty()) {
    fs::create_directories(dir, ec);
    if (ec) {
      *error = "cannot create " + dir.string() + ": " + ec.message();
      return false;
    }
    fs::permissions(dir, fs::perms::owner_all, ec);
  }
  *token = GenerateToken();
  std::string tmp = path + ".tmp" + std::to_string(::getpid());
  mode_t old_mask = ::umask(077);
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << *token << "\n";
    out.close();
    if (!out) {
      ::umask(old_mask);
      *error = "cannot write the auth token file " + path;
      return false;
    }
  }
  ::umask(old_mask);
  fs::permissions(tmp, fs::perms::owner_read | fs::perms::owner_write, ec);
  // Another process may have created it meanwhile: theirs wins.
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    fs::remove(tmp, ec);
    return ReadTokenFile(path, token, error);
  }
  fs::remove(tmp, ec);
  *created = true;
  return true;
}

std::string Sha256(const std::string& data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  // OpenSSL's one-shot SHA-256; its EVP interface would load the provider
  // machinery into every process for this one hash.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  SHA256_CTX ctx;  // (the one-shot SHA256() goes through EVP in OpenSSL 3)
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, data.data(), data.size());
  SHA256_Final(digest, &ctx);
#pragma GCC diagnostic pop
  return std::string(reinterpret_cast<char*>(digest), sizeof(digest));
}

std::string HmacSha256(const std::string& key, const std::string& message) {
  // RFC 2104 over SHA-256 (64-byte blocks); checked against RFC 4231's vectors.
  constexpr size_t kBlock = 64;
  std::string k = key.size() > kBlock ? Sha256(key) : key;
  k.resize(kBlock, '\0');
  std::string inner(kBlock, '\0'), outer(kBlock, '\0');
  for (size_t i = 0; i < kBlock; ++i) {
    inner[i] = static_cast<char>(k[i] ^ 0x36);
    outer[i] = static_cast<char>(k[i] ^ 0x5c);
  }
  return Sha256(outer + Sha256(inner + message));
}

std::string Proof(const std::string& token, const std::string& label, const std::string& a,
                  const std::string& b) {
  std::string data = label;
  data.push_back('\0');
  data += a;
  data += b;
  return HmacSha256(token, data);
}

bool ConstantTimeEqual(const std::string& x, const std::string& y) {
  if (x.size() != y.size()) return false;
  return CRYPTO_memcmp(x.data(), y.data(), x.size()) == 0;
}

}  // namespace ray::auth
