#include "tests/support/test_certificates.h"

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace bridgeline::testing {
namespace {

void Run(const std::string& command) {
  if (std::system((command + " >/dev/null 2>&1").c_str()) != 0)
    throw std::runtime_error("failed: " + command);
}

// P-256 keys: quick to make, and what most servers present today.
constexpr const char* kNewKey = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";

}  // namespace

TestAuthority::TestAuthority(std::string dir)
    : dir_(std::move(dir)),
      certificate_file_(dir_ + "/test-ca.pem"),
      key_file_(dir_ + "/test-ca.key") {
  Run(std::string("openssl req -x509 ") + kNewKey +
      " -days 2 -subj /CN=Bridgeline-Test-CA -keyout " + key_file_ + " -out " + certificate_file_);
}

CertificateFiles TestAuthority::Issue(const std::string& name, const std::string& alt_names) const {
  return Sign(name, "subjectAltName=" + alt_names + "\nextendedKeyUsage=serverAuth\n");
}

CertificateFiles TestAuthority::IssueClient(const std::string& name) const {
  return Sign(name, "extendedKeyUsage=clientAuth\n");
}

CertificateFiles TestAuthority::Sign(const std::string& name, const std::string& extensions) const {
  const std::string base = dir_ + "/" + name;
  CertificateFiles issued{base + ".pem", base + ".key"};
  Run(std::string("openssl req ") + kNewKey + " -subj /CN=" + name + " -keyout " + issued.key_file +
      " -out " + base + ".csr");
  std::ofstream(base + ".ext") << extensions;
  Run("openssl x509 -req -in " + base + ".csr -CA " + certificate_file_ + " -CAkey " + key_file_ +
      " -CAcreateserial -days 2 -extfile " + base + ".ext -out " + issued.certificate_file);
  return issued;
}

}  // namespace bridgeline::testing
