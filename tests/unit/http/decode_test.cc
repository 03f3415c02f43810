#include "broker/http/decode.h"

#include <catch2/catch.hpp>

#include "bridgeline/v1/api.pb.h"

namespace {

namespace bhttp = boost::beast::http;
using bridgeline::Status;
using bridgeline::http::Request;

Request Post(const std::string& body, const char* content_type = "application/json") {
  Request request{bhttp::verb::post, "/v1/escalations", 11};
  if (content_type != nullptr) request.set(bhttp::field::content_type, content_type);
  request.body() = body;
  return request;
}

Status Decode(const std::string& body) {
  bridgeline::v1::EscalateRequest escalate;
  return bridgeline::http::DecodeJsonBody(Post(body), &escalate);
}

}  // namespace

TEST_CASE("a body is JSON by its media type, whatever its case and parameters", "[http][decode]") {
  using bridgeline::http::DeclaresJsonBody;
  for (const char* type : {"application/json", "Application/JSON",
                           "application/json; charset=utf-8", " application/json ;charset=UTF-8"}) {
    INFO(type);
    CHECK(DeclaresJsonBody(Post("{}", type)));
  }
  CHECK(DeclaresJsonBody(Post("{}", nullptr)));  // none given: read as JSON
  for (const char* type : {"text/plain", "application/json-patch+json", "application/jsonx",
                           "application/x-www-form-urlencoded", "json", "", ";charset=utf-8"}) {
    INFO(type);
    CHECK_FALSE(DeclaresJsonBody(Post("{}", type)));
  }
}

TEST_CASE("a body that does not read names the field and says what it must be", "[http][decode]") {
  struct Case {
    std::string body, field, detail;
  };
  const std::vector<Case> cases = {
      {R"({"customer":[]})", "customer", "must be a single value, not a list"},
      {R"({"customer":{"tier":["gold"]}})", "customer.tier", "must be a single value, not a list"},
      {R"({"customer":"x"})", "customer", R"(must be an object, not "x")"},
      {R"({"severity":"SEV9"})", "severity",
       R"(must be one of SEV1, SEV2, SEV3, SEV4, not "SEV9")"},
      {R"({"severity":true})", "severity", "must be one of SEV1, SEV2, SEV3, SEV4, not true"},
      {R"({"subject":5})", "subject", "must be a string, not 5"},
      {R"({"customer":{"id":{}}})", "customer.id", "must be a single value, not an object"},
      {R"({"subject":{"text":"s"}})", "subject", "must be a single value, not an object"},
      {R"({"shoe_size":9})", "shoe_size", "unknown field"},
      {R"({"severity":5})", "severity", "must be one of SEV1, SEV2, SEV3, SEV4, not 5"},
      {R"({"severity":2,"subject":"s","customer":{"id":"c"}})", "", ""},  // a declared number
      {R"({"customer":{"id":"a","id":"b"}})", "customer.id", "is given more than once"},
      {R"({"subject":"a","subject":"a"})", "subject", "is given more than once"},
      {R"(["x"])", "", "the body must be a JSON object"},
      {R"("x")", "", "the body must be a JSON object"},
      {R"({"subject":"a"} x)", "", "the body is not valid JSON"},
      {"", "", "the body is empty"},
      {"{\"subject\":\"\xff\"}", "", "the body is not valid UTF-8 (byte 12)"},
  };
  for (const auto& bad : cases) {
    INFO(bad.body);
    const Status status = Decode(bad.body);
    if (bad.detail.empty()) {
      CHECK(status.ok());
      continue;
    }
    CHECK(status.code() == Status::Code::kInvalidArgument);
    CHECK(status.field() == bad.field);
    CHECK_THAT(status.message(), Catch::StartsWith(bad.detail));
  }
  SECTION("an event's enums hold to their names as well") {
    bridgeline::v1::EventRequest event;
    const Status status = bridgeline::http::DecodeJsonBody(
        Post(R"({"type":"set_priority","priority":9,"reason":"vip"})"), &event);
    CHECK(status.field() == "priority");
    CHECK(status.message() == "must be one of P1, P2, P3, P4, not 9");
  }
  SECTION("a well-formed body reads, by proto and JSON names alike") {
    bridgeline::v1::EscalateRequest escalate;
    REQUIRE(
        bridgeline::http::DecodeJsonBody(
            Post(R"({"tier1TicketId":"T-1","customer":{"id":"C-1"},"severity":"SEV2"})"), &escalate)
            .ok());
    CHECK(escalate.tier1_ticket_id() == "T-1");
    CHECK(escalate.severity() == bridgeline::v1::SEV2);
  }
}
