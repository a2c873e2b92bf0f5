// RateLimiter (rate_limiter.h): token buckets in shards, refilled by elapsed time.
#include "api/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <functional>

namespace vault::api {

RateLimiter::RateLimiter(double rate_per_second, double burst, std::size_t max_buckets)
    : rate_(rate_per_second),
      burst_(std::max(burst, 1.0)),
      max_per_shard_(std::max<std::size_t>(max_buckets / kShards, 1)) {}

double RateLimiter::Refilled(const Bucket& b, TimePoint now) const {
  const double elapsed = std::chrono::duration<double>(now - b.at).count();
  return std::min(burst_, b.tokens + std::max(elapsed, 0.0) * rate_);
}

void RateLimiter::MakeRoom(Shard& shard, TimePoint now) {
  std::erase_if(shard.buckets, [&](const auto& kv) { return Refilled(kv.second, now) >= burst_; });
  if (shard.buckets.size() < max_per_shard_) return;
  auto oldest =
      std::min_element(shard.buckets.begin(), shard.buckets.end(),
                       [](const auto& a, const auto& b) { return a.second.at < b.second.at; });
  shard.buckets.erase(oldest);
}

std::chrono::seconds RateLimiter::Acquire(std::string_view id, TimePoint now) {
  if (!enabled()) return std::chrono::seconds(0);
  Shard& shard = shards_[std::hash<std::string_view>{}(id) % kShards];
  std::lock_guard lock(shard.mu);
  auto it = shard.buckets.find(std::string(id));
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= max_per_shard_) MakeRoom(shard, now);
    it = shard.buckets.emplace(std::string(id), Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  b.tokens = Refilled(b, now);
  b.at = now;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return std::chrono::seconds(0);
  }
  const double wait = (1.0 - b.tokens) / rate_;
  return std::chrono::seconds(std::max<long long>(1, static_cast<long long>(std::ceil(wait))));
}

}  // namespace vault::api
