// The DEK table: one data key (DEK) per scope, each wrapped under the current epoch's KEK
// into a slot of the key slot file. Owns the keys, scopes and expiry tables, the slot free
// lists, the slot file, and the marks of scopes whose ciphertext awaits collection.
//
// Lifecycle of a DEK: created for a scope (FindOrCreate), unwrapped to read (Load), rewrapped
// into a fresh slot when the epoch changes (Rewrap), retired when a version it sealed is
// removed (Retire: the scope gets a fresh DEK, its records move off it; rekeys.h), destroyed
// (Destroy): its row goes, its slot is zeroed once the destruction commits, and nothing can
// unwrap it again. Owns the rekeys table too: the retired DEKs whose records still move.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/aead.h"
#include "crypto/secret.h"
#include "vault/clock.h"
#include "vault/key_reserve.h"
#include "vault/keyring.h"
#include "vault/keyslots.h"
#include "vault/rows.h"
#include "vault/slot_set.h"
#include "vault/store.h"

namespace vault {

class DekTable {
 public:
  DekTable(Store& store, Keyring& keyring, SlotStore& slots, const Clock& clock)
      : store_(store), keyring_(keyring), slots_(slots), clock_(clock) {}

  // The scope's live DEK; kNotFound when it has none.
  Status Find(const Txn& txn, std::string_view scope, crypto::KeyId* id,
              crypto::SecretBytes* dek) const;
  // The scope's live DEK, created when it has none. expires_at (0: never) applies to a new one.
  Status FindOrCreate(Txn& txn, std::string_view scope, UnixSeconds expires_at, crypto::KeyId* id,
                      crypto::SecretBytes* dek);
  // A new DEK that becomes the scope's live one.
  Status Create(Txn& txn, std::string_view scope, UnixSeconds expires_at, crypto::KeyId* id,
                crypto::SecretBytes* dek);
  // A DEK's row; nullopt once it is destroyed.
  StatusOr<std::optional<KeyRow>> Row(const Txn& txn, const crypto::KeyId& id) const;
  // kGone once the DEK is destroyed.
  Status Load(const Txn& txn, const crypto::KeyId& id, crypto::SecretBytes* dek) const;
  Status Unwrap(const Txn& txn, const KeyRow& row, crypto::SecretBytes* dek) const;
  // Destroys a DEK (given its row, when the caller has it): row, scope pointer and expiry
  // entry go, its slot is freed, its scope's ciphertext is marked for collection.
  Status Destroy(Txn& txn, const crypto::KeyId& id);
  Status Destroy(Txn& txn, const crypto::KeyId& id, const KeyRow& row);
  // Retires a DEK: it stops being its scope's live one (the next write creates a fresh one)
  // and is listed, by subject, as retiring until Destroy. False if it already was.
  StatusOr<bool> Retire(Txn& txn, const crypto::KeyId& id, const KeyRow& row);
  // A retiring DEK and the record key from which its records' move resumes.
  struct Retiring {
    crypto::KeyId id{};
    std::string scope;
    std::string cursor;
  };
  // Retiring DEKs whose scope starts with prefix (a subject's uid, or "" for all), at most
  // limit of them (0: all).
  StatusOr<std::vector<Retiring>> ListRetiring(const Txn& txn, std::string_view prefix,
                                               std::size_t limit) const;
  Status SetRetiringCursor(Txn& txn, const crypto::KeyId& id, const KeyRow& row,
                           std::string_view cursor);
  // Wraps the DEK of *row under the current epoch into a fresh slot (the old one is freed)
  // and updates *row; the caller writes the row.
  Status Rewrap(Txn& txn, const crypto::KeyId& id, KeyRow* row);
  // One DEK for RewrapMany: its id and its row, which RewrapMany updates (slot and epoch).
  struct RewrapItem {
    crypto::KeyId id{};
    KeyRow row;
  };
  // Rewrap for many DEKs at once (epoch rotation): the fresh slots are allocated together,
  // the unwrap and wrap run on up to two threads, the slots are written in runs of adjacent
  // ones, and the updated rows are written (while the other thread still wraps).
  Status RewrapMany(Txn& txn, std::vector<RewrapItem>* items);

  // Category prefixes (uid | category | 0) whose destroyed keys left ciphertext behind.
  StatusOr<std::vector<std::string>> ScopesToCollect(const Txn& txn) const;
  Status Collected(Txn& txn, std::string_view prefix);

  std::uint64_t Live(const Txn& txn) const { return txn.Count(Table::kKeys); }
  std::uint64_t Shredded(const Txn& txn) const;

  // Zeroes the slots of destroyed DEKs and returns them to the free list; skipped while a
  // backup runs. REQUIRES: on the writer thread (inside Store::Exclusive).
  Status ZeroFreedSlots();
  // The same inside the caller's write transaction (the slots freed by transactions that
  // committed before it).
  Status ZeroFreed(Txn& txn);
  // The same from any thread: an exclusive turn of the writer.
  Status ZeroFreedSlotsNow();
  // While a backup copies the store, freed slots are not zeroed (the copy's snapshot may
  // still reference them); the pause is recorded in the store so other processes honour it.
  Status PauseSlotZeroing(bool pause);
  // After a crash: drops slots no committed row references and zeroes freed ones.
  Status RecoverSlots();
  // Store pre-commit hook: a committed row never points at an unsynced slot. Also refills the
  // reserve of wrapped keys (key_reserve.h), synced by the same sync.
  Status SyncSlots(const Txn& txn);

 private:
  Status WrapIntoNewSlot(Txn& txn, const crypto::SecretBytes& dek, const crypto::KeyId& id,
                         KeyRow* row);
  StatusOr<std::uint64_t> AllocateSlot(Txn& txn);
  StatusOr<std::vector<std::uint64_t>> AllocateSlots(Txn& txn, std::size_t n);
  // Unwraps items [from, to) and wraps them under the current epoch into puts (and epochs).
  Status RewrapRange(const Txn& txn, const std::vector<RewrapItem>& items, std::size_t from,
                     std::size_t to, std::vector<SlotPut>* puts,
                     std::vector<std::uint64_t>* epochs) const;
  struct RewrapWork;
  bool RewrapChunk(const Txn& txn, const std::vector<RewrapItem>& items, RewrapWork* w) const;
  std::optional<KeyReserve::Entry> TakeReserved(Txn& txn);
  Status ZeroSlots(Txn& txn, const std::vector<std::uint64_t>& slots);

  Store& store_;
  Keyring& keyring_;
  SlotStore& slots_;
  const Clock& clock_;
  KeyReserve reserve_{keyring_, slots_.File()};  // writer thread only; none on table slots
  const SlotSet free_{Table::kSlotsFree};        // zeroed slots, ready for new wraps
  const SlotSet freed_{Table::kSlotsFreed};      // slots of committed destructions, to zero
};

}  // namespace vault
