// The case lifecycle: which events are legal from which status and side, and what they do.
#include <catch2/catch.hpp>

#include "broker/engine/apply.h"
#include "tests/unit/engine/fixture.h"

using namespace bridgeline;
using namespace bridgeline::engine;
using namespace bridgeline::engine::testing;
namespace v1 = bridgeline::v1;
using T = v1::EventType;

namespace {

// Drives a fresh case to `status` along the ordinary path.
std::string CaseIn(Engine& engine, v1::CaseStatus status, TimeMs* now) {
  auto created = engine.Escalate(Escalation(), Outsourcer(), *now);
  REQUIRE(created.ok());
  std::string id = created->state.id();
  auto step = [&](const v1::Actor& actor, T::Value type) {
    *now += kMinuteMs;
    auto outcome = engine.Handle(id, Event(type), actor, *now);
    INFO(outcome.status().ToString());
    REQUIRE(outcome.ok());
  };
  if (status == v1::NEW) return id;
  REQUIRE(engine.Forwarded(id, "acme-desk-sync", "REMOTE-1", *now += kMinuteMs).ok());
  if (status == v1::FORWARDED) return id;
  step(Client(), T::acknowledge);
  if (status == v1::ACKNOWLEDGED) return id;
  if (status == v1::AWAITING_OUTSOURCER) {
    step(Client(), T::request_info);
    return id;
  }
  step(Client(), T::resolve);
  if (status == v1::RESOLVED) return id;
  if (status == v1::REOPENED) {
    step(Outsourcer(), T::reopen);
    return id;
  }
  step(Outsourcer(), T::confirm);
  return id;
}

struct Row {
  v1::CaseStatus from;
  T::Value type;
  v1::Side side;
  bool accepted;
  v1::CaseStatus to;
};

}  // namespace

TEST_CASE("each event is accepted only from its statuses and its side", "[engine][lifecycle]") {
  using S = v1::CaseStatus;
  const v1::Side C = v1::CLIENT, O = v1::OUTSOURCER;
  // clang-format off
  const Row rows[] = {
    {v1::FORWARDED, T::acknowledge, C, true, v1::ACKNOWLEDGED},
    {v1::FORWARDED, T::acknowledge, O, false, S{}},
    {v1::ACKNOWLEDGED, T::acknowledge, C, false, S{}},
    {v1::ACKNOWLEDGED, T::request_info, C, true, v1::AWAITING_OUTSOURCER},
    {v1::FORWARDED, T::request_info, C, false, S{}},
    {v1::ACKNOWLEDGED, T::request_info, O, false, S{}},
    {v1::AWAITING_OUTSOURCER, T::provide_info, O, true, v1::ACKNOWLEDGED},
    {v1::AWAITING_OUTSOURCER, T::provide_info, C, false, S{}},
    {v1::ACKNOWLEDGED, T::provide_info, O, false, S{}},
    {v1::ACKNOWLEDGED, T::update, C, true, v1::ACKNOWLEDGED},
    {v1::FORWARDED, T::update, C, false, S{}},
    {v1::ACKNOWLEDGED, T::update, O, false, S{}},
    {v1::FORWARDED, T::resolve, C, true, v1::RESOLVED},
    {v1::ACKNOWLEDGED, T::resolve, C, true, v1::RESOLVED},
    {v1::AWAITING_OUTSOURCER, T::resolve, C, true, v1::RESOLVED},
    {v1::ACKNOWLEDGED, T::resolve, O, false, S{}},
    {v1::RESOLVED, T::resolve, C, false, S{}},
    {v1::RESOLVED, T::confirm, O, true, v1::CLOSED},
    {v1::RESOLVED, T::confirm, C, false, S{}},
    {v1::ACKNOWLEDGED, T::confirm, O, false, S{}},
    {v1::RESOLVED, T::reopen, O, true, v1::REOPENED},
    {v1::RESOLVED, T::reopen, C, false, S{}},
    {v1::ACKNOWLEDGED, T::reopen, O, false, S{}},
    {v1::REOPENED, T::acknowledge, C, false, S{}},
    {v1::REOPENED, T::request_info, C, true, v1::AWAITING_OUTSOURCER},
    {v1::REOPENED, T::resolve, C, true, v1::RESOLVED},
    {v1::ACKNOWLEDGED, T::comment, C, true, v1::ACKNOWLEDGED},
    {v1::RESOLVED, T::comment, O, true, v1::RESOLVED},
    {v1::ACKNOWLEDGED, T::flag_exception, O, true, v1::ACKNOWLEDGED},
  };
  // clang-format on
  for (const Row& row : rows) {
    DYNAMIC_SECTION(v1::CaseStatus_Name(row.from)
                    << " + " << T::Value_Name(row.type) << " by " << v1::Side_Name(row.side)) {
      Engine engine(TestRules());
      TimeMs now = kStart;
      std::string id = CaseIn(engine, row.from, &now);
      const v1::Case before = *engine.Find(id);
      auto outcome =
          engine.Handle(id, Event(row.type, "note", "reason"),
                        row.side == v1::CLIENT ? Client() : Outsourcer(), now + kMinuteMs);
      if (row.accepted) {
        INFO(outcome.status().ToString());
        REQUIRE(outcome.ok());
        CHECK(outcome->state.status() == row.to);
        REQUIRE(outcome->events.size() == 1);
        CHECK(outcome->events[0].type() == row.type);
        CHECK(outcome->events[0].actor().side() == row.side);
        CHECK(outcome->events[0].actor().person() == "someone");
        CHECK(outcome->events[0].at().seconds() * 1000 == now + kMinuteMs);
      } else {
        REQUIRE_FALSE(outcome.ok());
        CHECK_FALSE(outcome.status().message().empty());
        // A refused event changes nothing.
        CHECK(engine.Find(id)->SerializeAsString() == before.SerializeAsString());
      }
    }
  }
}

