// StorageQuota: bytes of record rows charged to each writer (token id), kept in the meta table
// ("quota/" token id) and changed in the same transaction as the write, with a limit per
// writer. Owns the meta table's "quota/" rows; no other state.
#pragma once

#include <cstdint>
#include <string>

#include "vault/store.h"
#include "vault/vault.h"

namespace vault {

class StorageQuota {
 public:
  // limit_bytes 0: writes are counted but never refused.
  explicit StorageQuota(std::uint64_t limit_bytes) : limit_(limit_bytes) {}

  // A write by actor replaces a row of old_bytes (0: none) with one of new_bytes. Growth is
  // charged to actor; kThrottled, changing nothing, when it would take actor past the limit.
  // Shrinking credits actor (never below 0).
  Status Charge(Txn& txn, const Actor& actor, std::uint64_t old_bytes,
                std::uint64_t new_bytes) const;

 private:
  const std::uint64_t limit_;
};

}  // namespace vault
