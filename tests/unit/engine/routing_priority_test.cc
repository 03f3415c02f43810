// One owner always, priorities that only rise by themselves, and repeat contacts.
#include <catch2/catch.hpp>

#include "broker/engine/apply.h"
#include "tests/unit/engine/fixture.h"

using namespace bridgeline;
using namespace bridgeline::engine;
using namespace bridgeline::engine::testing;
namespace v1 = bridgeline::v1;
using T = v1::EventType;

TEST_CASE("the first matching route names the one owner", "[engine][routing]") {
  struct Row {
    const char* name;
    const char* subject;
    const char* tier;
    v1::Severity severity;
    const char* category;
    const char* region;
    const char* owner;
    const char* route;
  };
  // clang-format off
  const Row rows[] = {
    {"text pattern wins first",         "Possible FRAUD on card", "platinum", v1::SEV1, "billing", "EU", "acme-security", "security"},
    {"tier and severity",               "Cannot log in",          "platinum", v1::SEV2, "billing", "EU", "acme-platinum", "platinum-urgent"},
    {"tier matches but severity not",   "Cannot log in",          "platinum", v1::SEV3, "billing", "EU", "bpo-lead",      "eu-billing"},
    {"category and region",             "Cannot log in",          "standard", v1::SEV1, "billing", "EU", "bpo-lead",      "eu-billing"},
    {"category without region",         "Cannot log in",          "standard", v1::SEV1, "billing", "US", "acme-desk",     "default"},
    {"nothing else: the catch-all",     "Cannot log in",          "standard", v1::SEV4, "general", "US", "acme-desk",     "default"},
  };
  // clang-format on
  for (const Row& row : rows) {
    DYNAMIC_SECTION(row.name) {
      Engine engine(TestRules());
      auto request = Escalation("acme", "T-1", "C-1", row.severity, row.tier);
      request.set_subject(row.subject);
      request.set_category(row.category);
      request.set_region(row.region);
      auto outcome = engine.Escalate(request, Outsourcer(), kStart);
      REQUIRE(outcome.ok());
      CHECK(outcome->state.owner() == row.owner);
      CHECK(outcome->state.route() == row.route);
    }
  }
}

TEST_CASE("priority comes from severity and tier, then rules that only raise",
          "[engine][priority]") {
  struct Row {
    v1::Severity severity;
    const char* tier;
    const char* subject;
    v1::Priority expected;
  };
  const Row rows[] = {
      {v1::SEV1, "standard", "Cannot log in", v1::P1},
      {v1::SEV2, "standard", "Cannot log in", v1::P2},
      {v1::SEV3, "standard", "Cannot log in", v1::P3},
      {v1::SEV4, "standard", "Cannot log in", v1::P4},
      {v1::SEV2, "platinum", "Cannot log in", v1::P1},
      {v1::SEV3, "platinum", "Cannot log in", v1::P2},
      {v1::SEV4, "platinum", "Cannot log in", v1::P2},       // matrix says P3; the tier rule raises
      {v1::SEV4, "standard", "Total outage in EU", v1::P1},  // the outage rule raises
      {v1::SEV1, "standard", "Total outage in EU", v1::P1},  // and never lowers
  };
  for (const Row& row : rows) {
    DYNAMIC_SECTION(v1::Severity_Name(row.severity)
                    << " " << row.tier << " '" << row.subject << "'") {
      Engine engine(TestRules());
      auto request = Escalation("acme", "T-1", "C-1", row.severity, row.tier);
      request.set_subject(row.subject);
      auto outcome = engine.Escalate(request, Outsourcer(), kStart);
      REQUIRE(outcome.ok());
      CHECK(outcome->state.priority() == row.expected);
    }
  }
  SECTION("no tier means the contract's default tier") {
    Engine engine(TestRules());
    auto outcome =
        engine.Escalate(Escalation("acme", "T-1", "C-1", v1::SEV2, ""), Outsourcer(), kStart);
    REQUIRE(outcome.ok());
    CHECK(outcome->state.customer().tier() == "standard");
    CHECK(outcome->state.priority() == v1::P2);
  }
  SECTION("an unknown tier is refused naming the field") {
    Engine engine(TestRules());
    auto outcome = engine.Escalate(Escalation("acme", "T-1", "C-1", v1::SEV2, "diamond"),
                                   Outsourcer(), kStart);
    CHECK(outcome.status().field() == "customer.tier");
    CHECK(engine.open_cases() == 0);
  }
}

