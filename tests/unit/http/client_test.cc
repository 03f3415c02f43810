// The HTTP client over TLS against a loopback server with a certificate from a throwaway
// authority: who it trusts, which names it accepts, and what it says when it refuses.
#include "broker/http/client.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "tests/support/api.h"
#include "tests/support/broker_process.h"
#include "tests/support/test_certificates.h"
#include "tests/support/webhook_sink.h"

namespace {

using bridgeline::http::ClientTls;
using bridgeline::http::HttpClient;
using bridgeline::http::HttpClientPool;
using bridgeline::http::IsLoopbackHost;
using bridgeline::http::ParseHttpUrl;
using bridgeline::testing::BrokerProcess;
using bridgeline::testing::Eventually;
using bridgeline::testing::TestAuthority;
using bridgeline::testing::WebhookSink;
using namespace std::chrono_literals;

std::shared_ptr<ClientTls> Trusting(const std::string& ca_file) {
  auto trust = ClientTls::Load(ca_file);
  REQUIRE(trust.ok());
  return *trust;
}

}  // namespace

TEST_CASE("URLs name http or https, with each scheme's own port", "[http][client]") {
  auto https = ParseHttpUrl("https://hooks.globex.example/bridgeline?v=1");
  REQUIRE(https.ok());
  CHECK(https->tls);
  CHECK(https->port == 443);
  CHECK(https->host == "hooks.globex.example");
  CHECK(https->target == "/bridgeline?v=1");
  auto http = ParseHttpUrl("http://127.0.0.1");
  REQUIRE(http.ok());
  CHECK_FALSE(http->tls);
  CHECK(http->port == 80);
  CHECK(http->target == "/");
  auto own_port = ParseHttpUrl("https://[::1]:8443/x");
  REQUIRE(own_port.ok());
  CHECK(own_port->port == 8443);
  CHECK(own_port->host == "::1");

  auto ftp = ParseHttpUrl("ftp://files.example/", "settings.url");
  REQUIRE_FALSE(ftp.ok());
  CHECK(ftp.status().field() == "settings.url");
  CHECK_THAT(ftp.status().message(), Catch::Contains("neither http:// nor https://"));
  CHECK_FALSE(ParseHttpUrl("https:///nohost").ok());

  CHECK(IsLoopbackHost("localhost"));
  CHECK(IsLoopbackHost("127.0.0.1"));
  CHECK(IsLoopbackHost("127.8.9.10"));
  CHECK(IsLoopbackHost("::1"));
  CHECK_FALSE(IsLoopbackHost("10.0.0.1"));
  CHECK_FALSE(IsLoopbackHost("hooks.globex.example"));
}

TEST_CASE("a CA file that cannot be used is refused, naming the field", "[http][client]") {
  const std::string dir = BrokerProcess::TempDir("client-ca-file");
  auto missing = ClientTls::Load(dir + "/nowhere.pem", "tls.ca_file");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().field() == "tls.ca_file");
  CHECK_THAT(missing.status().message(), Catch::Contains("cannot read") &&
                                             Catch::Contains("nowhere.pem") &&
                                             Catch::Contains("No such file"));
  std::ofstream(dir + "/empty.pem") << "not a certificate\n";
  auto empty = ClientTls::Load(dir + "/empty.pem", "tls.ca_file");
  REQUIRE_FALSE(empty.ok());
  CHECK_THAT(empty.status().message(), Catch::Contains("holds no PEM certificate"));
  CHECK(ClientTls::Load("").ok());  // the system's authorities
  std::filesystem::remove_all(dir);
}

