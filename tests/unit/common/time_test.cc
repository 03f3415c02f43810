// RFC 3339 times as scenarios, report ranges and the API read them.
#include <catch2/catch.hpp>

#include "broker/common/time.h"

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
    for (const char* bad : {"yesterday", "2026-02-30T10:00:00Z", "2026-11-02T25:00:00Z", "2026-11-02 09:00:00Z",
                            "2026-11-02T09:00:00", "2026-11-02T09:00:00+0100", "2026-11-02T09:00:00.Z"}) {
      INFO(bad);
      CHECK_FALSE(ParseUtc(bad, &at));
    }
  }
}
