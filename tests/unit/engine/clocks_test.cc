// Two-way SLA clocks: who they bind, when they run, pause and stop, warn and breach, and the
// escalation ladder a breach runs.
#include <catch2/catch.hpp>

#include "broker/engine/apply.h"
#include "tests/unit/engine/fixture.h"

using namespace bridgeline;
using namespace bridgeline::engine;
using namespace bridgeline::engine::testing;
namespace v1 = bridgeline::v1;
using T = v1::EventType;

namespace {

TimeMs DueMs(const v1::Clock& clock) { return FromTimestamp(clock.due_at()); }

std::string Forwarded(Engine& engine, v1::Severity severity = v1::SEV2) {
  auto created = engine.Escalate(Escalation("acme", "T-1", "C-1", severity), Outsourcer(), kStart);
  REQUIRE(created.ok());
  REQUIRE(engine.Forwarded(created->state.id(), "acme-desk-sync", "", kStart).ok());
  return created->state.id();
}

std::vector<v1::Event> EventsOf(const std::vector<Outcome>& outcomes) {
  std::vector<v1::Event> events;
  for (const auto& outcome : outcomes)
    events.insert(events.end(), outcome.events.begin(), outcome.events.end());
  return events;
}

}  // namespace

TEST_CASE("each clock binds its side and starts, pauses and stops as the design says",
          "[engine][clocks]") {
  Engine engine(TestRules());
  // P2: acknowledge 20m, resolve 2h, update 30m, provide_info 15m.
  std::string id = Forwarded(engine);
  const auto state = engine.Find(id);
  CHECK(ClockOf(*state, v1::ACKNOWLEDGE).binds() == v1::CLIENT);
  CHECK(DueMs(ClockOf(*state, v1::ACKNOWLEDGE)) == kStart + 20 * kMinuteMs);
  CHECK(DueMs(ClockOf(*state, v1::RESOLVE)) == kStart + 2 * kHourMs);

  auto ack = engine.Handle(id, Event(T::acknowledge), Client(), kStart + 5 * kMinuteMs);
  REQUIRE(ack.ok());
  CHECK(ClockOf(ack->state, v1::ACKNOWLEDGE).state() == v1::Clock::STOPPED);
  CHECK(ClockOf(ack->state, v1::ACKNOWLEDGE).consumed_seconds() == 5 * 60);
  CHECK(ClockOf(ack->state, v1::UPDATE).state() == v1::Clock::RUNNING);
  CHECK(DueMs(ClockOf(ack->state, v1::UPDATE)) == kStart + 35 * kMinuteMs);

  // Waiting on the outsourcer pauses the client's clocks and starts the outsourcer's.
  auto ask = engine.Handle(id, Event(T::request_info, "which browser?"), Client(),
                           kStart + 10 * kMinuteMs);
  REQUIRE(ask.ok());
  CHECK(ask->state.waiting_on() == v1::OUTSOURCER);
  CHECK(ClockOf(ask->state, v1::RESOLVE).state() == v1::Clock::PAUSED);
  CHECK(ClockOf(ask->state, v1::UPDATE).state() == v1::Clock::PAUSED);
  CHECK(ClockOf(ask->state, v1::PROVIDE_INFO).binds() == v1::OUTSOURCER);
  CHECK(DueMs(ClockOf(ask->state, v1::PROVIDE_INFO)) == kStart + 25 * kMinuteMs);

  // 40 minutes later the outsourcer answers: the resolve clock lost none of its time.
  auto answer = engine.Handle(id, Event(T::provide_info, "Firefox 130"), Outsourcer(),
                              kStart + 50 * kMinuteMs);
  REQUIRE(answer.ok());
  CHECK(ClockOf(answer->state, v1::PROVIDE_INFO).state() == v1::Clock::STOPPED);
  CHECK(ClockOf(answer->state, v1::RESOLVE).consumed_seconds() == 10 * 60);
  CHECK(DueMs(ClockOf(answer->state, v1::RESOLVE)) == kStart + 50 * kMinuteMs + 110 * kMinuteMs);
  CHECK(DueMs(ClockOf(answer->state, v1::UPDATE)) == kStart + 50 * kMinuteMs + 25 * kMinuteMs);

  // An update restarts the update clock.
  auto update =
      engine.Handle(id, Event(T::update, "fix in test"), Client(), kStart + 60 * kMinuteMs);
  REQUIRE(update.ok());
  CHECK(DueMs(ClockOf(update->state, v1::UPDATE)) == kStart + 90 * kMinuteMs);

  // Resolving stops the client's clocks and starts the outsourcer's confirm clock.
  auto resolved = engine.Handle(id, Event(T::resolve), Client(), kStart + 70 * kMinuteMs);
  REQUIRE(resolved.ok());
  for (auto kind : {v1::ACKNOWLEDGE, v1::RESOLVE, v1::UPDATE, v1::PROVIDE_INFO}) {
    CHECK(ClockOf(resolved->state, kind).state() == v1::Clock::STOPPED);
  }
  CHECK(ClockOf(resolved->state, v1::CONFIRM).binds() == v1::OUTSOURCER);
  CHECK(DueMs(ClockOf(resolved->state, v1::CONFIRM)) == kStart + 130 * kMinuteMs);
}

TEST_CASE("the update clock is optional per priority", "[engine][clocks]") {
  Engine engine(TestRules());
  std::string id = Forwarded(engine, v1::SEV3);  // P3 has no update target
  auto ack = engine.Handle(id, Event(T::acknowledge), Client(), kStart + kMinuteMs);
  REQUIRE(ack.ok());
  CHECK(FindClock(ack->state, v1::UPDATE) == nullptr);
}

