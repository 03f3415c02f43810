// The webhook connector against a receiver that fails on purpose: signed deliveries, retries
// through 500, 429 with Retry-After and timeouts, in order per case; dead letters and their
// replay; the circuit breaker; signed inbound changes, with forgeries and replays refused; and
// deliveries resuming after kill -9.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "bridgeline/v1/api.pb.h"
#include "broker/http/client.h"
#include "tests/support/api.h"
#include "tests/support/broker_process.h"
#include "tests/support/test_certificates.h"
#include "tests/support/webhook_sink.h"

namespace {

using bridgeline::http::HttpClient;
using bridgeline::http::HttpResponse;
using bridgeline::testing::BrokerProcess;
using bridgeline::testing::EscalationJson;
using bridgeline::testing::Eventually;
using bridgeline::testing::MetricValue;
using bridgeline::testing::ParseJson;
using bridgeline::testing::ProblemField;
using bridgeline::testing::RunBridgeline;
using bridgeline::testing::SinkAnswer;
using bridgeline::testing::SinkRequest;
using bridgeline::testing::TestAuthority;
using bridgeline::testing::WebhookSink;
namespace v1 = bridgeline::v1;
using Headers = std::map<std::string, std::string>;
using namespace std::chrono_literals;

const Headers kOutsourcer = {{"Authorization", "Bearer demo-outsourcer-token"}};
const Headers kOps = {{"Authorization", "Bearer demo-ops-token"}};
// The Standard Webhooks documentation's example secret (24 bytes).
const std::string kSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

// The example config with a `globex-hook` webhook to `url` added to the Globex contract.
std::string WebhookConfigTo(const std::string& dir, const std::string& url,
                            const std::string& delivery, const std::string& more_settings = "") {
  const std::string connector =
      "  - name: globex-hook\n    type: webhook\n    settings:\n"
      "      url: " +
      url + "\n      secret: " + kSecret + "\n      timeout: 500ms\n" + more_settings +
      "    delivery: " + delivery + "\n";
  return BrokerProcess::ConfigVariant(
      BrokerProcess::ExampleConfig(), dir,
      {{"  # Breach notices for the duty managers", connector + "  # Breach notices for the"
                                                                " duty managers"},
       {"connectors: [globex-desk]", "connectors: [globex-desk, globex-hook]"}});
}

// The same, to a WebhookSink on loopback over plain HTTP.
std::string WebhookConfig(const std::string& dir, unsigned short sink_port,
                          const std::string& delivery) {
  return WebhookConfigTo(dir, "http://127.0.0.1:" + std::to_string(sink_port) + "/hooks/bridgeline",
                         delivery);
}

std::string Base64(const unsigned char* bytes, std::size_t size) {
  std::string out(4 * ((size + 2) / 3) + 1, '\0');
  const int length =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes, static_cast<int>(size));
  out.resize(static_cast<std::size_t>(length));
  return out;
}

// Computed here from the specification, not with the broker's own code.
std::string ExpectedSignature(const std::string& id, const std::string& timestamp,
                              const std::string& body) {
  std::string secret = kSecret.substr(6);
  std::string key(secret.size(), '\0');
  int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(key.data()),
                               reinterpret_cast<const unsigned char*>(secret.data()),
                               static_cast<int>(secret.size()));
  key.resize(static_cast<std::size_t>(length));
  const std::string content = id + "." + timestamp + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac, &mac_length);
  return "v1," + Base64(mac, mac_length);
}

Headers Signed(const std::string& id, std::int64_t timestamp, const std::string& body) {
  return {{"Content-Type", "application/json"},
          {"webhook-id", id},
          {"webhook-timestamp", std::to_string(timestamp)},
          {"webhook-signature", ExpectedSignature(id, std::to_string(timestamp), body)}};
}

std::int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The log sequence a delivery carries: its webhook-id is "bl_<sequence>".
std::uint64_t SequenceOf(const SinkRequest& request) {
  const std::string& id = request.headers.at("webhook-id");
  REQUIRE(id.rfind("bl_", 0) == 0);
  return std::stoull(id.substr(3));
}

