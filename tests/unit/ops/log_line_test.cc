#include "broker/ops/log_line.h"

#include <google/protobuf/struct.pb.h>

#include <catch2/catch.hpp>

#include "broker/common/json.h"
#include "broker/common/time.h"

namespace {

using namespace bridgeline;
namespace v1 = bridgeline::v1;

google::protobuf::Timestamp At(const char* rfc3339) {
  TimeMs ms = 0;
  REQUIRE(ParseUtc(rfc3339, &ms));
  return ToTimestamp(ms);
}

v1::Event AcknowledgeEvent() {
  v1::Event event;
  event.set_sequence(42);
  event.set_case_id("BL-7");
  event.set_type(v1::EventType::acknowledge);
  *event.mutable_at() = At("2026-11-23T10:15:02Z");
  event.mutable_actor()->set_organization("globex");
  event.mutable_actor()->set_side(v1::CLIENT);
  event.mutable_actor()->set_person("Jane \"JJ\" Doe");
  event.set_note("customer's card number 4111");
  event.set_status(v1::ACKNOWLEDGED);
  auto* context = event.mutable_context();
  context->set_contract("northwind-globex");
  context->set_priority(v1::P2);
  context->set_owner("globex-payments-l2");
  context->set_waiting_on(v1::CLIENT);
  auto* resolve = context->add_clocks();
  resolve->set_kind(v1::RESOLVE);
  resolve->set_binds(v1::CLIENT);
  resolve->set_state(v1::Clock::RUNNING);
  *resolve->mutable_due_at() = At("2026-11-23T18:15:02Z");
  return event;
}

std::string Text(const google::protobuf::Struct& line, const std::string& name) {
  auto found = line.fields().find(name);
  return found == line.fields().end() ? "<absent>" : found->second.string_value();
}

}  // namespace

TEST_CASE("an event becomes one JSON line with its case's context") {
  ops::LogRecord record = ops::MakeLogRecord(AcknowledgeEvent());
  REQUIRE(record.line.find('\n') == std::string::npos);
  google::protobuf::Struct line;
  REQUIRE(JsonToMessage(record.line, &line).ok());

  SECTION("the fields ops read") {
    CHECK(Text(line, "time") == "2026-11-23T10:15:02.000Z");
    CHECK(line.fields().at("sequence").number_value() == 42);
    CHECK(Text(line, "case") == "BL-7");
    CHECK(Text(line, "contract") == "northwind-globex");
    CHECK(Text(line, "event") == "acknowledge");
    CHECK(Text(line, "status") == "ACKNOWLEDGED");
    CHECK(Text(line, "priority") == "P2");
    CHECK(Text(line, "owner") == "globex-payments-l2");
    CHECK(Text(line, "waiting_on") == "CLIENT");
    const auto& clocks = line.fields().at("clocks").list_value();
    REQUIRE(clocks.values_size() == 1);
    CHECK(Text(clocks.values(0).struct_value(), "kind") == "RESOLVE");
    CHECK(Text(clocks.values(0).struct_value(), "due_at") == "2026-11-23T18:15:02.000Z");
    const auto& actor = line.fields().at("actor").struct_value();
    CHECK(Text(actor, "person") == "Jane \"JJ\" Doe");  // escaped, and read back whole
  }
  SECTION("free text a person typed stays out") {
    CHECK(record.line.find("4111") == std::string::npos);
    CHECK(Text(line, "note") == "<absent>");
  }
  SECTION("the record carries what filters read") {
    CHECK(record.sequence == 42);
    CHECK(record.contract == "northwind-globex");
    CHECK(record.owner == "globex-payments-l2");
    CHECK(record.priority == v1::P2);
    CHECK(record.type == v1::EventType::acknowledge);
  }
}

TEST_CASE("a stream filter keeps only what the reader asked for") {
  ops::LogRecord p2_acknowledge = ops::MakeLogRecord(AcknowledgeEvent());
  v1::Event breach_event = AcknowledgeEvent();
  breach_event.set_type(v1::EventType::clock_breach);
  breach_event.set_clock(v1::ACKNOWLEDGE);
  breach_event.mutable_context()->set_priority(v1::P1);
  breach_event.mutable_context()->set_contract("northwind-initech");
  ops::LogRecord p1_breach = ops::MakeLogRecord(breach_event);

  auto filter_of = [](std::vector<std::pair<std::string, std::string>> query) {
    auto filter = ops::ParseLogFilter(query);
    REQUIRE(filter.ok());
    return *filter;
  };
  SECTION("an empty filter keeps everything") {
    CHECK(filter_of({}).Matches(p2_acknowledge));
    CHECK(filter_of({}).Matches(p1_breach));
  }
  SECTION("contracts, repeated or comma-separated") {
    CHECK(filter_of({{"contract", "northwind-globex"}}).Matches(p2_acknowledge));
    CHECK_FALSE(filter_of({{"contract", "northwind-globex"}}).Matches(p1_breach));
    CHECK(filter_of({{"contract", "a,northwind-initech"}}).Matches(p1_breach));
  }
  SECTION("a minimum priority keeps it and more urgent ones") {
    CHECK(filter_of({{"min_priority", "P2"}}).Matches(p2_acknowledge));
    CHECK(filter_of({{"min_priority", "P2"}}).Matches(p1_breach));
    CHECK_FALSE(filter_of({{"min_priority", "P1"}}).Matches(p2_acknowledge));
  }
  SECTION("event types, owner and breaches only") {
    CHECK(filter_of({{"type", "escalated,acknowledge"}}).Matches(p2_acknowledge));
    CHECK_FALSE(filter_of({{"type", "escalated"}}).Matches(p2_acknowledge));
    CHECK(filter_of({{"owner", "globex-payments-l2"}}).Matches(p2_acknowledge));
    CHECK_FALSE(filter_of({{"owner", "someone-else"}}).Matches(p2_acknowledge));
    CHECK(filter_of({{"breaches_only", "true"}}).Matches(p1_breach));
    CHECK_FALSE(filter_of({{"breaches_only", "true"}}).Matches(p2_acknowledge));
  }
  SECTION("a bad value names its parameter") {
    auto bad_priority = ops::ParseLogFilter({{"min_priority", "urgent"}});
    REQUIRE_FALSE(bad_priority.ok());
    CHECK(bad_priority.status().field() == "min_priority");
    auto bad_type = ops::ParseLogFilter({{"type", "acknowledge,explode"}});
    REQUIRE_FALSE(bad_type.ok());
    CHECK(bad_type.status().field() == "type");
    CHECK(bad_type.status().message().find("explode") != std::string::npos);
    CHECK(ops::ParseLogFilter({{"breaches_only", "maybe"}}).status().field() == "breaches_only");
  }
}
