// The rt5 connector against a real Request Tracker 5 on loopback (Debian's request-tracker5,
// SQLite, standalone server; scripts/rt5/test-server.sh): the whole round trip of a case, and
// RT going away for a while (and the broker being killed) without losing a delivery or making
// a second ticket.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <map>
#include <thread>

#include "bridgeline/v1/api.pb.h"
#include "broker/common/encoding.h"
#include "broker/http/client.h"
#include "tests/support/api.h"
#include "tests/support/broker_process.h"

namespace {

using bridgeline::http::HttpClient;
using bridgeline::http::HttpResponse;
using bridgeline::testing::BrokerProcess;
using bridgeline::testing::Eventually;
using bridgeline::testing::ParseJson;
namespace v1 = bridgeline::v1;
using Headers = std::map<std::string, std::string>;
using namespace std::chrono_literals;

const Headers kOutsourcer = {{"Authorization", "Bearer demo-outsourcer-token"}};
const Headers kOps = {{"Authorization", "Bearer demo-ops-token"}};

// A Request Tracker of the test's own, stopped when the test ends.
class RtServer {
 public:
  RtServer() : dir_(BrokerProcess::TempDir("rt5")), port_(BrokerProcess::FreePort()) {
    REQUIRE(Script("start " + dir_ + " " + std::to_string(port_)) == 0);
  }
  ~RtServer() { Script("stop " + dir_); }
  void Stop() { REQUIRE(Script("stop " + dir_) == 0); }
  void Resume() { REQUIRE(Script("resume " + dir_ + " " + std::to_string(port_)) == 0); }
  unsigned short port() const { return port_; }

  // A REST 2 call as Alice, the client's agent.
  HttpResponse Call(const std::string& method, const std::string& target,
                    const std::string& body = {}) {
    HttpClient client("127.0.0.1", port_, std::chrono::seconds(30));
    Headers headers = {
        {"Authorization", "Basic " + bridgeline::Base64Encode("alice:alice-test-password")}};
    return client.Request(method, "/REST/2.0" + target, body, headers);
  }

 private:
  static int Script(const std::string& arguments) {
    return std::system(
        (std::string(BRIDGELINE_SOURCE_DIR) + "/scripts/rt5/test-server.sh " + arguments).c_str());
  }
  std::string dir_;
  unsigned short port_;
};

// The example config with the Globex contract's cases carried by `globex-rt` alone.
std::string RtConfig(const std::string& dir, unsigned short rt_port) {
  const std::string connector =
      "  - name: globex-rt\n    type: rt5\n    settings:\n"
      "      url: http://127.0.0.1:" +
      std::to_string(rt_port) +
      "\n      username: bridgeline\n      password: bridgeline-test-password\n"
      "      queue: Escalations\n      queue_by_owner: { globex-payments-l2: Payments }\n"
      "      custom_fields: { \"Tier-1 ticket\": tier1_ticket_id }\n"
      "      poll_interval: 300ms\n"
      "      timeout: 10s\n"
      "    delivery: { concurrency: 4, first_backoff: 100ms, max_backoff: 1s,"
      " breaker: { failures: 5, open_for: 1s } }\n";
  return BrokerProcess::ConfigVariant(BrokerProcess::ExampleConfig(), dir,
                                      {{"  # Breach notices for the duty managers",
                                        connector + "  # Breach notices for the duty managers"},
                                       {"connectors: [globex-desk]", "connectors: [globex-rt]"}});
}

v1::CaseView ReadCase(HttpClient& client, const std::string& id) {
  auto response = client.Request("GET", "/v1/escalations/" + id, {}, kOps);
  INFO(response.body);
  REQUIRE(response.status == 200);
  v1::CaseView view;
  REQUIRE(ParseJson(response.body, &view));
  return view;
}

std::string Escalate(HttpClient& client, const std::string& ticket, const std::string& product) {
  const std::string body = R"({"contract":"northwind-globex","tier1_ticket_id":")" + ticket +
                           R"(","customer":{"id":"C-)" + ticket +
                           R"(","name":"Ada Lovelace","email":"ada@example.com","tier":"gold"},)"
                           R"("category":"billing","product":")" +
                           product +
                           R"(","region":"EU","severity":"SEV2","subject":"Card payments fail",)"
                           R"("description":"Every card payment is declined since 09:00."})";
  auto created = client.Request("POST", "/v1/escalations", body, kOutsourcer);
  INFO(created.body);
  REQUIRE(created.status == 201);
  v1::CaseView view;
  REQUIRE(ParseJson(created.body, &view));
  return view.id();
}