std::string CaseOf(const SinkRequest& request) {
  const auto at = request.body.find("\"case_id\":\"");
  REQUIRE(at != std::string::npos);
  const auto start = at + 11;
  return request.body.substr(start, request.body.find('"', start) - start);
}

v1::CaseView ReadCase(HttpClient& client, const std::string& id) {
  auto response = client.Request("GET", "/v1/escalations/" + id, {}, kOps);
  INFO(response.body);
  REQUIRE(response.status == 200);
  v1::CaseView view;
  REQUIRE(ParseJson(response.body, &view));
  return view;
}

std::string Escalate(HttpClient& client, const std::string& ticket) {
  auto created = client.Request("POST", "/v1/escalations",
                                EscalationJson(ticket, "SEV3", "Refund stuck"), kOutsourcer);
  INFO(created.body);
  REQUIRE(created.status == 201);
  v1::CaseView view;
  REQUIRE(ParseJson(created.body, &view));
  return view.id();
}

void Comment(HttpClient& client, const std::string& case_id, const std::string& note) {
  auto response = client.Request("POST", "/v1/escalations/" + case_id + "/events",
                                 R"({"type":"comment","note":")" + note + "\"}", kOutsourcer);
  INFO(response.body);
  REQUIRE(response.status == 200);
}

// The sequences of `case_id`'s events that the receiver answered 2xx, given which requests it
// answered so (by index).
std::set<std::uint64_t> Delivered(const std::vector<SinkRequest>& requests,
                                  const std::set<std::size_t>& accepted,
                                  const std::string& case_id) {
  std::set<std::uint64_t> delivered;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    if (accepted.count(i) && CaseOf(requests[i]) == case_id)
      delivered.insert(SequenceOf(requests[i]));
  }
  return delivered;
}

// Whether every event `case_id` has now was answered 2xx by the receiver.
bool AllDelivered(HttpClient& client, const WebhookSink& sink, std::mutex& mutex,
                  const std::set<std::size_t>& accepted, const std::string& case_id) {
  std::set<std::uint64_t> expected;
  const v1::CaseView view = ReadCase(client, case_id);
  for (const auto& event : view.events()) {
    // What the hook itself brought (its own forwarding, when it delivered the escalation
    // before the desk did) is not echoed back to it.
    if (event.connector() == "globex-hook" || event.actor().via() == "globex-hook") continue;
    expected.insert(event.sequence());
  }
  std::lock_guard lock(mutex);
  const auto delivered = Delivered(sink.Requests(), accepted, case_id);
  return delivered == expected;
}

std::string Series(const std::string& name, const std::string& labels) {
  return name + "{" + labels + "}";
}

}  // namespace

