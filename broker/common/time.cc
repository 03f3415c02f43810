#include "broker/common/time.h"

#include <chrono>

#include <date/date.h>

namespace bridgeline {

std::string FormatUtc(TimeMs ms) {
  date::sys_time<std::chrono::milliseconds> point{std::chrono::milliseconds(ms)};
  return date::format("%FT%TZ", point);
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
  date::year_month_day civil{date::year(number(0, 4)), date::month(static_cast<unsigned>(number(5, 2))),
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
