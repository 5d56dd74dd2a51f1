// tls_files.h: the service's TLS files checked before it starts, so that a
// bad certificate or key is named as such (gRPC itself only fails to bind).
//
// Owner: the main thread, at start-up (no state).
//
//   absl::Status s = CheckTlsFiles(ServiceOptionsFromConfig(cfg));
//   if (!s.ok()) ... // "--grpc-tls-key k.pem: does not match the certificate ..."
#pragma once

#include "absl/status/status.h"

namespace skyprobe {

struct ServiceOptions;

// INVALID_ARGUMENT naming the flag and file when --grpc-tls-cert holds no
// PEM certificate, --grpc-tls-key no PEM private key (or an encrypted one)
// or a key that is not the certificate's, or --grpc-tls-client-ca no PEM
// certificate; a file that cannot be read is named with its error. OK when
// TLS is off.
absl::Status CheckTlsFiles(const ServiceOptions& options);

}  // namespace skyprobe
