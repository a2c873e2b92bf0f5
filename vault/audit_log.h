// The audit log: every read, write and rights action as an entry chained to the one before
// it by an HMAC under the keyring's audit key, its head signed now and then (checkpoints), and
// trimmed by retention at a checkpoint. Owns the audit table, the chain's tail and its base.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/primitives.h"
#include "vault/audit_checkpoints.h"
#include "vault/clock.h"
#include "vault/policy.h"
#include "vault/rows.h"
#include "vault/store.h"
#include "vault/thread_annotations.h"
#include "vault/vault.h"

namespace vault {

class AuditLog {
 public:
  AuditLog(Store& store, const crypto::HmacSha256Key& mac, const Clock& clock, const Policy& policy,
           const AuditCheckpoints& checkpoints)
      : store_(store), mac_(mac), clock_(clock), policy_(policy), checkpoints_(checkpoints) {}

  // Appends an entry in txn. uid null: the action concerns no subject. The entry's purpose is
  // the actor's purposes that the category lists (all of them when there is no category).
  // REQUIRES: on the writer thread (inside a write).
  Status Append(Txn& txn, const Actor& actor, std::string_view action, const Uid* uid,
                std::string_view category, std::string_view outcome);
  // Queues an entry without waiting for its commit: reads, and writes that were refused.
  // Backpressure: while queue_limit() entries are queued and not yet committed, the caller
  // waits for the writer to commit some (latency, never unbounded memory or a lost entry);
  // on the writer thread itself it never waits (the writer is what frees the queue).
  void AppendAsync(const Actor& actor, std::string_view action, std::optional<Uid> uid,
                   const std::string& category, Code outcome);
  // Entries AppendAsync queued whose transaction has not ended yet (lethe_audit_queued).
  std::size_t queued() const { return queue_.size(); }
  std::size_t queue_limit() const { return queue_.limit(); }
  void set_queue_limit(std::size_t limit) { queue_.set_limit(limit); }
  static constexpr std::size_t kDefaultQueueLimit = 10000;

  // Store hooks. A batch's entries read and write the tail's two meta rows once, not per
  // entry: the tail is forgotten when a transaction begins and written before it commits.
  void OnBegin() { tail_ = Tail{}; }
  Status OnPreCommit(Txn& txn);

  // One page of committed entries after after_seq (queued entries are flushed first).
  StatusOr<std::vector<AuditEntry>> List(std::uint64_t after_seq, std::size_t limit) const;
  // The chain from the retained start (the anchor checkpoint's head, or the first entry) to
  // the stored head (meta audit_seq, audit_head), checked against every signed checkpoint on
  // the way; names the first bad entry and what is wrong with it (audit_verify.cc).
  StatusOr<AuditVerifyResult> Verify(const ProgressFn& progress = {}) const;

  // Signs the head if `when` says so (the sweeper: kDue; close: kNow).
  Status Checkpoint(AuditCheckpoints::When when);
  // The policy's audit.retention: moves the chain's base to the newest checkpoint older than
  // retention (an audit.trim entry says so) and deletes the checkpoints before it, then the
  // entries up to it, batch a transaction. Returns how many entries were deleted.
  StatusOr<std::uint64_t> Trim(const Actor& actor, std::size_t batch);

 private:
  static constexpr std::string_view kMetaSeq = "audit_seq";
  static constexpr std::string_view kMetaHead = "audit_head";
  static constexpr std::string_view kMetaBase = "audit_base_seq";
  struct Tail {
    bool loaded = false;
    bool dirty = false;
    std::uint64_t seq = 0;
    std::string head;
  };
  void LoadTail(const Txn& txn);
  crypto::Digest ChainHash(std::string_view prev, const AuditEntry& e) const;
  StatusOr<std::vector<AuditEntry>> ReadPage(std::uint64_t after_seq, std::size_t limit) const;
  std::string PurposeOf(const Actor& actor, std::string_view category) const;
  // Moves the base to the newest checkpoint whose time is past retention; *base the result.
  Status MoveBase(Txn& txn, const Actor& actor, std::uint64_t* base);
  class Walk;  // audit_verify.cc
  // Counts the entries AppendAsync queued until the writer has taken and finished them.
  class QueueBound {
   public:
    // Waits (unless may_wait is false) for room, then counts one more entry.
    void Acquire(bool may_wait) EXCLUDES(mu_);
    void Release() EXCLUDES(mu_);
    std::size_t size() const EXCLUDES(mu_);
    std::size_t limit() const { return limit_.load(); }
    void set_limit(std::size_t limit) {
      limit_.store(std::max<std::size_t>(limit, 1));
      cv_.notify_all();
    }

   private:
    mutable Mutex mu_;
    std::condition_variable cv_;
    std::size_t queued_ GUARDED_BY(mu_) = 0;
    std::atomic<std::size_t> limit_{kDefaultQueueLimit};
  };

  Store& store_;
  const crypto::HmacSha256Key& mac_;
  const Clock& clock_;
  const Policy& policy_;
  const AuditCheckpoints& checkpoints_;
  // Writer thread only (Append and the hooks run there), so it needs no lock.
  Tail tail_;
  QueueBound queue_;
};

}  // namespace vault
