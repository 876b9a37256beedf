// `ray create-tls-certs DIR`: a cluster CA and one certificate for its nodes,
// drivers and workers, so that mutual TLS takes two commands (README, "Security").
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <boost/program_options.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "tools/ray/commands.h"

namespace po = boost::program_options;

namespace ray::cli {
namespace {

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* c) const { X509_free(c); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext) {
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
}

/// A certificate for `key` named `cn`, signed by `issuer_key` (self-signed when `issuer` is null).
Cert MakeCert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key, bool ca,
              long serial, int days) {
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 60L * 60 * 24 * days);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("ray-caf cluster"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509* signer = issuer ? issuer : cert.get();
  AddExtension(cert.get(), signer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
  AddExtension(cert.get(), signer, NID_key_usage,
               ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature,keyAgreement");
  if (!ca) AddExtension(cert.get(), signer, NID_ext_key_usage, "serverAuth,clientAuth");
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) return nullptr;
  return cert;
}

bool WritePem(const std::string& path, X509* cert, EVP_PKEY* key, std::string* error) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) {
    *error = "cannot write " + path;
    return false;
  }
  if (key) chmod(path.c_str(), 0600);
  bool ok = cert ? PEM_write_X509(f, cert) == 1
                 : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  ok = std::fclose(f) == 0 && ok;
  if (!ok) *error = "cannot write " + path;
  return ok;
}

}  // namespace

int CreateTlsCertsCommand(int argc, char** argv) {
  po::options_description desc(
      "Usage: ray create-tls-certs DIR [--days N]\n"
      "Writes DIR/ca.crt and DIR/ca.key (the cluster's CA) and DIR/node.crt and DIR/node.key\n"
      "(a certificate of that CA for every node, driver and worker). Then, on every host:\n"
      "  RAY_USE_TLS=1 RAY_TLS_SERVER_CERT=DIR/node.crt RAY_TLS_SERVER_KEY=DIR/node.key\n"
      "  RAY_TLS_CA_CERT=DIR/ca.crt   (keep ca.key off the cluster's hosts)");
  std::string dir;
  int days = 365;
  desc.add_options()("help,h", "show this help")("dir", po::value(&dir), "output directory")(
      "days", po::value(&days)->default_value(365), "validity of the certificates in days");
  po::positional_options_description pos;
  pos.add("dir", 1);
  po::variables_map vm;
  if (int code = ParseOptions("create-tls-certs", desc, argc, argv, &vm, &pos); code >= 0) return code;
  if (dir.empty()) return Fail("create-tls-certs", "give the output directory: ray create-tls-certs DIR", kExitUsage);
  if (days <= 0) return Fail("create-tls-certs", "--days must be positive", kExitUsage);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Fail("create-tls-certs", "cannot create " + dir + ": " + ec.message(), kExitFailure);
  for (const char* name : {"ca.crt", "ca.key", "node.crt", "node.key"}) {
    if (std::filesystem::exists(dir + "/" + name)) {
      return Fail("create-tls-certs", dir + "/" + name + " exists; not overwriting it", kExitFailure);
    }
  }
  // EC P-256: accepted at OpenSSL's default security level, and small.
  Key ca_key(EVP_EC_gen("P-256"));
  Key node_key(EVP_EC_gen("P-256"));
  if (!ca_key || !node_key) return Fail("create-tls-certs", "cannot generate keys", kExitFailure);
  Cert ca = MakeCert(ca_key.get(), "ray-caf cluster CA", nullptr, ca_key.get(), true, 1, days);
  Cert node = ca ? MakeCert(node_key.get(), "ray-caf node", ca.get(), ca_key.get(), false, 2, days)
                 : nullptr;
  if (!ca || !node) return Fail("create-tls-certs", "cannot sign the certificates", kExitFailure);
  std::string error;
  if (!WritePem(dir + "/ca.key", nullptr, ca_key.get(), &error) ||
      !WritePem(dir + "/ca.crt", ca.get(), nullptr, &error) ||
      !WritePem(dir + "/node.key", nullptr, node_key.get(), &error) ||
      !WritePem(dir + "/node.crt", node.get(), nullptr, &error)) {
    return Fail("create-tls-certs", error, kExitFailure);
  }
  std::cout << "Wrote " << dir << "/{ca.crt,ca.key,node.crt,node.key}. On every host of the cluster:\n"
            << "  export RAY_USE_TLS=1 RAY_TLS_SERVER_CERT=" << dir << "/node.crt RAY_TLS_SERVER_KEY="
            << dir << "/node.key RAY_TLS_CA_CERT=" << dir << "/ca.crt\n"
            << "Keep ca.key off the cluster's hosts: with it anyone can make certificates it accepts."
            << std::endl;
  return 0;
}

}  // namespace ray::cli