// Tickets whose subject carries `case_id`'s tag.
int TicketsOf(RtServer& rt, const std::string& case_id) {
  auto found = rt.Call("GET", "/tickets?query=Subject%20LIKE%20%27%5B" + case_id + "%5D%27");
  REQUIRE(found.status == 200);
  const auto at = found.body.find("\"total\"");
  REQUIRE(at != std::string::npos);
  return std::stoi(found.body.substr(found.body.find(':', at) + 1));
}

// The text of a ticket's whole history, content included.
std::string History(RtServer& rt, const std::string& ticket) {
  std::string text;
  auto history =
      rt.Call("GET", "/ticket/" + ticket + "/history?per_page=100&fields=Type,Creator,NewValue");
  REQUIRE(history.status == 200);
  text += history.body;
  std::size_t at = 0;
  while ((at = history.body.find("/REST/2.0/transaction/", at)) != std::string::npos) {
    at += 22;
    const std::string id = history.body.substr(at, history.body.find('"', at) - at);
    auto attachments = rt.Call("GET", "/transaction/" + id + "/attachments?fields=Content");
    if (attachments.status == 200) text += attachments.body;
  }
  return text;
}

}  // namespace

TEST_CASE("a case makes the round trip through Request Tracker and back", "[e2e][rt]") {
  RtServer rt;
  const std::string dir = BrokerProcess::TempDir("rt5-round-trip");
  BrokerProcess broker(RtConfig(dir, rt.port()), dir + "/data");
  HttpClient client("127.0.0.1", broker.port());

  // Escalated: the ticket exists in the owner's queue with the case's priority.
  const std::string case_id = Escalate(client, "T-RT1", "payments");
  std::string ticket;
  REQUIRE(Eventually(
      [&] {
        auto view = ReadCase(client, case_id);
        if (view.remote_refs().count("globex-rt")) ticket = view.remote_refs().at("globex-rt");
        return view.status() == v1::FORWARDED && !ticket.empty();
      },
      30s));
  auto created = rt.Call("GET", "/ticket/" + ticket);
  INFO(created.body);
  REQUIRE(created.status == 200);
  CHECK_THAT(created.body, Catch::Contains("\"Subject\" : \"[" + case_id + "] Card payments fail"));
  CHECK_THAT(created.body, Catch::Contains("\"Priority\" : \"70\""));  // P2
  CHECK_THAT(created.body, Catch::Contains("T-RT1"));                  // the custom field
  auto in_payments = rt.Call(
      "GET", "/tickets?query=id%20%3D%20" + ticket + "%20AND%20Queue%20%3D%20%27Payments%27");
  CHECK_THAT(in_payments.body, Catch::Contains("\"total\" : 1"));
  // The customer's email is not among the fields the contract shares.
  CHECK_THAT(History(rt, ticket), !Catch::Contains("ada@example.com"));

  // Opened in RT: acknowledged, and the acknowledge clock stopped.
  REQUIRE(rt.Call("PUT", "/ticket/" + ticket, R"({"Status":"open"})").status == 200);
  REQUIRE(Eventually([&] { return ReadCase(client, case_id).status() == v1::ACKNOWLEDGED; }, 15s));
  auto acknowledged = ReadCase(client, case_id);
  for (const auto& clock : acknowledged.clocks()) {
    if (clock.kind() == v1::ACKNOWLEDGE) CHECK(clock.state() != v1::Clock::RUNNING);
  }
  CHECK(acknowledged.waiting_on() == v1::CLIENT);

  // A question in RT: the case waits on the outsourcer.
  REQUIRE(rt.Call("POST", "/ticket/" + ticket + "/correspond",
                  R"({"Content":"Which card BIN fails?","ContentType":"text/plain"})")
              .status == 201);
  REQUIRE(Eventually([&] { return ReadCase(client, case_id).status() == v1::AWAITING_OUTSOURCER; },
                     15s));
  auto asked = ReadCase(client, case_id);
  CHECK(asked.waiting_on() == v1::OUTSOURCER);
  CHECK(asked.events(asked.events_size() - 1).note() == "Which card BIN fails?");
  CHECK(asked.events(asked.events_size() - 1).actor().person() == "alice");

  // The outsourcer answers through Bridgeline: the answer reaches the ticket.
  auto provided =
      client.Request("POST", "/v1/escalations/" + case_id + "/events",
                     R"({"type":"provide_info","note":"BIN 411111 only"})", kOutsourcer);
  INFO(provided.body);
  REQUIRE(provided.status == 200);
  REQUIRE(Eventually(
      [&] { return History(rt, ticket).find("BIN 411111 only") != std::string::npos; }, 15s));

  // Resolved in RT: the case is resolved; the outsourcer confirms and it closes.
  REQUIRE(rt.Call("PUT", "/ticket/" + ticket, R"({"Status":"resolved"})").status == 200);
  REQUIRE(Eventually([&] { return ReadCase(client, case_id).status() == v1::RESOLVED; }, 15s));
  auto confirmed =
      client.Request("POST", "/v1/escalations/" + case_id + "/events",
                     R"({"type":"confirm","note":"Customer confirms payments work"})", kOutsourcer);
  REQUIRE(confirmed.status == 200);
  auto closed = ReadCase(client, case_id);
  CHECK(closed.status() == v1::CLOSED);

  // RT shows the history, and nothing the broker wrote came back as a change.
  REQUIRE(Eventually(
      [&] {
        return History(rt, ticket).find("Customer confirms payments work") != std::string::npos;
      },
      15s));
  CHECK(TicketsOf(rt, case_id) == 1);
  std::vector<v1::EventType::Value> types;
  for (const auto& event : closed.events()) types.push_back(event.type());
  CHECK(types == std::vector<v1::EventType::Value>{
                     v1::EventType::escalated, v1::EventType::forwarded, v1::EventType::acknowledge,
                     v1::EventType::request_info, v1::EventType::provide_info,
                     v1::EventType::resolve, v1::EventType::confirm});
}

