// The audit log: every read, write and rights action as an entry chained to the one before
// it by an HMAC under the keyring's audit key. Owns the audit table and the chain's tail.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/primitives.h"
#include "vault/clock.h"
#include "vault/rows.h"
#include "vault/store.h"
#include "vault/vault.h"

namespace vault {

class AuditLog {
 public:
  AuditLog(Store& store, const crypto::HmacSha256Key& mac, const Clock& clock)
      : store_(store), mac_(mac), clock_(clock) {}

  // Appends an entry in txn. uid null: the action concerns no subject.
  // REQUIRES: on the writer thread (inside a write).
  Status Append(Txn& txn, const Actor& actor, std::string_view action, const Uid* uid,
                std::string_view category, std::string_view outcome);
  // Queues an entry without waiting for its commit: reads, and writes that were refused.
  void AppendAsync(const Actor& actor, std::string_view action, std::optional<Uid> uid,
                   const std::string& category, Code outcome);

  // Store hooks. A batch's entries read and write the tail's two meta rows once, not per
  // entry: the tail is forgotten when a transaction begins and written before it commits.
  void OnBegin() { tail_ = Tail{}; }
  Status OnPreCommit(Txn& txn);

  // One page of committed entries after after_seq (queued entries are flushed first).
  StatusOr<std::vector<AuditEntry>> List(std::uint64_t after_seq, std::size_t limit) const;
  // The chain from the first entry to the stored head (meta audit_seq, audit_head).
  StatusOr<AuditVerifyResult> Verify(const ProgressFn& progress = {}) const;

 private:
  struct Tail {
    bool loaded = false;
    bool dirty = false;
    std::uint64_t seq = 0;
    std::string head;
  };
  // The chain's head as the last append stored it, and how many entries the table holds,
  // read in one snapshot.
  struct StoredHead {
    std::uint64_t seq = 0;
    std::string hash;
    std::uint64_t rows = 0;
  };
  StatusOr<StoredHead> ReadHead() const;
  crypto::Digest ChainHash(std::string_view prev, const AuditEntry& e) const;
  StatusOr<std::vector<AuditEntry>> ReadPage(std::uint64_t after_seq, std::size_t limit) const;

  Store& store_;
  const crypto::HmacSha256Key& mac_;
  const Clock& clock_;
  // Writer thread only (Append and the hooks run there), so it needs no lock.
  Tail tail_;
};

}  // namespace vault