TEST_CASE("refusals say why, with the right kind of error", "[engine][lifecycle]") {
  Engine engine(TestRules());
  TimeMs now = kStart;
  std::string id = CaseIn(engine, v1::ACKNOWLEDGED, &now);

  SECTION("an illegal transition is a failed precondition naming the status") {
    auto outcome = engine.Handle(id, Event(T::confirm), Outsourcer(), now);
    CHECK(outcome.status().code() == bridgeline::Status::Code::kFailedPrecondition);
    CHECK_THAT(outcome.status().message(), Catch::Contains("while it is ACKNOWLEDGED"));
  }
  SECTION("the wrong side is a permission error") {
    auto outcome = engine.Handle(id, Event(T::resolve), Outsourcer(), now);
    CHECK(outcome.status().code() == bridgeline::Status::Code::kPermissionDenied);
  }
  SECTION("an organization not party to the case does not see it") {
    auto outcome = engine.Handle(id, Event(T::resolve), Client("berlin-gmbh"), now);
    CHECK(outcome.status().code() == bridgeline::Status::Code::kNotFound);
  }
  SECTION("a client cannot act on a case not yet forwarded to it") {
    auto fresh = engine.Escalate(Escalation("acme", "T-9", "C-9"), Outsourcer(), now);
    auto outcome = engine.Handle(fresh->state.id(), Event(T::acknowledge), Client(), now);
    CHECK(outcome.status().code() == bridgeline::Status::Code::kNotFound);
  }
  SECTION("the broker's own events cannot be sent by people") {
    auto outcome = engine.Handle(id, Event(T::clock_breach), Client(), now);
    CHECK(outcome.status().field() == "type");
  }
  SECTION("an owner or a priority sent with another type is refused, not dropped") {
    auto update_with_owner = Event(T::update, "working on it");
    update_with_owner.set_owner("acme-security");
    auto with_owner = engine.Handle(id, update_with_owner, Client(), now);
    CHECK(with_owner.status().field() == "owner");
    CHECK_THAT(with_owner.status().message(), Catch::Contains("transfer only, not by update"));
    auto update_with_priority = Event(T::update, "working on it");
    update_with_priority.set_priority(v1::P1);
    auto with_priority = engine.Handle(id, update_with_priority, Client(), now);
    CHECK(with_priority.status().field() == "priority");
    CHECK_THAT(with_priority.status().message(), Catch::Contains("set_priority only"));
    CHECK(engine.Find(id)->priority() != v1::P1);
    // A note and a reason are history for any type.
    CHECK(
        engine.Handle(id, Event(T::update, "working on it", "customer asked"), Client(), now).ok());
  }
  SECTION("request_info needs a note") {
    auto outcome = engine.Handle(id, Event(T::request_info, ""), Client(), now);
    CHECK(outcome.status().field() == "note");
  }
  SECTION("flag_exception needs a reason") {
    auto outcome = engine.Handle(id, Event(T::flag_exception, "n", ""), Client(), now);
    CHECK(outcome.status().field() == "reason");
  }
  SECTION("a case answers to its own id only, not to another spelling of its number") {
    REQUIRE(id.rfind("BL-", 0) == 0);
    const std::string number = id.substr(3);
    for (const std::string& other :
         std::vector<std::string>{"BL-0" + number, "BL-00" + number, "BL-+" + number,
                                  "BL- " + number, id + " ", "bl-" + number, "BL-"}) {
      INFO(other);
      CHECK(Engine::CaseNumber(other) == 0);
      CHECK_FALSE(engine.Find(other).has_value());
      CHECK(engine.Handle(other, Event(T::comment, "n"), Client(), now).status().code() ==
            bridgeline::Status::Code::kNotFound);
    }
    CHECK(Engine::CaseNumber(id) == std::stoull(number));
    CHECK(engine.Find(id).has_value());
  }
  SECTION("a priority or severity no enum value names is refused, not looked up") {
    // JSON may carry an enum as any number; P4 is the last row of the SLA targets.
    for (int number : {5, 9, -1}) {
      INFO(number);
      auto raise = Event(T::set_priority, "n", "vip");
      raise.set_priority(static_cast<v1::Priority>(number));
      auto outcome = engine.Handle(id, raise, Client(), now);
      CHECK(outcome.status().field() == "priority");
      auto escalation = Escalation("acme", "T-N", "C-N");
      escalation.set_severity(static_cast<v1::Severity>(number));
      CHECK(engine.Escalate(escalation, Outsourcer(), now).status().field() == "severity");
    }
  }
}