TEST_CASE("webhook deliveries are signed and retried in order through 500, 429 and a timeout",
          "[e2e][webhook]") {
  WebhookSink sink;
  std::mutex mutex;
  std::set<std::size_t> accepted;
  sink.SetScript([&](const SinkRequest&, std::size_t index) {
    SinkAnswer answer;
    if (index == 0) answer.status = 500;
    if (index == 1) answer = {429, {{"Retry-After", "1"}}, 0ms};
    if (index == 2) answer.delay = 1500ms;  // the broker gives up after 500 ms
    if (answer.status == 200) {
      std::lock_guard lock(mutex);
      accepted.insert(index);
    }
    return answer;
  });
  const std::string dir = BrokerProcess::TempDir("webhook-retry");
  BrokerProcess broker(
      WebhookConfig(dir, sink.port(),
                    "{ concurrency: 4, max_attempts: 10, first_backoff: 50ms, max_backoff: "
                    "200ms, breaker: { failures: 100 } }"),
      dir + "/data");
  HttpClient client("127.0.0.1", broker.port());
  const std::string case_id = Escalate(client, "T-500");
  for (int i = 0; i < 3; ++i) Comment(client, case_id, "comment " + std::to_string(i));

  // Every event of the case reaches the receiver with a 2xx answer: escalated, forwarded (by
  // whichever connector delivered first; a webhook without a remote reference adds none)
  // and three comments.
  REQUIRE(Eventually(
      [&] {
        return ReadCase(client, case_id).events_size() == 5 &&
               AllDelivered(client, sink, mutex, accepted, case_id);
      },
      15s));

  const auto requests = sink.Requests();
  REQUIRE(requests.size() >= 5 + 3);
  // In order: no event was sent before the one before it was done.
  for (std::size_t i = 1; i < requests.size(); ++i) {
    INFO("request " << i);
    CHECK(SequenceOf(requests[i]) >= SequenceOf(requests[i - 1]));
  }
  // The first event was tried four times (500, 429, the timeout, then 200) with one id.
  CHECK(SequenceOf(requests[3]) == SequenceOf(requests[0]));
  // Retry-After: 1 was honoured.
  CHECK(requests[2].at - requests[1].at >= 950ms);
  for (const auto& request : requests) {
    CHECK(request.target == "/hooks/bridgeline");
    CHECK(request.headers.at("content-type") == "application/json");
    CHECK(request.headers.at("webhook-signature") ==
          ExpectedSignature(request.headers.at("webhook-id"),
                            request.headers.at("webhook-timestamp"), request.body));
    CHECK(std::llabs(std::stoll(request.headers.at("webhook-timestamp")) - NowSeconds()) < 60);
  }
  CHECK_THAT(requests[0].body, Catch::StartsWith("{\"type\":\"case.escalated\"") &&
                                   Catch::Contains("\"data\":{\"event\":") &&
                                   Catch::Contains("\"case\":") &&
                                   !Catch::Contains("C-T-500@example.com"));
  CHECK(MetricValue(broker.port(), Series("bridgeline_deliveries_total",
                                          "connector=\"globex-hook\",result=\"retried\"")) >= 3);
  CHECK(MetricValue(broker.port(),
                    Series("bridgeline_outbox_depth", "connector=\"globex-hook\"")) == 0);
}

