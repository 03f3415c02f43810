// Business time in a contract's calendar: closing time, weekends, holidays and both DST changes.
#include "broker/engine/calendar.h"

#include <date/tz.h>

#include <catch2/catch.hpp>

#include "tests/unit/engine/fixture.h"

using namespace bridgeline;
using namespace bridgeline::engine;
using namespace bridgeline::engine::testing;
namespace v1 = bridgeline::v1;
using T = v1::EventType;

namespace {

TimeMs ResolveDue(const v1::Case& state) {
  return ClockOf(state, v1::RESOLVE).due_at().seconds() * 1000;
}

}  // namespace

// The berlin contract: Mon-Fri 09:00-17:00 Europe/Berlin, holidays 24 and 25 December,
// resolve target 2h of business time.
TEST_CASE("due times count only open hours in the contract's time zone", "[engine][calendar]") {
  struct Row {
    const char* name;
    const char* created_utc;
    const char* due_utc;
  };
  // clang-format off
  const Row rows[] = {
    {"within a day",                        "2026-03-03T09:00:00Z", "2026-03-03T11:00:00Z"},  // Tue 10:00 -> 12:00 CET
    {"across closing time",                 "2026-03-03T15:30:00Z", "2026-03-04T09:30:00Z"},  // Tue 16:30 -> Wed 10:30
    {"across a weekend",                    "2026-03-06T15:00:00Z", "2026-03-09T09:00:00Z"},  // Fri 16:00 -> Mon 10:00
    {"opened on a Saturday",                "2026-03-07T12:00:00Z", "2026-03-09T10:00:00Z"},  // counts from Mon 09:00
    {"opened before opening time",          "2026-03-03T05:00:00Z", "2026-03-03T10:00:00Z"},  // Tue 06:00 -> 11:00
    {"across two holidays and a weekend",   "2026-12-23T15:00:00Z", "2026-12-28T09:00:00Z"},  // Wed 16:00 -> Mon 10:00
    {"across the spring DST change",        "2026-03-27T15:00:00Z", "2026-03-30T08:00:00Z"},  // Fri 16:00 CET -> Mon 10:00 CEST
    {"across the autumn DST change",        "2026-10-23T14:00:00Z", "2026-10-26T09:00:00Z"},  // Fri 16:00 CEST -> Mon 10:00 CET
  };
  // clang-format on
  for (const Row& row : rows) {
    DYNAMIC_SECTION(row.name) {
      Engine engine(TestRules());
      auto created = engine.Escalate(Escalation("berlin"), Outsourcer(), At(row.created_utc));
      REQUIRE(created.ok());
      CHECK(bridgeline::FormatUtc(ResolveDue(created->state)) ==
            bridgeline::FormatUtc(At(row.due_utc)));
    }
  }
}

TEST_CASE("a pause across closing time keeps the business time already used",
          "[engine][calendar]") {
  Engine engine(TestRules());
  // Tue 3 March, 15:30 CET: resolve due Wed 09:30 CET.
  auto created = engine.Escalate(Escalation("berlin"), Outsourcer(), At("2026-03-03T14:30:00Z"));
  std::string id = created->state.id();
  REQUIRE(
      engine.Handle(id, Event(T::acknowledge), Client("berlin-gmbh"), At("2026-03-03T14:45:00Z"))
          .ok());
  // 16:30 CET: one hour used, the client asks; the case waits overnight on the outsourcer.
  auto asked = engine.Handle(id, Event(T::request_info, "logs?"), Client("berlin-gmbh"),
                             At("2026-03-03T15:30:00Z"));
  REQUIRE(asked.ok());
  CHECK(ClockOf(asked->state, v1::RESOLVE).consumed_seconds() == 3600);
  // Wed 10:00 CET the outsourcer answers: one hour left, due 11:00 CET.
  auto answered = engine.Handle(id, Event(T::provide_info, "attached"), Outsourcer(),
                                At("2026-03-04T09:00:00Z"));
  REQUIRE(answered.ok());
  CHECK(bridgeline::FormatUtc(ResolveDue(answered->state)) == "2026-03-04T10:00:00.000Z");
}

