// The one clock abstraction: injectable, so tests move time without sleeping.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vault {

using UnixSeconds = std::int64_t;  // seconds since 1970-01-01T00:00:00Z

// Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual UnixSeconds Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  UnixSeconds Now() const override;
};

// A clock that only moves when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(UnixSeconds start) : now_(start) {}
  UnixSeconds Now() const override { return now_.load(); }
  void Set(UnixSeconds t) { now_.store(t); }
  void Advance(std::int64_t seconds) { now_.fetch_add(seconds); }

 private:
  std::atomic<UnixSeconds> now_;
};

// RFC 3339 UTC, second precision: "2026-11-22T21:08:00Z".
std::string FormatRfc3339(UnixSeconds t);
// Accepts "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)"; fractions are truncated.
std::optional<UnixSeconds> ParseRfc3339(std::string_view s);

// A policy duration: "<n>h", "<n>d", "<n>m" (calendar months) or "<n>y" (calendar years).
struct Duration {
  enum class Unit { kHours, kDays, kMonths, kYears };
  std::int64_t count = 0;
  Unit unit = Unit::kDays;

  static std::optional<Duration> Parse(std::string_view s);
  std::string ToString() const;
  // t + this duration; months and years are calendar arithmetic with the day clamped to
  // the month's length (Jan 31 + 1m = Feb 28/29).
  UnixSeconds AddTo(UnixSeconds t) const;
  // Approximate length in seconds (months = 30 d, years = 365 d) for comparisons only.
  std::int64_t ApproxSeconds() const;
};

}  // namespace vault
