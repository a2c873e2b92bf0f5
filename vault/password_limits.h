// What keeps password verification bounded: PasswordThrottle (per-subject exponential
// back-off after failed attempts, in memory) and PasswordGate (how many password hashes are
// computed at once, and how much memory they take, with a bounded queue of callers waiting).
//
// Thread safety: both are safe to use from any number of threads at once.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "vault/clock.h"
#include "vault/thread_annotations.h"

namespace vault {

// After free_failures failed attempts in a row, a subject's next attempt must wait
// base_delay seconds, doubling with every further failure up to max_delay; a correct
// password resets it. Attempts in flight count: once failures + attempts in flight reach
// free_failures, only one attempt runs at a time. Kept in memory (a restart forgets it), at
// most max_entries subjects; when full, entries that no longer hold anything back are
// dropped, and if none can be, new subjects are throttled (fail closed) until some can.
class PasswordThrottle {
 public:
  struct Rules {
    std::uint32_t free_failures = 5;
    std::int64_t base_delay_seconds = 1;
    std::int64_t max_delay_seconds = 900;
    std::size_t max_entries = 262144;
  };
  explicit PasswordThrottle(Rules rules) : rules_(rules) {}

  // 0 when the attempt may run (it is then in flight until Finish), else the seconds to wait.
  std::int64_t Admit(const std::string& key, UnixSeconds now) EXCLUDES(mu_);
  // Ends an admitted attempt: valid true or false, or nullopt when it was not decided (the
  // gate was full), which counts neither way.
  void Finish(const std::string& key, UnixSeconds now, std::optional<bool> valid) EXCLUDES(mu_);

 private:
  struct Entry {
    std::uint32_t failures = 0;
    std::uint32_t in_flight = 0;
    UnixSeconds locked_until = 0;
  };
  void Prune(UnixSeconds now) REQUIRES(mu_);

  const Rules rules_;
  Mutex mu_;
  std::unordered_map<std::string, Entry> entries_ GUARDED_BY(mu_);
};

// A counting semaphore over hash computations: at most max_running at once, and their
// Argon2 memory (m) summed at most memory_budget_kib (one computation always may run, so a
// cost above the budget is not refused, only serialised). At most max_waiting callers wait
// for a turn; further callers are refused at once instead of queueing without bound.
class PasswordGate {
 public:
  PasswordGate(std::size_t max_running, std::uint64_t memory_budget_kib, std::size_t max_waiting)
      : max_running_(max_running), budget_kib_(memory_budget_kib), max_waiting_(max_waiting) {}

  // A turn to compute one hash; returns it to the gate when destroyed.
  class Turn {
   public:
    Turn(Turn&& other) noexcept : gate_(other.gate_), kib_(other.kib_) { other.gate_ = nullptr; }
    Turn(const Turn&) = delete;
    Turn& operator=(const Turn&) = delete;
    Turn& operator=(Turn&& other) noexcept;
    ~Turn();

   private:
    friend class PasswordGate;
    Turn(PasswordGate* gate, std::uint64_t kib) : gate_(gate), kib_(kib) {}
    PasswordGate* gate_;
    std::uint64_t kib_;
  };

  // Waits for a turn for a computation of memory_kib; nullopt when max_waiting callers
  // already wait.
  std::optional<Turn> Enter(std::uint64_t memory_kib) EXCLUDES(mu_);

  std::size_t max_running() const { return max_running_; }
  std::size_t waiting() const EXCLUDES(mu_);

 private:
  bool Fits(std::uint64_t kib) const REQUIRES(mu_);
  void Leave(std::uint64_t kib) EXCLUDES(mu_);

  const std::size_t max_running_;
  const std::uint64_t budget_kib_;
  const std::size_t max_waiting_;
  mutable Mutex mu_;
  std::condition_variable turn_;
  std::size_t running_ GUARDED_BY(mu_) = 0;
  std::size_t waiting_ GUARDED_BY(mu_) = 0;
  std::uint64_t used_kib_ GUARDED_BY(mu_) = 0;
};

// How many computations may run at once: the cores, and no more than the memory budget
// holds at the policy's Argon2 memory cost; at least one.
std::size_t PasswordConcurrency(std::size_t requested, std::uint64_t memory_budget_kib,
                                std::uint32_t memory_kib);

}  // namespace vault
