// RateLimiter: a token bucket per bearer token id, the per-token request rate limit (429).
//
// Thread safety: Acquire may run on any number of threads at once; the buckets live in 16
// shards, each behind its own mutex, so request threads rarely wait on one another.
// Memory: at most max_buckets buckets; a full shard first drops buckets that have refilled
// (forgetting them changes nothing), then its oldest-refilled one.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace vault::api {

class RateLimiter {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // rate_per_second 0: no limit. REQUIRES: burst >= 1 when rate_per_second > 0.
  RateLimiter(double rate_per_second, double burst, std::size_t max_buckets = 65536);

  bool enabled() const { return rate_ > 0; }
  // Takes one request's token from id's bucket. 0 when the request may go ahead; otherwise
  // the whole seconds (at least 1) until it may: the Retry-After of the 429.
  std::chrono::seconds Acquire(std::string_view id, TimePoint now);

 private:
  struct Bucket {
    double tokens = 0;
    TimePoint at;  // when tokens was computed
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, Bucket> buckets;  // guarded by mu
  };
  static constexpr std::size_t kShards = 16;
  double Refilled(const Bucket& b, TimePoint now) const;
  void MakeRoom(Shard& shard, TimePoint now);

  const double rate_;
  const double burst_;
  const std::size_t max_per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace vault::api