TEST_CASE("a person may lower a priority only with a reason", "[engine][priority]") {
  Engine engine(TestRules());
  auto created = engine.Escalate(Escalation("acme", "T-1", "C-1", v1::SEV2), Outsourcer(), kStart);
  std::string id = created->state.id();
  REQUIRE(engine.Forwarded(id, "acme-desk-sync", "", kStart).ok());
  auto lower = Event(T::set_priority, "", "");
  lower.set_priority(v1::P4);
  CHECK(engine.Handle(id, lower, Outsourcer(), kStart + 1).status().field() == "reason");
  lower.set_reason("customer found a workaround");
  auto lowered = engine.Handle(id, lower, Outsourcer(), kStart + 2);
  REQUIRE(lowered.ok());
  CHECK(lowered->state.priority() == v1::P4);
  // Lowering re-targets the running clocks: P4 resolve is 4h from the start.
  CHECK(ClockOf(lowered->state, v1::RESOLVE).due_at().seconds() * 1000 == kStart + 4 * kHourMs);
  auto raise = Event(T::set_priority, "", "");
  raise.set_priority(v1::P1);
  auto raised = engine.Handle(id, raise, Client(), kStart + 3);
  REQUIRE(raised.ok());
  CHECK(raised->state.priority() == v1::P1);
  CHECK(ClockOf(raised->state, v1::RESOLVE).due_at().seconds() * 1000 == kStart + 1 * kHourMs);
  CHECK_FALSE(engine.Handle(id, raise, Client(), kStart + 4).ok());  // already P1
}

TEST_CASE("a repeat contact joins the open case", "[engine][repeat]") {
  Engine engine(TestRules());
  auto first = engine.Escalate(Escalation("acme", "T-1", "C-1", v1::SEV4), Outsourcer(), kStart);
  REQUIRE(first.ok());
  REQUIRE(first->created);

  SECTION("same customer and tier-1 ticket") {
    auto again = engine.Escalate(Escalation("acme", "T-1", "C-1", v1::SEV4), Outsourcer(),
                                 kStart + kMinuteMs);
    REQUIRE(again.ok());
    CHECK_FALSE(again->created);
    CHECK(again->repeat_contact);
    CHECK(again->state.id() == first->state.id());
    CHECK(again->state.repeat_contacts() == 1);
    CHECK(again->state.contacts_size() == 2);
    CHECK(again->events.at(0).type() == T::repeat_contact);
    CHECK(engine.open_cases() == 1);
    // The answer still tells the agent the owner and due times.
    CHECK(again->state.owner() == "acme-desk");
    CHECK(ClockOf(again->state, v1::RESOLVE).has_due_at());
  }
  SECTION("same customer and category, when the contract says so") {
    auto again = engine.Escalate(Escalation("acme", "T-2", "C-1", v1::SEV4), Outsourcer(),
                                 kStart + kMinuteMs);
    REQUIRE(again.ok());
    CHECK(again->repeat_contact);
    CHECK(again->state.id() == first->state.id());
  }
  SECTION("another customer opens another case") {
    auto other = engine.Escalate(Escalation("acme", "T-1", "C-2", v1::SEV4), Outsourcer(),
                                 kStart + kMinuteMs);
    REQUIRE(other.ok());
    CHECK(other->created);
    CHECK(engine.open_cases() == 2);
  }
  SECTION("calling again raises the priority by rule, and never lowers it") {
    auto second =
        engine.Escalate(Escalation("acme", "T-1", "C-1"), Outsourcer(), kStart + kMinuteMs);
    CHECK(second->state.priority() == v1::P4);
    auto third =
        engine.Escalate(Escalation("acme", "T-1", "C-1"), Outsourcer(), kStart + 2 * kMinuteMs);
    CHECK(third->state.repeat_contacts() == 2);
    CHECK(third->state.priority() == v1::P2);  // repeat_contacts_at_least: 2
    CHECK(ClockOf(third->state, v1::RESOLVE).target_seconds() == 2 * 3600);
  }
  SECTION("a customer who calls again and again keeps the case the same size") {
    constexpr int kCalls = 1000;
    std::size_t size_at_cap = 0;
    engine::Outcome last;
    for (int call = 1; call <= kCalls; ++call) {
      auto again = engine.Escalate(Escalation("acme", "T-1", "C-1", v1::SEV4), Outsourcer(),
                                   kStart + call * kMinuteMs);
      REQUIRE(again.ok());
      // Every call stays in the history.
      REQUIRE(again->events.at(0).type() == T::repeat_contact);
      REQUIRE(again->events.at(0).contact().at().seconds() * 1000 == kStart + call * kMinuteMs);
      if (call == engine::kContactsKept) size_at_cap = again->state.ByteSizeLong();
      last = std::move(*again);
    }
    CHECK(last.state.repeat_contacts() == kCalls);
    REQUIRE(last.state.contacts_size() == engine::kContactsKept);
    // The escalation itself, then the latest calls in order.
    CHECK(last.state.contacts(0).at().seconds() * 1000 == kStart);
    for (int i = 1; i < engine::kContactsKept; ++i) {
      CHECK(last.state.contacts(i).at().seconds() * 1000 ==
            kStart + (kCalls - engine::kContactsKept + 1 + i) * kMinuteMs);
    }
    // Only the counters' widths and the priority may differ; no contact accumulates.
    CHECK(last.state.ByteSizeLong() <= size_at_cap + 16);
  }
}

