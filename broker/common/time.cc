#include "broker/common/time.h"

#include <date/date.h>

#include <chrono>
#include <limits>

namespace bridgeline {

namespace {
// `value` in `width` digits at `at`, zero-padded.
void WriteFixedDigits(std::uint32_t value, int width, char* at) {
  for (int i = width - 1; i >= 0; --i, value /= 10) at[i] = static_cast<char>('0' + value % 10);
}
}  // namespace

void AppendFixedDigits(std::uint32_t value, int width, std::string* out) {
  char digits[9];
  WriteFixedDigits(value, width, digits);
  out->append(digits, static_cast<std::size_t>(width));
}

bool AppendCivilTime(TimeMs ms, bool milliseconds, std::string* out) {
  // By hand: date::format goes through an ostream and its locale, and every log line, answer
  // and delivery prints several times. Most of those times fall in one second (a delivered
  // case's dozen timestamps are mostly its creation), so each thread keeps the last second it
  // printed and copies it.
  constexpr std::size_t kSecondChars = 19;  // 2026-11-22T20:04:01
  thread_local TimeMs last_second = std::numeric_limits<TimeMs>::min();
  thread_local char last_text[kSecondChars];
  const auto point = date::sys_time<std::chrono::milliseconds>{std::chrono::milliseconds(ms)};
  const auto second = date::floor<std::chrono::seconds>(point);
  const TimeMs second_count = second.time_since_epoch().count();
  if (second_count != last_second) {
    const auto day = date::floor<date::days>(point);
    const date::year_month_day civil{day};
    if (civil.year() < date::year{0} || civil.year() > date::year{9999}) return false;
    const auto in_day = static_cast<unsigned>((second - day).count());
    WriteFixedDigits(static_cast<unsigned>(int(civil.year())), 4, last_text);
    WriteFixedDigits(unsigned(civil.month()), 2, last_text + 5);
    WriteFixedDigits(unsigned(civil.day()), 2, last_text + 8);
    WriteFixedDigits(in_day / 3600, 2, last_text + 11);
    WriteFixedDigits(in_day / 60 % 60, 2, last_text + 14);
    WriteFixedDigits(in_day % 60, 2, last_text + 17);
    last_text[4] = last_text[7] = '-';
    last_text[10] = 'T';
    last_text[13] = last_text[16] = ':';
    last_second = second_count;
  }
  out->append(last_text, kSecondChars);
  if (milliseconds) {
    out->push_back('.');
    AppendFixedDigits(static_cast<std::uint32_t>((point - second).count()), 3, out);
  }
  return true;
}

std::string FormatUtc(TimeMs ms) {
  std::string text;
  text.reserve(24);
  if (!AppendCivilTime(ms, true, &text)) {
    date::sys_time<std::chrono::milliseconds> point{std::chrono::milliseconds(ms)};
    return date::format("%FT%TZ", point);
  }
  text.push_back('Z');
  return text;
}

bool ParseUtc(std::string_view text, TimeMs* out) {
  // YYYY-MM-DDTHH:MM:SS, optional fraction, then Z or +HH:MM / -HH:MM. Parsed by hand: date's
  // stream parser trips a false -Wmaybe-uninitialized in GCC 12.
  int year = 0;
  unsigned month = 0, day = 0;
  if (text.size() < 20 || !ParseCivilDate(text.substr(0, 10), &year, &month, &day)) return false;
  if (text[10] != 'T' && text[10] != 't') return false;
  auto two_digits = [&text](std::size_t at, int limit, int* value) {
    if (at + 2 > text.size() || text[at] < '0' || text[at] > '9' || text[at + 1] < '0' ||
        text[at + 1] > '9')
      return false;
    *value = (text[at] - '0') * 10 + (text[at + 1] - '0');
    return *value <= limit;
  };
  int hour = 0, minute = 0, second = 0;
  if (!two_digits(11, 23, &hour) || text[13] != ':' || !two_digits(14, 59, &minute) ||
      text[16] != ':' || !two_digits(17, 59, &second)) {
    return false;
  }
  std::size_t at = 19;
  TimeMs millis = 0;
  if (at < text.size() && text[at] == '.') {
    std::size_t digits = 0;
    for (++at; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at, ++digits) {
      if (digits < 3) millis = millis * 10 + (text[at] - '0');
    }
    if (digits == 0) return false;
    for (; digits < 3; ++digits) millis *= 10;
  }
  TimeMs offset_ms = 0;
  if (at + 1 == text.size() && (text[at] == 'Z' || text[at] == 'z')) {
    offset_ms = 0;
  } else if (at + 6 == text.size() && (text[at] == '+' || text[at] == '-') && text[at + 3] == ':') {
    int offset_hours = 0, offset_minutes = 0;
    if (!two_digits(at + 1, 23, &offset_hours) || !two_digits(at + 4, 59, &offset_minutes))
      return false;
    offset_ms = (offset_hours * 60 + offset_minutes) * 60'000LL * (text[at] == '-' ? -1 : 1);
  } else {
    return false;
  }
  date::sys_days days = date::year(year) / date::month(month) / date::day(day);
  TimeMs local =
      std::chrono::duration_cast<std::chrono::milliseconds>(days.time_since_epoch()).count() +
      ((hour * 60 + minute) * 60 + second) * 1000LL + millis;
  *out = local - offset_ms;
  return true;
}

bool ParseCivilDate(std::string_view text, int* year, unsigned* month, unsigned* day) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  auto number = [&](std::size_t from, std::size_t length) {
    int value = 0;
    for (std::size_t i = from; i < from + length; ++i) value = value * 10 + (text[i] - '0');
    return value;
  };
  date::year_month_day civil{date::year(number(0, 4)),
                             date::month(static_cast<unsigned>(number(5, 2))),
                             date::day(static_cast<unsigned>(number(8, 2)))};
  if (!civil.ok()) return false;
  *year = number(0, 4);
  *month = static_cast<unsigned>(number(5, 2));
  *day = static_cast<unsigned>(number(8, 2));
  return true;
}

TimeMs WallClockNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace bridgeline