TEST_CASE("required text of spaces and line breaks only counts as missing", "[engine][lifecycle]") {
  Engine engine(TestRules());
  TimeMs now = kStart;
  SECTION("in an escalation") {
    auto blank_subject = Escalation();
    blank_subject.set_subject(" \n\t ");
    CHECK(engine.Escalate(blank_subject, Outsourcer(), now).status().field() == "subject");
    auto blank_ticket = Escalation();
    blank_ticket.set_tier1_ticket_id("   ");
    CHECK(engine.Escalate(blank_ticket, Outsourcer(), now).status().field() == "tier1_ticket_id");
    auto blank_customer = Escalation();
    blank_customer.mutable_customer()->set_id("\r\n");
    CHECK(engine.Escalate(blank_customer, Outsourcer(), now).status().field() == "customer.id");
    CHECK_FALSE(engine.Find("BL-1").has_value());
    // Spaces around real text are the sender's to keep.
    auto padded = Escalation();
    padded.set_subject("  Cannot log in ");
    auto created = engine.Escalate(padded, Outsourcer(), now);
    REQUIRE(created.ok());
    CHECK(created->state.subject() == "  Cannot log in ");
  }
  SECTION("in an event") {
    std::string id = CaseIn(engine, v1::ACKNOWLEDGED, &now);
    CHECK(engine.Handle(id, Event(T::request_info, "  "), Client(), now).status().field() ==
          "note");
    CHECK(engine.Handle(id, Event(T::flag_exception, "n", "\t"), Client(), now).status().field() ==
          "reason");
    auto transfer = Event(T::transfer, "", " ");
    transfer.set_owner("acme-security");
    CHECK(engine.Handle(id, transfer, Client(), now).status().field() == "reason");
    CHECK(engine.Find(id)->status() == v1::ACKNOWLEDGED);
  }
}

TEST_CASE("confirm closes the case and takes it out of memory; reopen sends it back",
          "[engine][lifecycle]") {
  Engine engine(TestRules());
  TimeMs now = kStart;
  SECTION("confirm") {
    std::string id = CaseIn(engine, v1::RESOLVED, &now);
    auto closed = engine.Handle(id, Event(T::confirm), Outsourcer(), now + kMinuteMs);
    REQUIRE(closed.ok());
    CHECK(closed->state.status() == v1::CLOSED);
    CHECK(closed->state.waiting_on() == v1::SIDE_UNSPECIFIED);
    CHECK(ClockOf(closed->state, v1::CONFIRM).state() == v1::Clock::STOPPED);
    CHECK(!engine.Find(id));
    // The same customer and ticket now opens a new case.
    auto again = engine.Escalate(Escalation(), Outsourcer(), now + 2 * kMinuteMs);
    REQUIRE(again.ok());
    CHECK(again->created);
    CHECK(again->state.id() != id);
  }
  SECTION("reopen") {
    std::string id = CaseIn(engine, v1::RESOLVED, &now);
    auto reopened =
        engine.Handle(id, Event(T::reopen, "still failing"), Outsourcer(), now + kMinuteMs);
    REQUIRE(reopened.ok());
    CHECK(reopened->state.status() == v1::REOPENED);
    CHECK(reopened->state.waiting_on() == v1::CLIENT);
    CHECK(reopened->state.reopen_count() == 1);
    CHECK(ClockOf(reopened->state, v1::RESOLVE).state() == v1::Clock::RUNNING);
    CHECK(ClockOf(reopened->state, v1::CONFIRM).state() == v1::Clock::STOPPED);
  }
}

