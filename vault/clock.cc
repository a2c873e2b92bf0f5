// Clocks, RFC 3339 time strings and policy durations (calendar arithmetic).
#include "vault/clock.h"

#include <chrono>
#include <cstdio>

namespace vault {
namespace {

using namespace std::chrono;

bool Digits(std::string_view s, std::size_t pos, std::size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

UnixSeconds FromCivil(int y, unsigned m, unsigned d) {
  return duration_cast<seconds>(sys_days(year{y} / month{m} / day{d}).time_since_epoch()).count();
}

}  // namespace

UnixSeconds SystemClock::Now() const {
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

std::string FormatRfc3339(UnixSeconds t) {
  const sys_seconds tp{seconds{t}};
  const sys_days dp = floor<days>(tp);
  const year_month_day ymd{dp};
  const hh_mm_ss hms{tp - dp};
  const int year = static_cast<int>(ymd.year());
  if (year >= 0 && year <= 9999) {  // the common case, without printf (it is on every read)
    std::string out = "0000-00-00T00:00:00Z";
    auto put = [&out](std::size_t at, unsigned v, std::size_t width) {
      for (std::size_t i = width; i-- > 0; v /= 10) out[at + i] = static_cast<char>('0' + v % 10);
    };
    put(0, static_cast<unsigned>(year), 4);
    put(5, static_cast<unsigned>(ymd.month()), 2);
    put(8, static_cast<unsigned>(ymd.day()), 2);
    put(11, static_cast<unsigned>(hms.hours().count()), 2);
    put(14, static_cast<unsigned>(hms.minutes().count()), 2);
    put(17, static_cast<unsigned>(hms.seconds().count()), 2);
    return out;
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

std::optional<UnixSeconds> ParseRfc3339(std::string_view s) {
  int y, mo, d, h, mi, se;
  if (s.size() < 20 || !Digits(s, 0, 4, &y) || s[4] != '-' || !Digits(s, 5, 2, &mo) ||
      s[7] != '-' || !Digits(s, 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
      !Digits(s, 11, 2, &h) || s[13] != ':' || !Digits(s, 14, 2, &mi) || s[16] != ':' ||
      !Digits(s, 17, 2, &se)) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    if (pos == start) return std::nullopt;
  }
  if (pos >= s.size()) return std::nullopt;
  int offset = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int oh, om;
    if (!Digits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset = (oh * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)},
                           day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || se > 60) return std::nullopt;
  const UnixSeconds t = FromCivil(y, mo, d) + UnixSeconds{h} * 3600 + UnixSeconds{mi} * 60 +
                        (se == 60 ? 59 : se) - offset;
  // An offset can carry the instant out of years 0000..9999, where FormatRfc3339 would
  // print a time no RFC 3339 parser (this one included) accepts.
  constexpr UnixSeconds kFirst = -62167219200;  // 0000-01-01T00:00:00Z
  constexpr UnixSeconds kLast = 253402300799;   // 9999-12-31T23:59:59Z
  if (t < kFirst || t > kLast) return std::nullopt;
  return t;
}

std::optional<Duration> Duration::Parse(std::string_view s) {
  if (s.size() < 2 || s.size() > 8) return std::nullopt;
  Duration d;
  switch (s.back()) {
    case 'h':
      d.unit = Unit::kHours;
      break;
    case 'd':
      d.unit = Unit::kDays;
      break;
    case 'm':
      d.unit = Unit::kMonths;
      break;
    case 'y':
      d.unit = Unit::kYears;
      break;
    default:
      return std::nullopt;
  }
  std::int64_t n = 0;
  for (std::size_t i = 0; i + 1 < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    n = n * 10 + (s[i] - '0');
  }
  d.count = n;
  // Bound to 200 years so arithmetic never overflows and typos are caught.
  if (d.ApproxSeconds() > 200LL * 365 * 86400) return std::nullopt;
  return d;
}

std::string Duration::ToString() const {
  const char u = unit == Unit::kHours    ? 'h'
                 : unit == Unit::kDays   ? 'd'
                 : unit == Unit::kMonths ? 'm'
                                         : 'y';
  return std::to_string(count) + u;
}

std::int64_t Duration::ApproxSeconds() const {
  switch (unit) {
    case Unit::kHours:
      return count * 3600;
    case Unit::kDays:
      return count * 86400;
    case Unit::kMonths:
      return count * 30 * 86400;
    case Unit::kYears:
      return count * 365 * 86400;
  }
  return 0;
}

UnixSeconds Duration::AddTo(UnixSeconds t) const {
  if (unit == Unit::kHours || unit == Unit::kDays) return t + ApproxSeconds();
  const sys_seconds tp{seconds{t}};
  const sys_days dp = floor<days>(tp);
  const auto time_of_day = tp - dp;
  year_month_day ymd{dp};
  const months add{unit == Unit::kMonths ? count : count * 12};
  year_month_day moved = ymd + add;
  if (!moved.ok()) moved = moved.year() / moved.month() / last;  // clamp Jan 31 + 1m
  return duration_cast<seconds>((sys_days(moved) + time_of_day).time_since_epoch()).count();
}

}  // namespace vault