TEST_CASE("a clock warns at its share, breaches at its target, each once", "[engine][clocks]") {
  Engine engine(TestRules());
  std::string id = Forwarded(engine);  // acknowledge 20m, warn at 0.5
  REQUIRE(engine.NextDeadline() == kStart + 10 * kMinuteMs);

  CHECK(engine.AdvanceClocks(kStart + 10 * kMinuteMs - 1).empty());
  auto warned = EventsOf(engine.AdvanceClocks(kStart + 10 * kMinuteMs));
  REQUIRE(warned.size() == 1);
  CHECK(warned[0].type() == T::clock_warning);
  CHECK(warned[0].clock() == v1::ACKNOWLEDGE);
  CHECK(warned[0].actor().side() == v1::SYSTEM);
  CHECK(engine.AdvanceClocks(kStart + 15 * kMinuteMs).empty());  // fires once

  auto breached = EventsOf(engine.AdvanceClocks(kStart + 20 * kMinuteMs));
  REQUIRE_FALSE(breached.empty());
  CHECK(breached[0].type() == T::clock_breach);
  CHECK(breached[0].clock() == v1::ACKNOWLEDGE);
  CHECK(ClockOf(*engine.Find(id), v1::ACKNOWLEDGE).breached());
  CHECK(engine.AdvanceClocks(kStart + 21 * kMinuteMs).empty());  // fires once
  // A breached clock still runs until its stop, so lateness is measured.
  auto ack = engine.Handle(id, Event(T::acknowledge), Client(), kStart + 25 * kMinuteMs);
  CHECK(ClockOf(ack->state, v1::ACKNOWLEDGE).consumed_seconds() == 25 * 60);
}

TEST_CASE("a stopped or paused clock does not fire", "[engine][clocks]") {
  Engine engine(TestRules());
  std::string id = Forwarded(engine);
  REQUIRE(engine.Handle(id, Event(T::acknowledge), Client(), kStart + kMinuteMs).ok());
  REQUIRE(engine.Handle(id, Event(T::request_info, "?"), Client(), kStart + 2 * kMinuteMs).ok());
  // Only the outsourcer's provide-info clock (15m) is running now.
  auto events = EventsOf(engine.AdvanceClocks(kStart + 3 * kHourMs));
  for (const auto& event : events) CHECK(event.clock() == v1::PROVIDE_INFO);
  CHECK_FALSE(events.empty());
}

TEST_CASE("a breach runs the escalation ladder", "[engine][clocks][ladder]") {
  Engine engine(TestRules());
  std::string id = Forwarded(engine, v1::SEV4);  // P4: acknowledge 40m, resolve 4h
  REQUIRE(engine.Handle(id, Event(T::acknowledge), Client(), kStart + kMinuteMs).ok());

  auto outcomes = engine.AdvanceClocks(kStart + 4 * kHourMs);
  auto events = EventsOf(outcomes);
  // warning, then the breach with its ladder: raise to P1, transfer to the duty owner.
  std::vector<T::Value> types;
  for (const auto& event : events) types.push_back(event.type());
  REQUIRE(types ==
          std::vector<T::Value>{T::clock_warning, T::clock_breach, T::set_priority, T::transfer});
  CHECK(events[2].priority() == v1::P1);
  CHECK(events[2].reason() == "breach of the RESOLVE clock");
  CHECK(events[3].owner() == "acme-duty");
  const v1::Case state = *engine.Find(id);
  CHECK(state.owner() == "acme-duty");
  CHECK(state.priority() == v1::P1);
  // The breach is also delivered to the notify connector.
  const Outcome& breach = outcomes.back();
  bool paged = false;
  for (const auto& delivery : breach.deliveries) {
    paged |= delivery.connector == "pager" &&
             breach.events[delivery.event_index].type() == T::clock_breach;
  }
  CHECK(paged);
}

TEST_CASE("raising the priority past the elapsed time breaches at once", "[engine][clocks]") {
  Engine engine(TestRules());
  std::string id = Forwarded(engine, v1::SEV4);  // resolve 4h
  REQUIRE(engine.Handle(id, Event(T::acknowledge), Client(), kStart + kMinuteMs).ok());
  auto raise = Event(T::set_priority);
  raise.set_priority(v1::P1);  // resolve 1h, of which 90 minutes are gone
  REQUIRE(engine.Handle(id, raise, Client(), kStart + 90 * kMinuteMs).ok());
  REQUIRE(engine.NextDeadline() <= kStart + 90 * kMinuteMs);
  auto events = EventsOf(engine.AdvanceClocks(kStart + 90 * kMinuteMs));
  bool breached = false;
  for (const auto& event : events)
    breached |= event.type() == T::clock_breach && event.clock() == v1::RESOLVE;
  CHECK(breached);
}

TEST_CASE("recovery restores pending clocks and clocks due while down fire once",
          "[engine][clocks]") {
  Engine before(TestRules());
  std::string id = Forwarded(before);
  v1::Case stored = *before.Find(id);

  Engine after(TestRules());
  after.Restore(stored);
  CHECK(after.next_case_number() == 2);
  // Down for a day: every due warning and breach fires right after start, once.
  auto events = EventsOf(after.AdvanceClocks(kStart + 24 * kHourMs));
  int acknowledge_breaches = 0;
  for (const auto& event : events) {
    acknowledge_breaches += event.type() == T::clock_breach && event.clock() == v1::ACKNOWLEDGE;
  }
  CHECK(acknowledge_breaches == 1);
  CHECK(EventsOf(after.AdvanceClocks(kStart + 48 * kHourMs)).empty());
}
