// RFC 3339 times as scenarios, report ranges and the API read them.
#include "broker/common/time.h"

#include <date/date.h>

#include <catch2/catch.hpp>
#include <vector>

using bridgeline::FormatUtc;
using bridgeline::ParseUtc;
using bridgeline::TimeMs;

TEST_CASE("RFC 3339 times parse to the instant they name", "[time]") {
  TimeMs at = 0;
  SECTION("UTC, with and without a fraction") {
    REQUIRE(ParseUtc("2026-11-02T09:00:00Z", &at));
    CHECK(FormatUtc(at) == "2026-11-02T09:00:00.000Z");
    REQUIRE(ParseUtc("2026-11-02T09:00:00.5Z", &at));
    CHECK(FormatUtc(at) == "2026-11-02T09:00:00.500Z");
  }
  SECTION("an offset is taken away") {
    REQUIRE(ParseUtc("2026-11-02T10:00:00.250+01:00", &at));
    CHECK(FormatUtc(at) == "2026-11-02T09:00:00.250Z");
    REQUIRE(ParseUtc("2026-11-01T23:30:00-09:30", &at));
    CHECK(FormatUtc(at) == "2026-11-02T09:00:00.000Z");
  }
  SECTION("anything else is refused") {
    for (const char* bad :
         {"yesterday", "2026-02-30T10:00:00Z", "2026-11-02T25:00:00Z", "2026-11-02 09:00:00Z",
          "2026-11-02T09:00:00", "2026-11-02T09:00:00+0100", "2026-11-02T09:00:00.Z"}) {
      INFO(bad);
      CHECK_FALSE(ParseUtc(bad, &at));
    }
  }
}

TEST_CASE("UTC times print as date's %FT%TZ does, for any instant", "[time]") {
  // From year 0 to 9999 (printed by hand) and beyond (handed to date).
  const TimeMs year_0 = -62'167'219'200'000, year_10000 = 253'402'300'800'000;
  std::uint64_t state = 0x9E3779B97F4A7C15;
  auto next = [&state] {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    return state;
  };
  std::vector<TimeMs> instants = {0,         -1, 1, 999, -999, year_0, year_0 - 1, year_10000 - 1,
                                  year_10000};
  for (int i = 0; i < 20000; ++i) {
    const auto span = static_cast<std::uint64_t>(year_10000 - year_0) + 2'000'000;
    const TimeMs at = year_0 - 1'000'000 + static_cast<TimeMs>(next() % span);
    // Each thread reuses the last second it printed: neighbours in the same second and the
    // next, and back again, must not print a stale one.
    for (TimeMs step : {0, 1, 999, 1000, -1000, -1}) instants.push_back(at + step);
  }
  for (TimeMs at : instants) {
    INFO(at);
    date::sys_time<std::chrono::milliseconds> point{std::chrono::milliseconds(at)};
    CHECK(FormatUtc(at) == date::format("%FT%TZ", point));
  }
}
