// Time as the engine sees it: milliseconds since the Unix epoch, UTC. The engine never reads
// a wall clock; callers pass `now` in, so tests and the simulator run on virtual time.
#pragma once

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace bridgeline {

using TimeMs = std::int64_t;

inline constexpr TimeMs kSecondMs = 1000;
inline constexpr TimeMs kMinuteMs = 60 * kSecondMs;
inline constexpr TimeMs kHourMs = 60 * kMinuteMs;
inline constexpr TimeMs kDayMs = 24 * kHourMs;

inline google::protobuf::Timestamp ToTimestamp(TimeMs ms) {
  google::protobuf::Timestamp ts;
  TimeMs seconds = ms / 1000, rest = ms % 1000;
  if (rest < 0) rest += 1000, seconds -= 1;
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<std::int32_t>(rest * 1000000));
  return ts;
}

inline TimeMs FromTimestamp(const google::protobuf::Timestamp& ts) {
  return ts.seconds() * 1000 + ts.nanos() / 1000000;
}

// A configured duration in milliseconds; `fallback` when it is unset (zero).
inline TimeMs DurationMsOr(const google::protobuf::Duration& duration, TimeMs fallback) {
  const TimeMs ms = duration.seconds() * 1000 + duration.nanos() / 1000000;
  return ms > 0 ? ms : fallback;
}

// RFC 3339 in UTC with milliseconds: 2026-11-22T20:04:01.000Z.
std::string FormatUtc(TimeMs ms);

// `value` in exactly `width` decimal digits, zero-padded (0 <= value < 10^width, width <= 9),
// as the fields of a time are printed.
void AppendFixedDigits(std::uint32_t value, int width, std::string* out);

// The civil date and time of `ms` counted as UTC, 2026-11-22T20:04:01, with ".000" when
// `milliseconds`; no zone. Appends and answers true for the years 0000 to 9999 only.
bool AppendCivilTime(TimeMs ms, bool milliseconds, std::string* out);

// Parses RFC 3339 ("2026-11-02T09:00:00Z", "2026-11-02T10:00:00.250+01:00"); false when it is
// not one.
bool ParseUtc(std::string_view text, TimeMs* out);

// Parses a civil date YYYY-MM-DD; false when it is not one (2026-02-30 is not).
bool ParseCivilDate(std::string_view text, int* year, unsigned* month, unsigned* day);

// The wall clock, for the edges (HTTP, scheduler) only.
TimeMs WallClockNow();

}  // namespace bridgeline
