// Password throttle and gate (password_limits.h).
#include "vault/password_limits.h"

#include <algorithm>
#include <thread>

namespace vault {

std::int64_t PasswordThrottle::Admit(const std::string& key, UnixSeconds now) {
  MutexLock lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= rules_.max_entries) Prune(now);
    if (entries_.size() >= rules_.max_entries) return 1;
    it = entries_.emplace(key, Entry{}).first;
  }
  Entry& e = it->second;
  if (now < e.locked_until) return e.locked_until - now;
  if (e.failures + e.in_flight >= rules_.free_failures && e.in_flight > 0) return 1;
  ++e.in_flight;
  return 0;
}

void PasswordThrottle::Finish(const std::string& key, UnixSeconds now, std::optional<bool> valid) {
  MutexLock lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  Entry& e = it->second;
  if (e.in_flight > 0) --e.in_flight;
  if (valid.has_value() && *valid) {
    e.failures = 0;
    e.locked_until = 0;
  } else if (valid.has_value()) {
    ++e.failures;
    if (e.failures >= rules_.free_failures) {
      const std::uint32_t doublings =
          std::min<std::uint32_t>(e.failures - rules_.free_failures, 30);
      const std::int64_t delay =
          std::min(rules_.max_delay_seconds, rules_.base_delay_seconds << doublings);
      e.locked_until = now + delay;
    }
  }
  if (e.failures == 0 && e.in_flight == 0) entries_.erase(it);
}

// Drops entries that hold nothing back: no attempt in flight, not locked. Their failure
// counts go with them, which is why this runs only when the table is full.
void PasswordThrottle::Prune(UnixSeconds now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.in_flight == 0 && it->second.locked_until <= now) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

std::optional<PasswordGate::Turn> PasswordGate::Enter(std::uint64_t memory_kib) {
  MutexLock lock(mu_);
  if (!Fits(memory_kib)) {
    if (waiting_ >= max_waiting_) return std::nullopt;
    ++waiting_;
    while (!Fits(memory_kib)) lock.Wait(turn_);
    --waiting_;
  }
  ++running_;
  used_kib_ += memory_kib;
  return Turn(this, memory_kib);
}

std::size_t PasswordGate::waiting() const {
  MutexLock lock(mu_);
  return waiting_;
}

bool PasswordGate::Fits(std::uint64_t kib) const {
  return running_ == 0 || (running_ < max_running_ && used_kib_ + kib <= budget_kib_);
}

void PasswordGate::Leave(std::uint64_t kib) {
  {
    MutexLock lock(mu_);
    --running_;
    used_kib_ -= kib;
  }
  turn_.notify_all();
}

PasswordGate::Turn& PasswordGate::Turn::operator=(Turn&& other) noexcept {
  if (this != &other) {
    if (gate_ != nullptr) gate_->Leave(kib_);
    gate_ = other.gate_;
    kib_ = other.kib_;
    other.gate_ = nullptr;
  }
  return *this;
}

PasswordGate::Turn::~Turn() {
  if (gate_ != nullptr) gate_->Leave(kib_);
}

std::size_t PasswordConcurrency(std::size_t requested, std::uint64_t memory_budget_kib,
                                std::uint32_t memory_kib) {
  if (requested > 0) return requested;
  const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
  const std::uint64_t by_memory = memory_budget_kib / std::max<std::uint32_t>(memory_kib, 1);
  return std::max<std::size_t>(1, std::min<std::uint64_t>(cores, by_memory));
}

}  // namespace vault