TEST_CASE(
    "RT down for a while, and the broker killed: deliveries resume in order, one ticket "
    "per case",
    "[e2e][rt]") {
  RtServer rt;
  const std::string dir = BrokerProcess::TempDir("rt5-outage");
  const std::string config = RtConfig(dir, rt.port());
  std::vector<std::string> cases;
  rt.Stop();
  {
    BrokerProcess broker(config, dir + "/data");
    HttpClient client("127.0.0.1", broker.port());
    for (int i = 0; i < 4; ++i) {
      cases.push_back(Escalate(client, "T-OUT" + std::to_string(i), i % 2 ? "payments" : "cards"));
      auto commented = client.Request(
          "POST", "/v1/escalations/" + cases.back() + "/events",
          R"({"type":"comment","note":"first note )" + std::to_string(i) + "\"}", kOutsourcer);
      REQUIRE(commented.status == 200);
    }
    std::this_thread::sleep_for(1500ms);  // deliveries fail and the breaker opens
    CHECK(bridgeline::testing::MetricValue(
              broker.port(), "bridgeline_connector_breaker_open{connector=\"globex-rt\"}") == 1);
    rt.Resume();
    // Killed while RT takes the backlog: what was in flight is delivered again after restart.
    std::this_thread::sleep_for(1500ms);
    broker.Kill();
  }
  BrokerProcess broker(config, dir + "/data");
  HttpClient client("127.0.0.1", broker.port());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const std::string& case_id = cases[i];
    INFO(case_id);
    std::string ticket;
    REQUIRE(Eventually(
        [&] {
          auto view = ReadCase(client, case_id);
          if (view.remote_refs().count("globex-rt")) ticket = view.remote_refs().at("globex-rt");
          return !ticket.empty();
        },
        60s));
    REQUIRE(Eventually(
        [&] {
          return History(rt, ticket).find("first note " + std::to_string(i)) != std::string::npos;
        },
        30s));
    CHECK(TicketsOf(rt, case_id) == 1);
    // In order: the comment came after the ticket's creation (RT numbers transactions).
    const std::string history = History(rt, ticket);
    CHECK(history.find("\"Create\"") < history.find("\"Comment\""));
  }
}
