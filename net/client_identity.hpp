#pragma once
// The identity of a CAF client, taken from its TLS certificate.
#include <string>
#include <vector>

#include <openssl/x509.h>

namespace authsvc::net {

/// The names a certificate carries: its subject CN first, then every
/// subjectAltName of type DNS, URI or email, in certificate order.
std::vector<std::string> certificate_names(X509* cert);

/// Checks a presented certificate against `caf.allowed_clients`.
/// @returns the matched name (the identity recorded in audit events), or an
/// empty string when the certificate is not allowed. `"*"` in `allowed`
/// admits any certificate (the CA already vouched for it); its identity is
/// then the first name.
std::string allowed_identity(const std::vector<std::string>& names,
                             const std::vector<std::string>& allowed);

} // namespace authsvc::net