TEST_CASE("over https, deliveries go only to a receiver the configured authority vouches for",
          "[e2e][webhook][tls]") {
  const std::string dir = BrokerProcess::TempDir("webhook-tls");
  TestAuthority authority(dir);
  WebhookSink sink(authority.Issue("hook", "IP:127.0.0.1"));
  const std::string url = "https://127.0.0.1:" + std::to_string(sink.port()) + "/hooks/bridgeline";
  const std::string delivery =
      "{ concurrency: 2, first_backoff: 50ms, max_backoff: 200ms, breaker: { failures: 100 } }";

  SECTION("trusting the receiver's authority, every event arrives, signed") {
    BrokerProcess broker(
        WebhookConfigTo(dir, url, delivery,
                        "      tls: { ca_file: " + authority.certificate_file() + " }\n"),
        dir + "/data");
    HttpClient client("127.0.0.1", broker.port());
    const std::string case_id = Escalate(client, "T-TLS");
    // escalated, and forwarded by whichever connector delivered first.
    REQUIRE(Eventually(
        [&] {
          return ReadCase(client, case_id).events_size() == 2 &&
                 MetricValue(broker.port(),
                             Series("bridgeline_outbox_depth", "connector=\"globex-hook\"")) == 0;
        },
        10s));
    const auto requests = sink.Requests();
    REQUIRE(!requests.empty());
    for (const auto& request : requests) {
      CHECK(CaseOf(request) == case_id);
      CHECK(request.headers.at("webhook-signature") ==
            ExpectedSignature(request.headers.at("webhook-id"),
                              request.headers.at("webhook-timestamp"), request.body));
    }
    CHECK(sink.failed_handshakes() == 0);
    CHECK_THAT(broker.output(), !Catch::Contains("clear text"));
  }
  SECTION("trusting only the system's authorities, nothing is sent, and the log says why") {
    BrokerProcess broker(WebhookConfigTo(dir, url, delivery), dir + "/data");
    HttpClient client("127.0.0.1", broker.port());
    Escalate(client, "T-TLS-UNTRUSTED");
    REQUIRE(Eventually(
        [&] {
          const std::string output = broker.output();
          return output.find("TLS with 127.0.0.1:" + std::to_string(sink.port()) +
                             ": certificate verify failed") != std::string::npos &&
                 output.find("unable to get local issuer certificate") != std::string::npos;
        },
        10s));
    CHECK(sink.failed_handshakes() >= 1);
    CHECK(sink.count() == 0);
    // Kept for a retry once the receiver's certificate or the trust is put right.
    CHECK(MetricValue(broker.port(),
                      Series("bridgeline_outbox_depth", "connector=\"globex-hook\"")) >= 1);
  }
  SECTION("SIGHUP reads a corrected CA file, and what waited is delivered") {
    const std::string elsewhere = dir + "/elsewhere";
    std::filesystem::create_directories(elsewhere);
    TestAuthority stranger(elsewhere);
    const std::string ca_file = dir + "/trust.pem";
    std::filesystem::copy_file(stranger.certificate_file(), ca_file);
    BrokerProcess broker(
        WebhookConfigTo(dir, url, delivery, "      tls: { ca_file: " + ca_file + " }\n"),
        dir + "/data");
    HttpClient client("127.0.0.1", broker.port());
    const std::string case_id = Escalate(client, "T-TLS-ROTATED");
    REQUIRE(Eventually(
        [&] { return broker.output().find("certificate verify failed") != std::string::npos; },
        10s));

    std::ofstream(ca_file, std::ios::trunc) << "half-written\n";
    broker.Signal(SIGHUP);
    REQUIRE(Eventually(
        [&] {
          return broker.output().find("tls.ca_file: '" + ca_file + "' holds no PEM certificate") !=
                 std::string::npos;
        },
        10s));
    CHECK_THAT(broker.output(), Catch::Contains("SIGHUP: connector globex-hook: ") &&
                                    Catch::Contains("its TLS settings in use stay"));
    CHECK(sink.count() == 0);

    std::filesystem::copy_file(authority.certificate_file(), ca_file,
                               std::filesystem::copy_options::overwrite_existing);
    broker.Signal(SIGHUP);
    REQUIRE(sink.AwaitCount(1, 10s));
    CHECK(CaseOf(sink.Requests().front()) == case_id);
    CHECK(Eventually(
        [&] {
          return MetricValue(broker.port(),
                             Series("bridgeline_outbox_depth", "connector=\"globex-hook\"")) == 0;
        },
        10s));
    // Still serving: the signal reloaded, it did not stop the broker.
    CHECK(client.Request("GET", "/healthz").status == 200);
  }
  SECTION("a receiver that asks for a client certificate gets the one configured") {
    WebhookSink mutual(authority.Issue("mutual", "IP:127.0.0.1"), authority.certificate_file());
    const auto identity = authority.IssueClient("bridgeline");
    BrokerProcess broker(
        WebhookConfigTo(
            dir, "https://127.0.0.1:" + std::to_string(mutual.port()) + "/hooks/bridgeline",
            delivery,
            "      tls: { ca_file: " + authority.certificate_file() + ", certificate_file: " +
                identity.certificate_file + ", private_key_file: " + identity.key_file + " }\n"),
        dir + "/data");
    HttpClient client("127.0.0.1", broker.port());
    const std::string case_id = Escalate(client, "T-MTLS");
    REQUIRE(mutual.AwaitCount(1, 10s));
    CHECK(CaseOf(mutual.Requests().front()) == case_id);
    CHECK(mutual.failed_handshakes() == 0);
  }
  SECTION("a receiver on another machine over plain http is warned about at start") {
    // 192.0.2.0/24 is documentation space (RFC 5737): never a real receiver.
    BrokerProcess broker(WebhookConfigTo(dir, "http://192.0.2.10:8080/hook", delivery),
                         dir + "/data");
    CHECK_THAT(broker.output(),
               Catch::Contains("connector globex-hook: calls 192.0.2.10:8080 over plain http://") &&
                   Catch::Contains("clear text"));
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("a delivery the receiver refuses becomes a dead letter, and its replay delivers it",
          "[e2e][webhook]") {
  WebhookSink sink;
  std::atomic<bool> refuse{true};
  sink.SetScript([&](const SinkRequest&, std::size_t) {
    SinkAnswer answer;
    if (refuse) {
      answer.status = 422;
      // An error page in Latin-1 over several lines, longer than what a dead letter quotes:
      // quoted raw, it would be a string protobuf refuses to read back from the store.
      answer.body =
          "<html>\r\n<h1>Requ\xeate refus\xe9"
          "e</h1>\n" +
          std::string(400, 'x') + "</html>";
    }
    return answer;
  });
  const std::string dir = BrokerProcess::TempDir("webhook-dead");
  BrokerProcess broker(WebhookConfig(dir, sink.port(), "{ concurrency: 2 }"), dir + "/data");
  HttpClient client("127.0.0.1", broker.port());
  const std::string case_id = Escalate(client, "T-422");
  const std::string dead_series = Series("bridgeline_dead_letters", "connector=\"globex-hook\"");
  // escalated and forwarded (by the JSON-lines desk) are both refused, once each: 4xx is final.
  REQUIRE(Eventually([&] { return MetricValue(broker.port(), dead_series) == 2; }, 10s));
  CHECK(sink.count() == 2);

  auto listed = client.Request("GET", "/v1/dead-letters?connector=globex-hook", {}, kOps);
  INFO(listed.body);
  REQUIRE(listed.status == 200);
  v1::DeadLetterList list;
  REQUIRE(ParseJson(listed.body, &list));
  REQUIRE(list.dead_letters_size() == 2);
  const auto& first = list.dead_letters(0);
  CHECK(first.connector() == "globex-hook");
  CHECK(first.case_id() == case_id);
  CHECK(first.event().type() == v1::EventType::escalated);
  CHECK(first.attempts() == 1);
  CHECK_THAT(first.last_error(), Catch::Contains("answered 422: <html> <h1>Requ\xEF\xBF\xBDte"));
  CHECK(first.last_error().find('\n') == std::string::npos);
  CHECK(first.last_error().size() < 400);
  CHECK(first.id() == "globex-hook:" + std::to_string(first.event().sequence()));

  SECTION("refusals name what is wrong") {
    CHECK(client.Request("GET", "/v1/dead-letters", {}, kOutsourcer).status == 403);
    auto bad_limit = client.Request("GET", "/v1/dead-letters?limit=0", {}, kOps);
    CHECK(bad_limit.status == 400);
    CHECK(ProblemField(bad_limit, "field") == "limit");
    CHECK(client.Request("POST", "/v1/dead-letters/globex-hook:999999/replay", "", kOps).status ==
          404);
    auto malformed = client.Request("POST", "/v1/dead-letters/nonsense/replay", "", kOps);
    CHECK(malformed.status == 400);
    CHECK(client.Request("GET", "/v1/dead-letters/" + first.id() + "/replay", {}, kOps).status ==
          405);
  }
  SECTION("the list comes a page at a time, over the API and in bridgeline dlq") {
    auto page = [&](const std::string& query) {
      auto answer =
          client.Request("GET", "/v1/dead-letters?connector=globex-hook&" + query, {}, kOps);
      INFO(answer.body);
      REQUIRE(answer.status == 200);
      v1::DeadLetterList letters;
      REQUIRE(ParseJson(answer.body, &letters));
      return letters;
    };
    auto one = page("limit=1");
    REQUIRE(one.dead_letters_size() == 1);
    CHECK(one.dead_letters(0).id() == first.id());
    CHECK(one.next_cursor() == first.id());
    auto two = page("limit=1&cursor=" + one.next_cursor());
    REQUIRE(two.dead_letters_size() == 1);
    CHECK(two.dead_letters(0).id() == list.dead_letters(1).id());
    CHECK(two.next_cursor().empty());  // the last page
    CHECK(page("cursor=" + two.dead_letters(0).id()).dead_letters_size() == 0);
    auto bad_cursor = client.Request("GET", "/v1/dead-letters?cursor=nonsense", {}, kOps);
    CHECK(bad_cursor.status == 400);
    CHECK(ProblemField(bad_cursor, "field") == "cursor");

    const std::string cli =
        "dlq --url http://127.0.0.1:" + std::to_string(broker.port()) + " --token demo-ops-token ";
    auto [first_status, first_page] = RunBridgeline(cli + "list --limit 1");
    INFO(first_page);
    CHECK(first_status == 0);
    CHECK_THAT(first_page, Catch::Contains(first.id()) &&
                               Catch::Contains("more: bridgeline dlq list --after " + first.id()) &&
                               !Catch::Contains(list.dead_letters(1).id()));
    auto [next_status, next_page] = RunBridgeline(cli + "list --limit 1 --after " + first.id());
    INFO(next_page);
    CHECK(next_status == 0);
    CHECK_THAT(next_page, Catch::Contains(list.dead_letters(1).id()) && !Catch::Contains("more:"));
  }
  SECTION("bridgeline dlq lists them and replays them once the receiver accepts again") {
    const std::string cli =
        "dlq --url http://127.0.0.1:" + std::to_string(broker.port()) + " --token demo-ops-token ";
    auto [listed_status, table] = RunBridgeline(cli + "list");
    INFO(table);
    CHECK(listed_status == 0);
    CHECK_THAT(table, Catch::Contains(first.id()) && Catch::Contains("answered 422"));

    refuse = false;
    auto [replayed_status, replayed] = RunBridgeline(cli + "replay " + list.dead_letters(0).id() +
                                                     " " + list.dead_letters(1).id());
    INFO(replayed);
    CHECK(replayed_status == 0);
    REQUIRE(sink.AwaitCount(4, 10s));
    const auto requests = sink.Requests();
    CHECK(SequenceOf(requests[2]) == first.event().sequence());
    CHECK(SequenceOf(requests[3]) == list.dead_letters(1).event().sequence());
    CHECK(Eventually([&] { return MetricValue(broker.port(), dead_series) == 0; }, 5s));
    auto [empty_status, empty] = RunBridgeline(cli + "list");
    CHECK(empty_status == 0);
    CHECK_THAT(empty, Catch::Contains("no dead letters"));
    // A replayed letter is gone: replaying it again is 404.
    auto again = RunBridgeline(cli + "replay " + first.id());
    CHECK(again.first == 1);
    CHECK_THAT(again.second, Catch::Contains("404"));
  }
}

TEST_CASE("the circuit breaker stops calling a failing receiver, probes it, and closes",
          "[e2e][webhook]") {
  WebhookSink sink;
  std::atomic<bool> failing{true};
  sink.SetScript([&](const SinkRequest&, std::size_t) {
    SinkAnswer answer;
    if (failing) answer.status = 503;
    return answer;
  });
  const std::string dir = BrokerProcess::TempDir("webhook-breaker");
  // Retries every 10-20 ms would make a hundred calls in two seconds without the breaker.
  BrokerProcess broker(
      WebhookConfig(dir, sink.port(),
                    "{ concurrency: 1, max_attempts: 1000, first_backoff: 10ms, max_backoff: "
                    "20ms, breaker: { failures: 3, open_for: 1s } }"),
      dir + "/data");
  HttpClient client("127.0.0.1", broker.port());
  const std::string case_id = Escalate(client, "T-503");
  const std::string open_series =
      Series("bridgeline_connector_breaker_open", "connector=\"globex-hook\"");
  REQUIRE(Eventually([&] { return MetricValue(broker.port(), open_series) == 1; }, 5s));
  const std::size_t when_opened = sink.count();
  CHECK(when_opened >= 3);
  std::this_thread::sleep_for(2200ms);
  // Open for 1 s at a time: about one probe a second, not a hundred calls.
  CHECK(sink.count() - when_opened <= 4);
  CHECK(sink.count() - when_opened >= 1);

  failing = false;
  REQUIRE(Eventually([&] { return MetricValue(broker.port(), open_series) == 0; }, 5s));
  REQUIRE(Eventually(
      [&] {
        return MetricValue(broker.port(),
                           Series("bridgeline_outbox_depth", "connector=\"globex-hook\"")) == 0;
      },
      5s));
  CHECK(ReadCase(client, case_id).events_size() >= 2);
}

TEST_CASE("signed inbound changes apply once as the client; forgeries and replays are refused",
          "[e2e][webhook]") {
  WebhookSink sink;
  const std::string dir = BrokerProcess::TempDir("webhook-inbound");
  BrokerProcess broker(WebhookConfig(dir, sink.port(), "{ concurrency: 2 }"), dir + "/data");
  HttpClient client("127.0.0.1", broker.port());
  const std::string case_id = Escalate(client, "T-IN");
  REQUIRE(Eventually([&] { return ReadCase(client, case_id).status() == v1::FORWARDED; }, 5s));
  const std::string inbound = "/v1/connectors/globex-hook/inbound";
  const std::string body = R"({"case_id":")" + case_id +
                           R"(","type":"acknowledge","note":"on it","actor":{"person":"gina"}})";

  // Refused first, so nothing has changed when the genuine one arrives.
  SECTION("a forged signature is refused and changes nothing") {
    Headers forged = Signed("msg_forged", NowSeconds(), body);
    forged["webhook-signature"] =
        ExpectedSignature("msg_forged", forged["webhook-timestamp"], body + " ");
    auto refused = client.Request("POST", inbound, body, forged);
    CHECK(refused.status == 401);
    CHECK_THAT(ProblemField(refused, "detail"), Catch::Contains("signature"));
    Headers missing = Signed("msg_missing", NowSeconds(), body);
    missing.erase("webhook-signature");
    CHECK(client.Request("POST", inbound, body, missing).status == 401);
    CHECK(ReadCase(client, case_id).status() == v1::FORWARDED);
  }
  SECTION("a replay of an old message is refused by its timestamp") {
    auto stale = client.Request("POST", inbound, body, Signed("msg_old", NowSeconds() - 600, body));
    CHECK(stale.status == 401);
    CHECK_THAT(ProblemField(stale, "detail"), Catch::Contains("tolerance"));
    CHECK(ReadCase(client, case_id).status() == v1::FORWARDED);
  }
  SECTION("bad input names the field, and other cases and connectors are out of reach") {
    const std::string no_type = R"({"case_id":")" + case_id + R"("})";
    auto missing_type =
        client.Request("POST", inbound, no_type, Signed("msg_1", NowSeconds(), no_type));
    CHECK(missing_type.status == 400);
    CHECK(ProblemField(missing_type, "field") == "type");
    // A field given twice could be read either way; it is refused, not guessed at.
    const std::string twice =
        R"({"case_id":")" + case_id + R"(","type":"acknowledge","type":"resolve"})";
    auto repeated = client.Request("POST", inbound, twice, Signed("msg_4", NowSeconds(), twice));
    CHECK(repeated.status == 400);
    CHECK(ProblemField(repeated, "field") == "type");
    CHECK(ReadCase(client, case_id).status() == v1::FORWARDED);
    // An Initech case is not carried by Globex's connector.
    auto initech = client.Request(
        "POST", "/v1/escalations",
        R"({"contract":"northwind-initech","tier1_ticket_id":"T-INI","customer":{"id":"C-1","tier":"standard"},"category":"billing","product":"tps","region":"EU","severity":"SEV3","subject":"TPS","description":"x"})",
        kOutsourcer);
    REQUIRE(initech.status == 201);
    v1::CaseView other;
    REQUIRE(ParseJson(initech.body, &other));
    const std::string foreign = R"({"case_id":")" + other.id() + R"(","type":"acknowledge"})";
    CHECK(client.Request("POST", inbound, foreign, Signed("msg_2", NowSeconds(), foreign)).status ==
          404);
    CHECK(client
              .Request("POST", "/v1/connectors/nobody/inbound", body,
                       Signed("msg_3", NowSeconds(), body))
              .status == 404);
    CHECK(client.Request("GET", inbound, {}, {}).status == 405);
  }
  SECTION("a genuine change applies once, as the client, and is not echoed back") {
    const Headers genuine = Signed("msg_ack", NowSeconds(), body);
    auto applied = client.Request("POST", inbound, body, genuine);
    INFO(applied.body);
    REQUIRE(applied.status == 200);
    // The sender resends the same message (it lost our answer): applied once all the same.
    CHECK(client.Request("POST", inbound, body, genuine).status == 200);
    auto view = ReadCase(client, case_id);
    CHECK(view.status() == v1::ACKNOWLEDGED);
    int acknowledgements = 0;
    for (const auto& event : view.events()) {
      if (event.type() != v1::EventType::acknowledge) continue;
      ++acknowledgements;
      CHECK(event.actor().organization() == "globex");
      CHECK(event.actor().side() == v1::CLIENT);
      CHECK(event.actor().person() == "gina");
      CHECK(event.actor().via() == "globex-hook");
    }
    CHECK(acknowledgements == 1);
    // The JSON-lines desk gets the acknowledgement; the webhook that sent it does not.
    const auto desk = std::filesystem::path(dir) / "data" / "outbox" / "globex-desk.jsonl";
    REQUIRE(Eventually(
        [&] {
          std::ifstream lines(desk);
          std::string text((std::istreambuf_iterator<char>(lines)), {});
          return text.find("\"type\":\"acknowledge\"") != std::string::npos;
        },
        5s));
    for (const auto& request : sink.Requests())
      CHECK_THAT(request.body, !Catch::Contains("\"type\":\"case.acknowledge\""));
  }
}

