// RFC 3339 times and calendar durations.
#include "vault/clock.h"

#include <gtest/gtest.h>

namespace vault {
namespace {

TEST(Rfc3339Test, FormatRoundTripsAcrossTheWholeRange) {
  EXPECT_EQ(FormatRfc3339(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(FormatRfc3339(253402300799), "9999-12-31T23:59:59Z");
  EXPECT_EQ(FormatRfc3339(951782400), "2000-02-29T00:00:00Z");
  std::uint64_t x = 88172645463325252ull;  // xorshift: many times, the same on every run
  for (int i = 0; i < 20000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const auto t = static_cast<UnixSeconds>(x % 253402300800ull);
    const std::string text = FormatRfc3339(t);
    ASSERT_EQ(text.size(), 20u) << t;
    ASSERT_EQ(ParseRfc3339(text), t) << text;
  }
}

TEST(Rfc3339Test, FormatAndParse) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(1795381680), "2026-11-22T21:08:00Z");
  EXPECT_EQ(ParseRfc3339("2026-11-22T21:08:00Z"), 1795381680);
  EXPECT_EQ(ParseRfc3339("2026-11-22T22:08:00+01:00"), 1795381680);
  EXPECT_EQ(ParseRfc3339("2026-11-22T21:08:00.123Z"), 1795381680);
  EXPECT_FALSE(ParseRfc3339("2026-11-22 21:08:00Z"));
  EXPECT_FALSE(ParseRfc3339("2026-02-30T00:00:00Z"));
  EXPECT_FALSE(ParseRfc3339("2026-11-22T21:08:00"));
  EXPECT_FALSE(ParseRfc3339("2026-11-22T21:08:00Zjunk"));
  EXPECT_FALSE(ParseRfc3339(""));
}

TEST(DurationTest, ParsesPolicyUnits) {
  EXPECT_EQ(Duration::Parse("31d")->ApproxSeconds(), 31 * 86400);
  EXPECT_EQ(Duration::Parse("24h")->ApproxSeconds(), 86400);
  EXPECT_EQ(Duration::Parse("7y")->unit, Duration::Unit::kYears);
  EXPECT_EQ(Duration::Parse("0d")->count, 0);
  EXPECT_EQ(Duration::Parse("12m")->ToString(), "12m");
  EXPECT_FALSE(Duration::Parse("d"));
  EXPECT_FALSE(Duration::Parse("3w"));
  EXPECT_FALSE(Duration::Parse("-1d"));
  EXPECT_FALSE(Duration::Parse("9999y"));
}

TEST(DurationTest, CalendarMonthsClampToMonthEnd) {
  const auto jan31 = *ParseRfc3339("2027-01-31T10:00:00Z");
  EXPECT_EQ(FormatRfc3339(Duration::Parse("1m")->AddTo(jan31)), "2027-02-28T10:00:00Z");
  EXPECT_EQ(FormatRfc3339(Duration::Parse("7y")->AddTo(jan31)), "2034-01-31T10:00:00Z");
  const auto leap = *ParseRfc3339("2028-02-29T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(Duration::Parse("1y")->AddTo(leap)), "2029-02-28T00:00:00Z");
}

}  // namespace
}  // namespace vault
