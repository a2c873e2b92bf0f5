// The DEK cache (dek_cache.h).
#include "vault/dek_cache.h"

#include <algorithm>

namespace vault {

DekCache::DekCache(std::chrono::seconds ttl, std::size_t max_entries)
    : ttl_(ttl), max_entries_(std::max<std::size_t>(max_entries, 1)) {
  if (ttl_.count() > 0) evictor_ = std::thread([this] { Run(); });
}

DekCache::~DekCache() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (evictor_.joinable()) evictor_.join();
}

std::string DekCache::Key(std::uint64_t epoch, std::span<const std::uint8_t> wrapped) {
  std::string k(8 + wrapped.size(), '\0');
  for (int i = 0; i < 8; ++i) k[static_cast<std::size_t>(i)] = static_cast<char>(epoch >> (8 * i));
  std::copy(wrapped.begin(), wrapped.end(), k.begin() + 8);
  return k;
}

bool DekCache::Get(std::uint64_t epoch, std::span<const std::uint8_t> wrapped,
                   crypto::SecretBytes* dek) {
  if (ttl_.count() == 0) return false;
  MutexLock lock(mu_);
  auto it = map_.find(Key(epoch, wrapped));
  if (it == map_.end()) return false;
  if (it->second.expires <= std::chrono::steady_clock::now()) {
    map_.erase(it);  // its order_ entry goes when it reaches the front
    return false;
  }
  *dek = it->second.dek.Clone();
  return true;
}

void DekCache::Put(std::uint64_t epoch, std::span<const std::uint8_t> wrapped,
                   const crypto::SecretBytes& dek) {
  if (ttl_.count() == 0) return;
  const TimePoint now = std::chrono::steady_clock::now();
  std::string key = Key(epoch, wrapped);
  MutexLock lock(mu_);
  EvictLocked(now);
  if (map_.count(key) != 0) return;
  while (map_.size() >= max_entries_ && !order_.empty()) {
    auto it = map_.find(order_.front().first);
    if (it != map_.end() && it->second.expires == order_.front().second) map_.erase(it);
    order_.pop_front();
  }
  map_.emplace(key, Entry{dek.Clone(), now + ttl_, epoch});
  order_.emplace_back(std::move(key), now + ttl_);
}

void DekCache::DropEpoch(std::uint64_t epoch) {
  MutexLock lock(mu_);
  for (auto it = map_.begin(); it != map_.end();) {
    it = it->second.epoch == epoch ? map_.erase(it) : std::next(it);
  }
}

std::size_t DekCache::size() const {
  MutexLock lock(mu_);
  return map_.size();
}

// Drops expired entries from the front (insertion order is expiry order). An order entry
// whose key was dropped already (a hit that found it expired, an epoch dropped), or made
// again since, only leaves the queue.
void DekCache::EvictLocked(TimePoint now) {
  while (!order_.empty() && order_.front().second <= now) {
    auto it = map_.find(order_.front().first);
    if (it != map_.end() && it->second.expires == order_.front().second) map_.erase(it);
    order_.pop_front();
  }
}

void DekCache::Run() {
  const auto period = std::max<std::chrono::milliseconds>(
      std::chrono::milliseconds(100),
      std::min<std::chrono::milliseconds>(std::chrono::seconds(1), ttl_ / 2));
  MutexLock lock(mu_);
  while (!stop_) {
    lock.WaitUntil(cv_, std::chrono::steady_clock::now() + period);
    EvictLocked(std::chrono::steady_clock::now());
  }
}

}  // namespace vault
