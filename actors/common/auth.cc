#include "actors/common/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

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
  return true;
}

}  // namespace

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("OpenSSL's random generator failed");
  }
  return out;
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
    return true;
  }
  if (const char* env = std::getenv("RAY_AUTH_TOKEN"); env && *env) {
    out->token = Trim(env);
    out->source = "RAY_AUTH_TOKEN";
    return true;
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

std::string Proof(const std::string& token, const std::string& label, const std::string& a,
                  const std::string& b) {
  std::string data = label;
  data.push_back('\0');
  data += a;
  data += b;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), token.data(), static_cast<int>(token.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return std::string(reinterpret_cast<char*>(mac), len);
}

bool ConstantTimeEqual(const std::string& x, const std::string& y) {
  if (x.size() != y.size()) return false;
  return CRYPTO_memcmp(x.data(), y.data(), x.size()) == 0;
}

}  // namespace ray::auth