TEST_CASE("deliveries waiting at a kill -9 resume after restart, in order, none lost",
          "[e2e][webhook]") {
  WebhookSink sink;
  std::atomic<bool> down{true};
  std::mutex mutex;
  std::set<std::size_t> accepted;
  sink.SetScript([&](const SinkRequest&, std::size_t index) {
    SinkAnswer answer;
    if (down) {
      answer.status = 503;
    } else {
      std::lock_guard lock(mutex);
      accepted.insert(index);
    }
    return answer;
  });
  const std::string dir = BrokerProcess::TempDir("webhook-crash");
  const std::string config = WebhookConfig(
      dir, sink.port(), "{ concurrency: 4, first_backoff: 50ms, max_backoff: 100ms }");
  std::vector<std::string> cases;
  {
    BrokerProcess broker(config, dir + "/data");
    HttpClient client("127.0.0.1", broker.port());
    for (int i = 0; i < 6; ++i) {
      cases.push_back(Escalate(client, "T-K" + std::to_string(i)));
      Comment(client, cases.back(), "first");
      Comment(client, cases.back(), "second");
    }
    REQUIRE(sink.AwaitCount(3, 5s));
    broker.Kill();
  }
  down = false;
  const std::size_t before_restart = sink.count();
  BrokerProcess broker(config, dir + "/data");
  HttpClient client("127.0.0.1", broker.port());
  for (const auto& case_id : cases) {
    INFO(case_id);
    // escalated, forwarded and two comments.
    const bool delivered = Eventually(
        [&] {
          return ReadCase(client, case_id).events_size() == 4 &&
                 AllDelivered(client, sink, mutex, accepted, case_id);
        },
        20s);
    INFO("the broker's output after the restart:\n" << broker.output());
    CHECK(delivered);
  }
  // After the restart, each case's events went out in order.
  const auto requests = sink.Requests();
  std::map<std::string, std::uint64_t> last;
  for (std::size_t i = before_restart; i < requests.size(); ++i) {
    const std::string case_id = CaseOf(requests[i]);
    INFO("request " << i << " of case " << case_id);
    CHECK(SequenceOf(requests[i]) >= last[case_id]);
    last[case_id] = SequenceOf(requests[i]);
  }
}
