// Cluster authentication settings and the primitives of the connection
// handshake (net.h). No CAF here: plain C++ over OpenSSL's SHA-256 and the
// kernel's random generator.
//
// A cluster has one shared secret, its auth token. Where a process finds it,
// first match wins (Ray's names):
//   1. an explicit token (RayConfig::redis_password, `--redis-password`),
//   2. RAY_AUTH_TOKEN,
//   3. the file at RAY_AUTH_TOKEN_PATH (unreadable: an error, not a fallback),
//   4. ~/.ray/auth_token.
// RAY_AUTH_MODE=token (default) or disabled. The token never crosses the
// wire: peers prove they hold it with HMAC-SHA256 over fresh nonces. Whoever
// sees one proof can still test guesses offline (100,001 took 0.19 s), so a
// token shorter than kMinTokenLength is refused wherever it comes from;
// generated tokens have 64 characters.
#ifndef RAY_ACTORS_COMMON_AUTH_H_
#define RAY_ACTORS_COMMON_AUTH_H_

#include <string>

namespace ray::auth {

enum class Mode { kToken, kDisabled };

/// The fewest characters a token may have (16 random ones are ~95 bits).
constexpr size_t kMinTokenLength = 16;

struct Settings {
  Mode mode = Mode::kToken;
  std::string token;   // empty: none found (mode kToken) or not needed (kDisabled)
  std::string source;  // where it came from, for messages ("RAY_AUTH_TOKEN", a path, ...)
};

/// Reads RAY_AUTH_MODE and the token sources above. False, with `*error`
/// naming the variable or file, for an unknown mode, an unreadable
/// RAY_AUTH_TOKEN_PATH or a token shorter than kMinTokenLength (of the
/// source that won). Finding no token is not an error here.
bool Resolve(const std::string& explicit_token, Settings* out, std::string* error);

/// Empty when `token` is long enough; else the line that says why it is
/// refused, naming `source` (an option, a variable or a file).
std::string CheckTokenLength(const std::string& token, const std::string& source);

/// $HOME/.ray/auth_token (empty when HOME is unset).
std::string DefaultTokenPath();

/// 32 random bytes from the kernel's CSPRNG (getrandom), hex-encoded (256 bits).
std::string GenerateToken();

/// Reads the token at `path`, or creates it (mode 0600, its directory 0700)
/// when the file does not exist. `*created` tells which.
bool EnsureTokenFile(const std::string& path, std::string* token, bool* created,
                     std::string* error);

/// SHA-256 of `data`, 32 raw bytes.
std::string Sha256(const std::string& data);

/// HMAC-SHA256 (RFC 2104) of `message` under `key`, 32 raw bytes.
std::string HmacSha256(const std::string& key, const std::string& message);

/// HMAC-SHA256(token, label || 0 || a || b), 32 raw bytes.
std::string Proof(const std::string& token, const std::string& label, const std::string& a,
                  const std::string& b);

/// Compares in time that depends only on the lengths.
bool ConstantTimeEqual(const std::string& x, const std::string& y);

/// Random bytes for nonces.
std::string RandomBytes(size_t n);

/// The line a user sees when a cluster wants a token this process lacks.
std::string MissingTokenHint();

}  // namespace ray::auth

#endif  // RAY_ACTORS_COMMON_AUTH_H_
