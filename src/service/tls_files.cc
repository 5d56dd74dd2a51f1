#include "service/tls_files.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "service/grpc_server.h"

namespace skyprobe {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

absl::Status Read(const char* flag, const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat(flag, " ", path, ": ", strerror(errno)));
  std::ostringstream buf;
  buf << in.rdbuf();
  *out = buf.str();
  return absl::OkStatus();
}

std::unique_ptr<BIO, BioFree> Bio(const std::string& pem) {
  return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// The first certificate of a PEM file (a chain's leaf), or null.
std::unique_ptr<X509, X509Free> FirstCertificate(const std::string& pem) {
  auto bio = Bio(pem);
  std::unique_ptr<X509, X509Free> x(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return x;
}

}  // namespace

absl::Status CheckTlsFiles(const ServiceOptions& options) {
  if (options.tls_cert_file.empty() || options.tls_key_file.empty()) return absl::OkStatus();
  std::string cert_pem, key_pem;
  if (absl::Status s = Read("--grpc-tls-cert", options.tls_cert_file, &cert_pem); !s.ok()) return s;
  if (absl::Status s = Read("--grpc-tls-key", options.tls_key_file, &key_pem); !s.ok()) return s;
  std::unique_ptr<X509, X509Free> cert = FirstCertificate(cert_pem);
  if (cert == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--grpc-tls-cert ", options.tls_cert_file,
                     ": not a certificate (no PEM CERTIFICATE in it)"));
  }
  auto bio = Bio(key_pem);
  // No passphrase callback: gRPC cannot use an encrypted key either.
  static pem_password_cb* const kNoPassphrase = [](char*, int, int, void*) { return 0; };
  std::unique_ptr<EVP_PKEY, KeyFree> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, kNoPassphrase, nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--grpc-tls-key ", options.tls_key_file,
                     ": not a private key (no unencrypted PEM private key in it)"));
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(
        "--grpc-tls-key ", options.tls_key_file,
        ": not the key of the certificate in --grpc-tls-cert ", options.tls_cert_file));
  }
  if (!options.tls_client_ca_file.empty()) {
    std::string ca_pem;
    if (absl::Status s = Read("--grpc-tls-client-ca", options.tls_client_ca_file, &ca_pem);
        !s.ok()) {
      return s;
    }
    if (FirstCertificate(ca_pem) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("--grpc-tls-client-ca ", options.tls_client_ca_file,
                       ": not a certificate (no PEM CERTIFICATE in it)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace skyprobe
