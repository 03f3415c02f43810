#include "broker/engine/calendar.h"

#include <algorithm>
#include <atomic>
#include <boost/container/small_vector.hpp>
#include <sstream>

namespace bridgeline::engine {

namespace {

// A calendar with working hours has some open time every week, so 10 years of days is a
// generous bound that only stops runaway loops on impossible inputs.
constexpr int kMaxDaysScanned = 3660;

int DayIndex(const std::string& name) {
  static const char* kNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
  for (int i = 0; i < 7; ++i) {
    if (name == kNames[i]) return i;
  }
  return -1;
}

int Minutes(const std::string& clock_time) {
  return std::stoi(clock_time.substr(0, 2)) * 60 + std::stoi(clock_time.substr(3, 2));
}

}  // namespace

Calendar Calendar::AlwaysOpen() {
  Calendar calendar;
  calendar.zone_ = date::locate_zone("UTC");
  return calendar;
}

Result<Calendar> Calendar::Make(const bridgeline::v1::Calendar& config) {
  static std::atomic<std::uint64_t> made{0};
  Calendar calendar;
  calendar.identity_ = ++made;
  calendar.always_open_ = config.always_open();
  calendar.time_zone_name_ = config.time_zone().empty() ? "UTC" : config.time_zone();
  try {
    calendar.zone_ = date::locate_zone(calendar.time_zone_name_);
  } catch (const std::exception&) {
    return Status::InvalidArgument("'" + calendar.time_zone_name_ + "' is not an IANA time zone",
                                   "time_zone");
  }
  for (const auto& hours : config.hours()) {
    for (const auto& day : hours.days()) {
      int index = DayIndex(day);
      if (index < 0) return Status::InvalidArgument("'" + day + "' is not a day", "hours.days");
      calendar.hours_[index].emplace_back(Minutes(hours.open()), Minutes(hours.close()));
    }
  }
  for (auto& day : calendar.hours_) std::sort(day.begin(), day.end());
  for (const auto& holiday : config.holidays()) {
    int year;
    unsigned month, day;
    if (!ParseCivilDate(holiday, &year, &month, &day)) {
      return Status::InvalidArgument("'" + holiday + "' is not a date", "holidays");
    }
    calendar.holidays_.insert(
        date::local_days(date::year(year) / date::month(month) / date::day(day)));
  }
  if (!calendar.always_open_) {
    bool any = std::any_of(calendar.hours_.begin(), calendar.hours_.end(),
                           [](const auto& day) { return !day.empty(); });
    if (!any) return Status::InvalidArgument("the calendar is never open", "hours");
  }
  return calendar;
}

date::local_days Calendar::LocalDay(TimeMs at) const {
  auto local =
      zone_->to_local(date::sys_time<std::chrono::milliseconds>(std::chrono::milliseconds(at)));
  return date::floor<date::days>(local);
}

void Calendar::OpenIntervals(date::local_days day, Intervals* out) const {
  // Clocks of one contract keep asking about the same few days, and each answer costs two
  // time zone lookups per interval: remember recent days, per thread (calendars are shared,
  // read-only, between threads).
  struct Remembered {
    std::uint64_t calendar = 0;
    date::local_days day;
    Intervals intervals;
  };
  thread_local std::array<Remembered, 64> remembered;
  const auto days = static_cast<std::uint64_t>(day.time_since_epoch().count());
  Remembered& slot = remembered[(days * 31 + identity_) % remembered.size()];
  if (slot.calendar != identity_ || slot.day != day) {
    ComputeOpenIntervals(day, &slot.intervals);
    slot.calendar = identity_;
    slot.day = day;
  }
  *out = slot.intervals;
}

void Calendar::ComputeOpenIntervals(date::local_days day, Intervals* out) const {
  out->clear();
  if (holidays_.count(day)) return;
  unsigned weekday = date::weekday(day).c_encoding();
  for (const auto& [open, close] : hours_[weekday]) {
    // A local time skipped by a DST change maps to the moment of the change.
    auto to_utc = [&](int minutes) {
      auto local = day + std::chrono::minutes(minutes);
      auto sys = zone_->to_sys(local, date::choose::earliest);
      return std::chrono::duration_cast<std::chrono::milliseconds>(sys.time_since_epoch()).count();
    };
    TimeMs start = to_utc(open), end = to_utc(close);
    if (end > start) out->emplace_back(start, end);
  }
}

TimeMs Calendar::Add(TimeMs from, std::int64_t business_ms) const {
  if (business_ms <= 0) return from;
  if (always_open_) return from + business_ms;
  std::int64_t remaining = business_ms;
  Intervals intervals;
  date::local_days day = LocalDay(from);
  for (int scanned = 0; scanned < kMaxDaysScanned; ++scanned, day += date::days(1)) {
    OpenIntervals(day, &intervals);
    for (const auto& [start, end] : intervals) {
      if (end <= from) continue;
      TimeMs begin = std::max(start, from);
      if (remaining <= end - begin) return begin + remaining;
      remaining -= end - begin;
    }
  }
  return from + business_ms + static_cast<TimeMs>(kMaxDaysScanned) * kDayMs;
}

std::int64_t Calendar::Between(TimeMs from, TimeMs to) const {
  if (to <= from) return 0;
  if (always_open_) return to - from;
  std::int64_t total = 0;
  Intervals intervals;
  date::local_days last = LocalDay(to);
  int scanned = 0;
  for (date::local_days day = LocalDay(from); day <= last && scanned < kMaxDaysScanned;
       day += date::days(1), ++scanned) {
    OpenIntervals(day, &intervals);
    for (const auto& [start, end] : intervals) {
      TimeMs begin = std::max(start, from), finish = std::min(end, to);
      if (finish > begin) total += finish - begin;
    }
  }
  return total;
}

std::string Calendar::FormatLocal(TimeMs at) const {
  auto point = date::sys_time<std::chrono::seconds>(std::chrono::seconds(at / 1000));
  const auto offset = zone_->get_info(point).offset;
  std::string text;
  text.reserve(25);
  if (!AppendCivilTime((point + offset).time_since_epoch().count() * 1000, false, &text)) {
    // %Ez prints the offset as RFC 3339 wants it: +01:00.
    return date::format("%FT%T%Ez", date::make_zoned(zone_, point));
  }
  const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(offset).count();
  const auto size = minutes < 0 ? -minutes : minutes;
  text.push_back(minutes < 0 ? '-' : '+');
  AppendFixedDigits(static_cast<std::uint32_t>(size / 60), 2, &text);
  text.push_back(':');
  AppendFixedDigits(static_cast<std::uint32_t>(size % 60), 2, &text);
  return text;
}

}  // namespace bridgeline::engine