TEST_CASE("flag_exception marks the case and is counted by route and reason",
          "[engine][exceptions]") {
  Engine engine(TestRules());
  auto created = engine.Escalate(Escalation(), Outsourcer(), kStart);
  std::string id = created->state.id();
  auto flagged = engine.Handle(id, Event(T::flag_exception, "", "customer unreachable"),
                               Outsourcer(), kStart + 1);
  REQUIRE(flagged.ok());
  CHECK(flagged->state.exception_flagged());
  CHECK(flagged->state.exception_reason() == "customer unreachable");
  CHECK(engine.exception_counts().at({"default", "customer unreachable"}) == 1);
  CHECK_FALSE(
      engine.Handle(id, Event(T::flag_exception, "", "again"), Outsourcer(), kStart + 2).ok());
}

TEST_CASE("a transfer needs a defined owner of the contract's parties, and a reason",
          "[engine][routing]") {
  Engine engine(TestRules());
  auto created = engine.Escalate(Escalation(), Outsourcer(), kStart);
  std::string id = created->state.id();
  auto transfer = Event(T::transfer, "", "handing over");
  transfer.set_owner("nobody");
  CHECK(engine.Handle(id, transfer, Outsourcer(), kStart + 1).status().field() == "owner");
  // berlin-desk is another client's: it could not even see the case it would answer for.
  transfer.set_owner("berlin-desk");
  auto elsewhere = engine.Handle(id, transfer, Outsourcer(), kStart + 1);
  CHECK(elsewhere.status().field() == "owner");
  CHECK_THAT(elsewhere.status().message(),
             Catch::Contains("belongs to 'berlin-gmbh', which is not party to contract 'acme'"));
  CHECK(engine.Find(id)->owner() == created->state.owner());
  transfer.set_reason("");
  transfer.set_owner("bpo-lead");
  CHECK(engine.Handle(id, transfer, Outsourcer(), kStart + 1).status().field() == "reason");
  transfer.set_reason("the outsourcer runs it end to end");
  auto moved = engine.Handle(id, transfer, Outsourcer(), kStart + 2);
  REQUIRE(moved.ok());
  CHECK(moved->state.owner() == "bpo-lead");
  CHECK(moved->events[0].owner() == "bpo-lead");
}