TEST_CASE("every event carries the actor and time and the case's version", "[engine][lifecycle]") {
  Engine engine(TestRules());
  TimeMs now = kStart;
  std::string id = CaseIn(engine, v1::ACKNOWLEDGED, &now);
  const v1::Case state = *engine.Find(id);
  CHECK(state.version() == 3);  // escalated, forwarded, acknowledge
  CHECK(state.remote_refs().at("acme-desk-sync") == "REMOTE-1");
  auto comment = engine.Handle(id, Event(T::comment, "looking"), Client(), now + kSecondMs);
  REQUIRE(comment.ok());
  CHECK(comment->events[0].case_version() == 4);
  CHECK(comment->events[0].actor().organization() == "acme-corp");
  CHECK(comment->events[0].status() == v1::ACKNOWLEDGED);
}

TEST_CASE("events go to the contract's connectors, never back to where they came from",
          "[engine][lifecycle]") {
  Engine engine(TestRules());
  auto created = engine.Escalate(Escalation(), Outsourcer(), kStart);
  REQUIRE(created->deliveries.size() == 1);
  CHECK(created->deliveries[0].connector == "acme-desk-sync");
  auto forwarded = engine.Forwarded(created->state.id(), "acme-desk-sync", "R-1", kStart + 1);
  REQUIRE(forwarded.ok());
  CHECK(forwarded->deliveries.empty());
  CHECK(forwarded->state.status() == v1::FORWARDED);
  CHECK_FALSE(engine.Forwarded(created->state.id(), "acme-desk-sync", "R-1", kStart + 2).ok());
}

TEST_CASE(
    "a change a connector brings in acts as the client, only on cases it carries, and is "
    "not sent back to it",
    "[engine][lifecycle][connectors]") {
  Engine engine(TestRules());
  auto created = engine.Escalate(Escalation(), Outsourcer(), kStart);
  REQUIRE(created.ok());
  const std::string id = created->state.id();
  REQUIRE(engine.Forwarded(id, "acme-desk-sync", "R-1", kStart + 1).ok());
  v1::Actor via_desk;
  via_desk.set_via("acme-desk-sync");
  SECTION("through the contract's own connector it is the client's acknowledgement") {
    auto acknowledged = engine.Handle(id, Event(T::acknowledge), via_desk, kStart + 2);
    REQUIRE(acknowledged.ok());
    const v1::Event& event = acknowledged->events.front();
    CHECK(event.actor().organization() == "acme-corp");
    CHECK(event.actor().side() == v1::CLIENT);
    CHECK(event.actor().via() == "acme-desk-sync");
    CHECK(acknowledged->state.status() == v1::ACKNOWLEDGED);
    // The desk made the change: nothing goes back to it.
    for (const auto& delivery : acknowledged->deliveries)
      CHECK(delivery.connector != "acme-desk-sync");
  }
  SECTION("through another connector the case does not exist") {
    v1::Actor via_pager;
    via_pager.set_via("pager");
    auto refused = engine.Handle(id, Event(T::acknowledge), via_pager, kStart + 2);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().code() == Status::Code::kNotFound);
    CHECK_THAT(refused.status().message(), Catch::Contains("carried by connector pager"));
  }
  SECTION("it may do only what the client may") {
    auto refused = engine.Handle(id, Event(T::confirm), via_desk, kStart + 2);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().code() == Status::Code::kPermissionDenied);
  }
}

