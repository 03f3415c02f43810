// One case end to end through the real binary: escalate over HTTP, read it back, restart the
// broker, read it again; bad requests change nothing.
#include <google/protobuf/util/json_util.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "bridgeline/v1/api.pb.h"
#include "broker/http/client.h"
#include "tests/support/api.h"
#include "tests/support/broker_process.h"

namespace {

using bridgeline::http::HttpClient;
using bridgeline::http::HttpResponse;
using bridgeline::testing::BrokerProcess;
using bridgeline::testing::ProblemField;
namespace v1 = bridgeline::v1;

const std::map<std::string, std::string> kOutsourcer = {
    {"Authorization", "Bearer demo-outsourcer-token"}};
const std::map<std::string, std::string> kGlobex = {{"Authorization", "Bearer demo-globex-token"}};
const std::map<std::string, std::string> kOps = {{"Authorization", "Bearer demo-ops-token"}};

const std::string kEscalation = R"({
  "contract": "northwind-globex", "tier1_ticket_id": "T-1001",
  "customer": {"id": "C-42", "name": "Ada Lovelace", "email": "ada@example.com", "tier": "gold"},
  "category": "billing", "product": "payments", "region": "EU", "severity": "SEV2",
  "subject": "Card payments fail", "description": "Since 09:00 every card payment is declined."})";

template <typename Message>
Message Parse(const std::string& json) {
  Message message;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto status = google::protobuf::util::JsonStringToMessage(json, &message, options);
  INFO(json);
  REQUIRE(status.ok());
  return message;
}

std::size_t CountCases(HttpClient& client) {
  auto response = client.Request("GET", "/v1/escalations?limit=200", {}, kOps);
  REQUIRE(response.status == 200);
  return static_cast<std::size_t>(Parse<v1::CaseList>(response.body).escalations_size());
}

}  // namespace

TEST_CASE("an escalation is answered at once, stored durably and survives a restart", "[e2e]") {
  // The usual umask, which leaves new files readable by everyone, unless the broker says not.
  const mode_t umask_before = ::umask(S_IWGRP | S_IWOTH);
  const std::string data_dir = BrokerProcess::TempDir("e2e");
  std::string case_id;
  {
    BrokerProcess broker(BrokerProcess::ExampleConfig(), data_dir);
    HttpClient client("127.0.0.1", broker.port());

    auto created = client.Request("POST", "/v1/escalations", kEscalation, kOutsourcer);
    INFO(created.body);
    REQUIRE(created.status == 201);
    auto view = Parse<v1::CaseView>(created.body);
    case_id = view.id();
    CHECK(case_id == "BL-1");
    CHECK(created.headers["location"] == "/v1/escalations/BL-1");
    // The answer names a customer: nothing along the way may keep a copy of it.
    CHECK(created.headers["cache-control"] == "no-store");
    CHECK(created.headers["x-content-type-options"] == "nosniff");
    CHECK(view.owner() == "globex-payments-l2");  // the payments route, first match
    CHECK(view.priority() == v1::P2);             // SEV2 x gold
    CHECK(view.waiting_on() == v1::CLIENT);
    CHECK(view.status() == v1::NEW);
    CHECK(view.due().has_acknowledge_by());
    CHECK(view.due().resolve_by().seconds() - view.due().acknowledge_by().seconds() ==
          8 * 3600 - 30 * 60);
    CHECK(view.repeat_contacts() == 0);

    auto read = client.Request("GET", "/v1/escalations/" + case_id, {}, kOutsourcer);
    REQUIRE(read.status == 200);
    CHECK(Parse<v1::CaseView>(read.body).subject() == "Card payments fail");

    // The JSON-lines connector carries the case to the client's desk, which forwards it.
    const auto desk = std::filesystem::path(data_dir) / "outbox" / "globex-desk.jsonl";
    v1::CaseView forwarded;
    for (int i = 0; i < 200 && forwarded.status() != v1::FORWARDED; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      forwarded = Parse<v1::CaseView>(
          client.Request("GET", "/v1/escalations/" + case_id, {}, kOutsourcer).body);
    }
    CHECK(forwarded.status() == v1::FORWARDED);

    // Once acknowledged, the case is due to be acknowledged by no time at all: the instant is
    // left out, not printed as the epoch; the resolve time stays what the agent was told.
    auto acknowledged = client.Request("POST", "/v1/escalations/" + case_id + "/events",
                                       R"({"type":"acknowledge"})", kGlobex);
    INFO(acknowledged.body);
    REQUIRE(acknowledged.status == 200);
    CHECK_THAT(acknowledged.body,
               !Catch::Contains("\"acknowledge_by\"") && !Catch::Contains("1970-"));
    auto due = Parse<v1::CaseView>(acknowledged.body).due();
    CHECK_FALSE(due.has_acknowledge_by());
    CHECK(due.acknowledge_by_local().empty());
    CHECK(due.resolve_by().seconds() == view.due().resolve_by().seconds());
    CHECK_FALSE(due.resolve_by_local().empty());
    std::ifstream lines(desk);
    std::string first_line;
    REQUIRE(std::getline(lines, first_line));
    CHECK_THAT(first_line, Catch::Contains("\"case_id\":\"BL-1\"") &&
                               Catch::Contains("\"type\":\"escalated\""));
    // Only the fields the contract shares cross to the client.
    CHECK_THAT(first_line,
               Catch::Contains("\"email\":\"***\"") && !Catch::Contains("ada@example.com"));

    CHECK(broker.Terminate() == 0);
    // Nothing the broker wrote (store, logs, the desk's file) is open to other users of the
    // machine: it all holds customers' details.
    int entries = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(data_dir)) {
      INFO(entry.path().string());
      ++entries;
      CHECK((entry.status().permissions() & std::filesystem::perms::others_all) ==
            std::filesystem::perms::none);
    }
    CHECK(entries > 5);
  }
  {
    BrokerProcess broker(BrokerProcess::ExampleConfig(), data_dir);
    HttpClient client("127.0.0.1", broker.port());
    auto read = client.Request("GET", "/v1/escalations/" + case_id, {}, kOutsourcer);
    INFO(read.body);
    REQUIRE(read.status == 200);
    auto view = Parse<v1::CaseView>(read.body);
    CHECK(view.id() == case_id);
    CHECK(view.owner() == "globex-payments-l2");
    CHECK(view.status() == v1::ACKNOWLEDGED);
    REQUIRE(view.events_size() == 3);
    CHECK(view.events(0).type() == v1::EventType::escalated);
    CHECK(view.events(1).type() == v1::EventType::forwarded);
    CHECK(view.events(2).type() == v1::EventType::acknowledge);
    CHECK_FALSE(view.due().has_acknowledge_by());

    // Numbering continues after a restart.
    auto next = client.Request("POST", "/v1/escalations",
                               std::string(kEscalation)
                                   .replace(kEscalation.find("T-1001"), 6, "T-1002")
                                   .replace(kEscalation.find("C-42"), 4, "C-43"),
                               kOutsourcer);
    REQUIRE(next.status == 201);
    CHECK(Parse<v1::CaseView>(next.body).id() == "BL-2");
  }
  std::filesystem::remove_all(data_dir);
  ::umask(umask_before);
}

