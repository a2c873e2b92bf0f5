// A bounded, short-lived cache of unwrapped DEKs for a keyring whose KEKs are in a token, so
// reads are not bound by the token's decryptions per second. Keyed by epoch and the wrapped
// envelope itself: only an envelope read from a live key slot finds an entry, and erasure
// deletes (zeroes) that slot, so an erased subject's DEK cannot be found through the cache
// after the erasure; the entry itself is zeroed at the latest one TTL after it was made.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>

#include "crypto/secret.h"
#include "vault/thread_annotations.h"

namespace vault {

// Thread-safe. Entries live at most ttl from their insertion (a hit does not extend it); a
// background thread evicts expired ones at least every ttl/2 (or every second), so an idle
// process does not keep them. Evicted DEKs are zeroed (SecretBytes).
class DekCache {
 public:
  // ttl 0: the cache keeps nothing.
  DekCache(std::chrono::seconds ttl, std::size_t max_entries);
  ~DekCache();
  DekCache(const DekCache&) = delete;
  DekCache& operator=(const DekCache&) = delete;

  bool Get(std::uint64_t epoch, std::span<const std::uint8_t> wrapped, crypto::SecretBytes* dek)
      EXCLUDES(mu_);
  void Put(std::uint64_t epoch, std::span<const std::uint8_t> wrapped,
           const crypto::SecretBytes& dek) EXCLUDES(mu_);
  // Drops every entry of the epoch (its KEK was destroyed).
  void DropEpoch(std::uint64_t epoch) EXCLUDES(mu_);
  std::size_t size() const EXCLUDES(mu_);
  std::chrono::seconds ttl() const { return ttl_; }

 private:
  using TimePoint = std::chrono::steady_clock::time_point;
  struct Entry {
    crypto::SecretBytes dek;
    TimePoint expires;
    std::uint64_t epoch = 0;
  };
  static std::string Key(std::uint64_t epoch, std::span<const std::uint8_t> wrapped);
  void EvictLocked(TimePoint now) REQUIRES(mu_);
  void Run() EXCLUDES(mu_);

  const std::chrono::seconds ttl_;
  const std::size_t max_entries_;
  mutable Mutex mu_;
  std::condition_variable cv_;
  bool stop_ GUARDED_BY(mu_) = false;
  std::unordered_map<std::string, Entry> map_ GUARDED_BY(mu_);
  // (key, expiry) in insertion order, which is expiry order.
  std::deque<std::pair<std::string, TimePoint>> order_ GUARDED_BY(mu_);
  std::thread evictor_;
};

}  // namespace vault