TEST_CASE("a desk that acknowledges on receipt may answer before the forwarding is recorded",
          "[engine][lifecycle][connectors]") {
  Engine engine(TestRules());
  auto created = engine.Escalate(Escalation(), Outsourcer(), kStart);
  REQUIRE(created.ok());
  const std::string id = created->state.id();
  REQUIRE(created->state.status() == v1::NEW);
  // Through its API the client does not see a case before it is forwarded...
  CHECK(engine.Handle(id, Event(T::acknowledge), Client(), kStart + 1).status().code() ==
        Status::Code::kNotFound);
  // ...but its desk's connector was handed the case, and its answer may beat the `forwarded`.
  v1::Actor via_desk;
  via_desk.set_via("acme-desk-sync");
  auto acknowledged = engine.Handle(id, Event(T::acknowledge), via_desk, kStart + 1);
  REQUIRE(acknowledged.ok());
  CHECK(acknowledged->state.status() == v1::ACKNOWLEDGED);
  // The forwarding recorded after it still keeps the desk's reference to the case.
  auto forwarded = engine.Forwarded(id, "acme-desk-sync", "R-1", kStart + 2);
  REQUIRE(forwarded.ok());
  CHECK(forwarded->state.remote_refs().at("acme-desk-sync") == "R-1");
  CHECK(forwarded->state.status() == v1::ACKNOWLEDGED);
  // A connector the contract does not use still finds no case.
  v1::Actor via_pager;
  via_pager.set_via("pager");
  CHECK(engine.Handle(id, Event(T::comment, "n"), via_pager, kStart + 3).status().code() ==
        Status::Code::kNotFound);
}

TEST_CASE("events carry the case's context for the log, and open cases are counted",
          "[engine][lifecycle]") {
  Engine engine(TestRules());
  TimeMs now = kStart;
  auto created = engine.Escalate(Escalation(), Outsourcer(), now);
  REQUIRE(created.ok());
  const v1::Event& escalated = created->events.front();
  CHECK(escalated.context().contract() == "acme");
  CHECK(escalated.context().priority() == created->state.priority());
  CHECK(escalated.context().owner() == created->state.owner());
  CHECK(escalated.context().waiting_on() == v1::CLIENT);
  REQUIRE(escalated.context().clocks_size() >= 2);
  CHECK(escalated.context().clocks(0).due_at().seconds() > 0);
  CHECK(engine.open_counts()[v1::NEW][created->state.priority()] == 1);

  std::string id = created->state.id();
  REQUIRE(engine.Forwarded(id, "acme-desk-sync", "REMOTE-1", now += kMinuteMs).ok());
  CHECK(engine.open_counts()[v1::NEW][created->state.priority()] == 0);
  CHECK(engine.open_counts()[v1::FORWARDED][created->state.priority()] == 1);
  REQUIRE(engine.Handle(id, Event(T::acknowledge), Client(), now += kMinuteMs).ok());
  CHECK(engine.open_counts()[v1::FORWARDED][created->state.priority()] == 0);
  CHECK(engine.open_counts()[v1::ACKNOWLEDGED][created->state.priority()] == 1);
  REQUIRE(engine.Handle(id, Event(T::resolve), Client(), now += kMinuteMs).ok());
  REQUIRE(engine.Handle(id, Event(T::confirm), Outsourcer(), now += kMinuteMs).ok());
  std::int64_t open = 0;
  for (const auto& by_priority : engine.open_counts()) {
    for (auto count : by_priority) open += count;
  }
  CHECK(open == 0);

  SECTION("the simulator turns the context off") {
    Engine quiet(TestRules());
    quiet.set_event_context(false);
    auto outcome = quiet.Escalate(Escalation(), Outsourcer(), now);
    REQUIRE(outcome.ok());
    CHECK_FALSE(outcome->events.front().has_context());
  }
}

TEST_CASE("indexes reserved for a number of open cases do not grow before it is reached",
          "[engine][memory]") {
  Engine engine(TestRules());
  constexpr int kReserved = 2000;
  engine.Reserve(kReserved);
  const std::size_t buckets = engine.index_buckets();
  const std::size_t deadline_bytes = engine.deadline_index_bytes();
  TimeMs now = kStart;
  for (int i = 0; i < kReserved; ++i) {
    const std::string n = std::to_string(i);
    auto created = engine.Escalate(Escalation("acme", "T-" + n, "C-" + n), Outsourcer(), now);
    REQUIRE(created.ok());
    REQUIRE(created->created);
  }
  CHECK(engine.open_cases() == kReserved);
  CHECK(engine.index_buckets() == buckets);
  CHECK(engine.deadline_index_bytes() == deadline_bytes);

  SECTION("past the reservation they grow as needed") {
    for (int i = kReserved; i < 3 * kReserved; ++i) {
      const std::string n = std::to_string(i);
      REQUIRE(engine.Escalate(Escalation("acme", "T-" + n, "C-" + n), Outsourcer(), now).ok());
    }
    CHECK(engine.open_cases() == 3 * kReserved);
    CHECK(engine.index_buckets() > buckets);
  }
}