TEST_CASE("business time between two instants honours DST days of 23 and 25 hours",
          "[engine][calendar]") {
  v1::Calendar config;
  config.set_name("sundays");
  config.set_time_zone("Europe/Berlin");
  auto* hours = config.add_hours();
  hours->add_days("sun");
  hours->set_open("00:00");
  hours->set_close("24:00");
  auto calendar = Calendar::Make(config);
  REQUIRE(calendar.ok());
  // Sunday 29 March 2026 (clocks go forward) and Sunday 25 October 2026 (they go back).
  CHECK(calendar->Between(At("2026-03-28T23:00:00Z"), At("2026-03-29T22:00:00Z")) == 23 * kHourMs);
  CHECK(calendar->Between(At("2026-10-24T22:00:00Z"), At("2026-10-25T23:00:00Z")) == 25 * kHourMs);
  CHECK(calendar->Add(At("2026-03-28T23:00:00Z"), 23 * kHourMs) == At("2026-03-29T22:00:00Z"));
  // The next open time after the spring Sunday is the next Sunday.
  CHECK(calendar->Add(At("2026-03-28T23:00:00Z"), 24 * kHourMs) == At("2026-04-04T23:00:00Z"));
}

TEST_CASE("opening hours that fall in the skipped DST hour start at the change",
          "[engine][calendar]") {
  v1::Calendar config;
  config.set_time_zone("Europe/Berlin");
  auto* hours = config.add_hours();
  hours->add_days("sun");
  hours->set_open("02:30");  // does not exist on 29 March 2026
  hours->set_close("04:00");
  auto calendar = Calendar::Make(config);
  REQUIRE(calendar.ok());
  // 03:00 CEST (01:00Z) to 04:00 CEST (02:00Z): one real hour that day.
  CHECK(calendar->Between(At("2026-03-29T00:00:00Z"), At("2026-03-29T03:00:00Z")) == kHourMs);
}

TEST_CASE("due times are shown in the contract's zone too", "[engine][calendar]") {
  v1::Calendar config;
  config.set_time_zone("Europe/Berlin");
  config.set_always_open(true);
  auto calendar = Calendar::Make(config);
  REQUIRE(calendar.ok());
  CHECK(calendar->FormatLocal(At("2026-03-30T08:00:00Z")) == "2026-03-30T10:00:00+02:00");
  CHECK(calendar->FormatLocal(At("2026-01-05T08:00:00Z")) == "2026-01-05T09:00:00+01:00");

  SECTION("as date's %FT%T%Ez prints it, in zones east and west, on odd offsets") {
    for (const char* zone : {"Europe/Berlin", "America/St_Johns", "Asia/Kathmandu", "UTC",
                             "Pacific/Chatham", "America/Los_Angeles"}) {
      config.set_time_zone(zone);
      auto zoned = Calendar::Make(config);
      REQUIRE(zoned.ok());
      for (TimeMs at = At("1969-06-01T00:00:00Z"); at < At("2040-01-01T00:00:00Z");
           at += 7 * kDayMs + 3 * kHourMs + 17 * 60'000 + 999) {
        INFO(zone << " " << at);
        auto point = date::sys_time<std::chrono::seconds>(std::chrono::seconds(at / 1000));
        CHECK(zoned->FormatLocal(at) ==
              date::format("%FT%T%Ez", date::make_zoned(date::locate_zone(zone), point)));
      }
    }
  }
}

TEST_CASE("two calendars asked about the same day each answer with their own hours",
          "[engine][calendar]") {
  // Each calendar remembers recent days; the memory must never hand one calendar's hours to
  // another, whether both live at once or one replaces the other at the same address.
  auto make = [](int open_hour, const char* zone) {
    v1::Calendar config;
    config.set_time_zone(zone);
    auto* hours = config.add_hours();
    for (const char* day : {"mon", "tue", "wed", "thu", "fri"}) hours->add_days(day);
    char open[8];
    std::snprintf(open, sizeof open, "%02d:00", open_hour);
    hours->set_open(open);
    hours->set_close("17:00");
    auto calendar = Calendar::Make(config);
    REQUIRE(calendar.ok());
    return *calendar;
  };
  const TimeMs tuesday_noon_utc = At("2026-03-03T12:00:00Z");
  const TimeMs two_hours = 2 * kHourMs;
  Calendar early = make(8, "UTC");
  Calendar late = make(14, "UTC");
  for (int round = 0; round < 3; ++round) {
    CHECK(early.Add(tuesday_noon_utc, two_hours) == At("2026-03-03T14:00:00Z"));
    CHECK(late.Add(tuesday_noon_utc, two_hours) == At("2026-03-03T16:00:00Z"));
  }
  for (int open_hour : {9, 13, 9}) {
    Calendar replaced = make(open_hour, "Europe/Berlin");  // often at one stack address
    const TimeMs opens_utc = At("2026-03-03T00:00:00Z") + (open_hour - 1) * kHourMs;
    CHECK(replaced.Add(At("2026-03-03T06:00:00Z"), kHourMs) == opens_utc + kHourMs);
  }
}