// The full bad-input list (malformed JSON, types, unknown and missing fields, limits...) is in
// api_e2e_test.cc; these two need the example config's tokens and tiers.
TEST_CASE("bad requests get a clear 4xx and store nothing", "[e2e]") {
  const std::string data_dir = BrokerProcess::TempDir("e2e-bad");
  BrokerProcess broker(BrokerProcess::ExampleConfig(), data_dir);
  HttpClient client("127.0.0.1", broker.port());

  SECTION("a missing or wrong token is 401") {
    auto missing = client.Request("POST", "/v1/escalations", kEscalation);
    CHECK(missing.status == 401);
    CHECK(missing.headers["content-type"] == "application/problem+json");
    auto wrong =
        client.Request("POST", "/v1/escalations", kEscalation, {{"Authorization", "Bearer guess"}});
    CHECK(wrong.status == 401);
    for (const char* refused : {"Basic ZGVtbzpkZW1v", "Bearer", "Bearer ", "Bearerdemo-ops-token",
                                "Token demo-ops-token"}) {
      INFO(refused);
      CHECK(client.Request("GET", "/v1/escalations", {}, {{"Authorization", refused}}).status ==
            401);
    }
  }
  SECTION("two Authorization headers are 401, even when both are valid") {
    auto twice = client.Raw(
        "GET /v1/escalations HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
        "demo-ops-token\r\nAuthorization: Bearer demo-outsourcer-token\r\nConnection: "
        "close\r\n\r\n");
    CHECK(twice.status == 401);
  }
  SECTION("the scheme is read in any case, as RFC 9110 has it") {
    for (const char* accepted :
         {"Bearer demo-ops-token", "bearer demo-ops-token", "BEARER  demo-ops-token"}) {
      INFO(accepted);
      CHECK(client.Request("GET", "/v1/escalations", {}, {{"Authorization", accepted}}).status ==
            200);
    }
  }
  SECTION("an unknown tier is 400 naming the field and the choices") {
    std::string body = kEscalation;
    body.replace(body.find("\"gold\""), 6, "\"diamond\"");
    auto response = client.Request("POST", "/v1/escalations", body, kOutsourcer);
    CHECK(response.status == 400);
    CHECK(ProblemField(response, "field") == "customer.tier");
    CHECK_THAT(ProblemField(response, "detail"), Catch::Contains("platinum, gold, standard"));
  }
  CHECK(CountCases(client) == 0);
  std::filesystem::remove_all(data_dir);
}
