// A throwaway certificate authority for TLS tests on loopback, made with the openssl command:
// its certificate, for clients to trust, and server certificates it signs.
#pragma once

#include <string>

namespace bridgeline::testing {

// A certificate chain and its private key (PEM files).
struct CertificateFiles {
  std::string certificate_file;
  std::string key_file;
};

class TestAuthority {
 public:
  // Creates the authority's key and self-signed certificate in `dir`, which must exist. Throws
  // std::runtime_error when the openssl command fails.
  explicit TestAuthority(std::string dir);

  // The authority's certificate: the CA file a client that trusts it is given.
  const std::string& certificate_file() const { return certificate_file_; }

  // A server certificate signed by this authority, valid for the subjectAltName entries in
  // `alt_names` ("IP:127.0.0.1,DNS:localhost"); files named after `name` in the same directory.
  CertificateFiles Issue(const std::string& name, const std::string& alt_names) const;
  // A client certificate (for mutual TLS) signed by this authority.
  CertificateFiles IssueClient(const std::string& name) const;

 private:
  CertificateFiles Sign(const std::string& name, const std::string& extensions) const;

  std::string dir_;
  std::string certificate_file_;
  std::string key_file_;
};

}  // namespace bridgeline::testing
