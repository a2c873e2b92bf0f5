// KeyReserve: fresh DEKs wrapped ahead of need into the key slots just past the high-water
// mark, written and synced in batches, so that creating a key (a new subject needs two)
// writes and syncs no slot in its own commit: one slot file sync per kBatch keys instead of
// one per group commit that creates a key.
//
// Why this keeps the slot rules of docs/design.md ("Key slots"): a reserved slot lies past
// the committed high-water mark and no committed row names it, so recovery zeroes it (as any
// allocation of a transaction that never committed); a DEK is taken from the reserve only
// inside a write transaction, only for the slot at the high-water mark (which that
// transaction then raises), only after the slot file was synced with it, and only when the
// slot still holds exactly the bytes written there (read with pread: another process may have
// used or truncated it; LMDB's write lock, held by the transaction, keeps anyone from changing
// it before the commit). A reserved DEK sealed nothing before it is taken.
//
// Not thread-safe: used on the store's writer thread only (inside write transactions).
//
// Slot file only: with slots in a table (TableSlots, PostgreSQL) there is no reserve (slots
// is null; Take finds nothing, Refill writes nothing). There a slot is written in its row's
// transaction and several servers share the high-water mark, so slots written ahead would be
// rows of a transaction of their own that others could not trust unseen; keys are created
// the ordinary way (one slot row per key, committed with the rows naming it).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

#include "crypto/secret.h"
#include "vault/keyring.h"
#include "vault/keyslots.h"
#include "vault/status.h"

namespace vault {

class KeyReserve {
 public:
  static constexpr std::size_t kBatch = 256;  // keys wrapped per refill
  static constexpr std::size_t kLow = 64;     // refill when fewer are left

  struct Entry {
    std::uint64_t slot = 0;
    crypto::KeyId id{};
    crypto::SecretBytes dek;
    std::uint64_t epoch = 0;
    SlotBytes bytes{};
  };

  // slots: the slot file, or null for no reserve (slots in a table).
  KeyReserve(Keyring& keyring, KeySlots* slots) : keyring_(keyring), slots_(slots) {}

  // The reserved key for slot hwm (the high-water mark the caller's transaction sees), if
  // there is one that is synced, wrapped under the current epoch and still in its slot.
  // Entries below hwm (used by another process, or by this one's ordinary allocation) and
  // stale ones are dropped.
  std::optional<Entry> Take(std::uint64_t hwm);
  // When fewer than kLow keys are ready: wraps kBatch fresh DEKs into the slots from hwm (or
  // after the last reserved one) on. They are ready once Synced() says the slot file was
  // synced after them; Unsynced() drops them (the sync failed).
  Status Refill(std::uint64_t hwm);
  void Synced();
  void Unsynced() { pending_.clear(); }
  // Forgets every reserved key (the slots past the mark were zeroed and cut off).
  void Clear() {
    ready_.clear();
    pending_.clear();
  }

 private:
  Keyring& keyring_;
  KeySlots* slots_;  // null: no reserve
  std::deque<Entry> ready_;
  std::deque<Entry> pending_;
};

}  // namespace vault