TEST_CASE("over https the client talks only to a server its authorities vouch for by name",
          "[http][client][tls]") {
  const std::string dir = BrokerProcess::TempDir("client-tls");
  TestAuthority authority(dir);
  WebhookSink sink(authority.Issue("loopback", "IP:127.0.0.1,DNS:localhost"));

  SECTION("a server whose certificate names the IP address or the host name dialled") {
    for (const std::string host : {"127.0.0.1", "localhost"}) {
      HttpClient client(host, sink.port(), 5s, true, Trusting(authority.certificate_file()));
      auto first = client.Request("POST", "/hooks", R"({"n":1})");
      INFO(host << ": " << first.error);
      CHECK(first.status == 200);
      // The connection is kept and reused: a second request needs no second handshake.
      CHECK(client.Request("POST", "/hooks", R"({"n":2})").status == 200);
    }
    const auto requests = sink.Requests();
    REQUIRE(requests.size() == 4);
    CHECK(requests[1].body == R"({"n":2})");
    // Host names the port, which is not https' own (RFC 9110).
    CHECK(requests[0].headers.at("host") == "127.0.0.1:" + std::to_string(sink.port()));
    CHECK(requests[2].headers.at("host") == "localhost:" + std::to_string(sink.port()));
    CHECK(sink.failed_handshakes() == 0);
  }
  SECTION("a pool shares its trust among its connections") {
    HttpClientPool pool("127.0.0.1", sink.port(), 5s, Trusting(authority.certificate_file()));
    CHECK(pool.Request("GET", "/").status == 200);
    CHECK(pool.Request("GET", "/").status == 200);
    CHECK(sink.count() == 2);
  }
  SECTION("a certificate for other names is refused, and nothing is sent") {
    WebhookSink other(authority.Issue("elsewhere", "DNS:hooks.globex.example,IP:10.9.8.7"));
    HttpClient by_address("127.0.0.1", other.port(), 5s, true,
                          Trusting(authority.certificate_file()));
    auto refused = by_address.Request("POST", "/hooks", "{}");
    CHECK(refused.status == 0);
    CHECK(refused.certificate_refused);
    CHECK_THAT(refused.error, Catch::Contains("TLS with 127.0.0.1:") &&
                                  Catch::Contains("certificate verify failed") &&
                                  Catch::Contains("IP address mismatch"));
    HttpClient by_name("localhost", other.port(), 5s, true, Trusting(authority.certificate_file()));
    auto refused_by_name = by_name.Request("POST", "/hooks", "{}");
    CHECK(refused_by_name.certificate_refused);
    CHECK_THAT(refused_by_name.error, Catch::Contains("hostname mismatch"));
    CHECK(other.count() == 0);
  }
  SECTION("a server signed by an authority not trusted is refused") {
    const std::string elsewhere = dir + "/elsewhere";
    std::filesystem::create_directories(elsewhere);
    TestAuthority stranger(elsewhere);
    HttpClient client("127.0.0.1", sink.port(), 5s, true, Trusting(stranger.certificate_file()));
    auto refused = client.Request("GET", "/");
    CHECK(refused.certificate_refused);
    CHECK_THAT(refused.error, Catch::Contains("unable to get local issuer certificate"));
    // The system's authorities do not know the test's authority either.
    HttpClient system("127.0.0.1", sink.port(), 5s, true, Trusting(""));
    auto refused_by_system = system.Request("GET", "/");
    CHECK(refused_by_system.certificate_refused);
    CHECK(sink.count() == 0);
  }
  SECTION("to a server that asks for a client certificate, the client presents its own") {
    WebhookSink mutual(authority.Issue("mutual", "IP:127.0.0.1"), authority.certificate_file());
    auto presenting = Trusting(authority.certificate_file());
    const auto identity = authority.IssueClient("bridgeline");
    REQUIRE(presenting->Present(identity.certificate_file, identity.key_file).ok());
    HttpClient client("127.0.0.1", mutual.port(), 5s, true, presenting);
    auto accepted = client.Request("POST", "/hooks", "{}");
    INFO(accepted.error);
    CHECK(accepted.status == 200);
    // Without one, the server ends the handshake and nothing is sent.
    HttpClient anonymous("127.0.0.1", mutual.port(), 5s, false,
                         Trusting(authority.certificate_file()));
    auto refused = anonymous.Request("POST", "/hooks", "{}");
    CHECK(refused.status == 0);
    CHECK_FALSE(refused.error.empty());
    CHECK(mutual.count() == 1);
    // With TLS 1.3 the server refuses after the client's side of the handshake is done: its
    // count may lag the client's answer.
    CHECK(Eventually([&] { return mutual.failed_handshakes() == 1; }, 5s));
  }
  SECTION("a client certificate that cannot be used is refused, naming the file at fault") {
    auto client_tls = Trusting("");
    const auto identity = authority.IssueClient("bridgeline");
    const auto other = authority.IssueClient("other");
    auto missing = client_tls->Present(dir + "/nowhere.pem", identity.key_file);
    CHECK(missing.field() == "certificate_file");
    CHECK_THAT(missing.message(), Catch::Contains("nowhere.pem"));
    auto mismatched = client_tls->Present(identity.certificate_file, other.key_file);
    CHECK(mismatched.field() == "private_key_file");
    CHECK_THAT(mismatched.message(), Catch::Contains("key values mismatch"));
  }
  SECTION("reloaded, the client trusts what the CA file says now, on its next connection") {
    const std::string elsewhere = dir + "/elsewhere";
    std::filesystem::create_directories(elsewhere);
    TestAuthority rotated(elsewhere);
    WebhookSink rotated_sink(rotated.Issue("rotated", "IP:127.0.0.1"));
    const std::string ca_file = dir + "/trust.pem";
    std::filesystem::copy_file(authority.certificate_file(), ca_file);
    auto trust = Trusting(ca_file);
    HttpClient client("127.0.0.1", sink.port(), 5s, true, trust);
    REQUIRE(client.Request("GET", "/").status == 200);

    std::filesystem::copy_file(rotated.certificate_file(), ca_file,
                               std::filesystem::copy_options::overwrite_existing);
    // Read at Load and at Reload only: the kept connection and new ones still use what was.
    CHECK(client.Request("GET", "/").status == 200);
    CHECK(HttpClient("127.0.0.1", sink.port(), 5s, true, trust).Request("GET", "/").status == 200);
    REQUIRE(trust->Reload().ok());
    // The kept connection is not reused: the next request makes a new one, under the new trust.
    auto refused = client.Request("GET", "/");
    CHECK(refused.certificate_refused);
    CHECK_THAT(refused.error, Catch::Contains("unable to get local issuer certificate"));
    CHECK(sink.count() == 3);
    CHECK(
        HttpClient("127.0.0.1", rotated_sink.port(), 5s, true, trust).Request("GET", "/").status ==
        200);

    std::ofstream(ca_file, std::ios::trunc) << "half-written\n";
    const auto unreadable = trust->Reload();
    CHECK(unreadable.field() == "ca_file");
    CHECK_THAT(unreadable.message(), Catch::Contains("holds no PEM certificate"));
    // What was loaded last stays in use.
    CHECK(
        HttpClient("127.0.0.1", rotated_sink.port(), 5s, true, trust).Request("GET", "/").status ==
        200);
    CHECK(rotated_sink.count() == 2);
  }
  SECTION("reloaded, the client still presents its certificate, read again") {
    WebhookSink mutual(authority.Issue("mutual", "IP:127.0.0.1"), authority.certificate_file());
    const auto first = authority.IssueClient("bridgeline");
    const auto renewed = authority.IssueClient("bridgeline-renewed");
    auto presenting = Trusting(authority.certificate_file());
    REQUIRE(presenting->Present(first.certificate_file, first.key_file).ok());
    HttpClient client("127.0.0.1", mutual.port(), 5s, true, presenting);
    REQUIRE(client.Request("GET", "/").status == 200);
    // The renewal lands where the old files were, certificate first: a reload between the two
    // copies finds a key that does not match, and keeps the pair it had.
    std::filesystem::copy_file(renewed.certificate_file, first.certificate_file,
                               std::filesystem::copy_options::overwrite_existing);
    const auto torn = presenting->Reload();
    CHECK(torn.field() == "private_key_file");
    CHECK_THAT(torn.message(), Catch::Contains("key values mismatch"));
    std::filesystem::copy_file(renewed.key_file, first.key_file,
                               std::filesystem::copy_options::overwrite_existing);
    REQUIRE(presenting->Reload().ok());
    auto accepted = client.Request("GET", "/");
    INFO(accepted.error);
    CHECK(accepted.status == 200);
    CHECK(mutual.count() == 2);
    CHECK(mutual.failed_handshakes() == 0);
  }
  SECTION("plain HTTP to the TLS server gets no answer, and neither does TLS to a plain one") {
    HttpClient plain("127.0.0.1", sink.port(), 2s, false);
    auto unanswered = plain.Request("GET", "/");
    CHECK(unanswered.status == 0);
    WebhookSink plain_sink;
    HttpClient client("127.0.0.1", plain_sink.port(), 2s, false,
                      Trusting(authority.certificate_file()));
    auto mismatched = client.Request("GET", "/");
    CHECK(mismatched.status == 0);
    CHECK_THAT(mismatched.error, Catch::Contains("TLS with 127.0.0.1:"));
    CHECK_FALSE(mismatched.certificate_refused);
    CHECK(plain_sink.count() == 0);
  }
  std::filesystem::remove_all(dir);
}
