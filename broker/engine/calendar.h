// Business time: when a contract's calendar is open (24x7, or working hours in an IANA time
// zone with holidays), and arithmetic on open time. SLA targets are counted in it.
#pragma once

#include <date/tz.h>

#include <array>
#include <boost/container/small_vector.hpp>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "bridgeline/v1/config.pb.h"
#include "broker/common/status.h"
#include "broker/common/time.h"

namespace bridgeline::engine {

class Calendar {
 public:
  // Builds a calendar from a validated config entry.
  static Result<Calendar> Make(const bridgeline::v1::Calendar& config);
  // A calendar that is always open, in UTC.
  static Calendar AlwaysOpen();

  // The instant at which `business_ms` of open time will have passed since `from`.
  TimeMs Add(TimeMs from, std::int64_t business_ms) const;
  // Open time between `from` and `to`; 0 when `to` is not after `from`.
  std::int64_t Between(TimeMs from, TimeMs to) const;

  // `at` in the calendar's zone as RFC 3339 with offset: 2026-11-23T09:30:00+01:00.
  std::string FormatLocal(TimeMs at) const;
  const std::string& time_zone_name() const { return time_zone_name_; }

 private:
  using Interval = std::pair<TimeMs, TimeMs>;
  // A day has few open intervals: kept inline, as Add and Between run on every clock change.
  using Intervals = boost::container::small_vector<Interval, 4>;
  // The open intervals (UTC) of one local day, in order.
  void OpenIntervals(date::local_days day, Intervals* out) const;
  void ComputeOpenIntervals(date::local_days day, Intervals* out) const;
  date::local_days LocalDay(TimeMs at) const;

  bool always_open_ = true;
  // Names this calendar's contents (copies share it) for OpenIntervals' memory; 0 only for
  // AlwaysOpen(), which never asks for open intervals.
  std::uint64_t identity_ = 0;
  const date::time_zone* zone_ = nullptr;
  std::string time_zone_name_ = "UTC";
  // Minutes after local midnight, by weekday (0 = Sunday, as date::weekday counts).
  std::array<std::vector<std::pair<int, int>>, 7> hours_;
  std::set<date::local_days> holidays_;
};

}  // namespace bridgeline::engine
