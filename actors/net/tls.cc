// TLS settings of the process: where they come from, checking the PEM files
// before anything listens, and a workaround for CAF 0.17's openssl sessions.
#include <dlfcn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "actors/net/net.h"

namespace ray::net {
namespace {

std::mutex tls_mu;
TlsSettings tls_settings;  // GUARDED_BY(tls_mu)

}  // namespace

namespace {

bool EnvTrue(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return false;
  std::string s = v;
  return s == "1" || s == "true" || s == "True" || s == "yes";
}

/// Why `path` (named `what`) is not usable PEM of the kind `load` reads; empty when it is.
template <class T, class Load, class Free>
std::string CheckPem(const std::string& what, const std::string& path, Load load, Free free_it,
                     T** out) {
  if (path.empty()) return what + " is not set (RAY_USE_TLS=1 needs a certificate, its key and the CA)";
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return what + "=" + path + ": cannot be read (" + std::strerror(errno) + ")";
  T* x = load(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (!x) return what + "=" + path + ": not a PEM file of the expected kind";
  if (out) {
    *out = x;
  } else {
    free_it(x);
  }
  return {};
}

}  // namespace

bool ResolveTls(const TlsSettings& flags, TlsSettings* out, std::string* error) {
  TlsSettings t;
  auto pick = [](const std::string& flag, const char* env) {
    if (!flag.empty()) return flag;
    const char* v = std::getenv(env);
    return std::string(v ? v : "");
  };
  t.cert = pick(flags.cert, "RAY_TLS_SERVER_CERT");
  t.key = pick(flags.key, "RAY_TLS_SERVER_KEY");
  t.ca = pick(flags.ca, "RAY_TLS_CA_CERT");
  t.enabled = flags.enabled || !flags.cert.empty() || !flags.key.empty() || !flags.ca.empty() ||
              EnvTrue("RAY_USE_TLS");
  *out = t;
  if (!t.enabled) return true;
  X509* cert = nullptr;
  EVP_PKEY* key = nullptr;
  std::string why = CheckPem<X509>("RAY_TLS_SERVER_CERT", t.cert, PEM_read_X509, X509_free, &cert);
  if (why.empty()) {
    why = CheckPem<EVP_PKEY>("RAY_TLS_SERVER_KEY", t.key, PEM_read_PrivateKey, EVP_PKEY_free, &key);
  }
  if (why.empty()) {
    why = CheckPem<X509>("RAY_TLS_CA_CERT", t.ca, PEM_read_X509, X509_free, nullptr);
  }
  if (why.empty() && X509_check_private_key(cert, key) != 1) {
    why = "RAY_TLS_SERVER_KEY=" + t.key + " is not the key of RAY_TLS_SERVER_CERT=" + t.cert;
  }
  if (cert) X509_free(cert);
  if (key) EVP_PKEY_free(key);
  if (!why.empty()) {
    *error = "TLS: " + why;
    return false;
  }
  return true;
}

void SetTls(const TlsSettings& settings) {
  std::lock_guard<std::mutex> lock(tls_mu);
  tls_settings = settings;
}

const TlsSettings& Tls() {
  std::lock_guard<std::mutex> lock(tls_mu);
  return tls_settings;
}

}  // namespace ray::net

// OpenSSL requires the thread's error queue to be empty before each TLS I/O
// call, or SSL_get_error() reports an error left by an earlier call, possibly
// on another connection. CAF 0.17's openssl sessions do not clear it; all of a
// process's connections share the middleman thread, so the reset of one peer
// (a killed worker) made the next SSL_read of a healthy connection fail, and
// CAF closed that connection. These definitions come first in the process's
// symbol lookup; they clear the queue and call OpenSSL's own.
namespace {
template <class Fn>
Fn RealSsl(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}
}  // namespace

extern "C" int SSL_read(SSL* ssl, void* buf, int num) {
  static auto real = RealSsl<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return real(ssl, buf, num);
}

extern "C" int SSL_write(SSL* ssl, const void* buf, int num) {
  static auto real = RealSsl<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return real(ssl, buf, num);
}

extern "C" int SSL_accept(SSL* ssl) {
  static auto real = RealSsl<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  return real(ssl);
}

extern "C" int SSL_connect(SSL* ssl) {
  static auto real = RealSsl<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return real(ssl);
}
