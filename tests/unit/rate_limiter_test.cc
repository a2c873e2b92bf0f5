// RateLimiter: a bucket per token id, refilled by time, with a Retry-After and bounded memory.
#include "api/rate_limiter.h"

#include <gtest/gtest.h>

#include <string>

namespace vault::api {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(RateLimiterTest, ABurstPassesThenRetryAfterUntilTheBucketRefills) {
  RateLimiter limiter(2, 3);
  const auto t0 = std::chrono::steady_clock::time_point{} + seconds(100);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Acquire("a", t0), seconds(0));
  EXPECT_EQ(limiter.Acquire("a", t0), seconds(1));
  EXPECT_EQ(limiter.Acquire("b", t0), seconds(0));  // its own bucket
  EXPECT_EQ(limiter.Acquire("a", t0 + milliseconds(400)), seconds(1));
  EXPECT_EQ(limiter.Acquire("a", t0 + milliseconds(600)), seconds(0));
}

TEST(RateLimiterTest, ASlowRateGivesALongerRetryAfter) {
  RateLimiter limiter(0.1, 1);
  const auto t0 = std::chrono::steady_clock::time_point{} + seconds(100);
  EXPECT_EQ(limiter.Acquire("a", t0), seconds(0));
  EXPECT_EQ(limiter.Acquire("a", t0), seconds(10));
}

TEST(RateLimiterTest, ZeroRateDisablesAndManyIdsStayBounded) {
  RateLimiter off(0, 1);
  EXPECT_FALSE(off.enabled());
  RateLimiter limiter(1, 1, 32);
  const auto t0 = std::chrono::steady_clock::time_point{} + seconds(100);
  for (int i = 0; i < 10000; ++i) {
    EXPECT_EQ(limiter.Acquire("id" + std::to_string(i), t0), seconds(0));
  }
  // The most recent ids are still tracked: an exhausted bucket stays exhausted.
  EXPECT_EQ(limiter.Acquire("id9999", t0), seconds(1));
}

}  // namespace
}  // namespace vault::api
