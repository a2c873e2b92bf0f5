// SlotSet: a set of key slot numbers kept in a store table as bitmap rows (the DEK table's
// free and freed slot lists), one row per kSlotsPerRow consecutive slots.
//
// Why bitmaps: an epoch rotation frees and allocates every slot once; one row per slot made
// that five B-tree operations per key on tables that outgrow the hot page set (docs/design.md
// "Epoch rotation"). A bitmap row takes a bit per slot, so a step of 10,000 keys changes a few
// hundred rows, and runs of adjacent free slots are plain to see.
//
// Stores written before 2026-11-27 hold one row per slot (key: the slot, big-endian; value
// empty). Every operation here reads those too; Convert turns them into bitmap rows (run once
// when the store opens, vault/dek_table.cc RecoverSlots).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "vault/status.h"
#include "vault/store.h"

namespace vault {

class SlotSet {
 public:
  static constexpr std::uint64_t kSlotsPerRow = 4096;  // a 512-byte bitmap per row

  explicit SlotSet(Table table) : table_(table) {}

  Status Add(Txn& txn, std::vector<std::uint64_t> slots) const;
  // fn(slot) for every slot in the set, in slot order within each row; false stops.
  Status Scan(const Txn& txn, const std::function<bool(std::uint64_t)>& fn) const;
  // Up to n slots of the set (removed from it): the first ones, or with min_run > 1 only
  // slots of runs of at least min_run adjacent ones (a rotation writes them sequentially).
  StatusOr<std::vector<std::uint64_t>> Take(Txn& txn, std::size_t n,
                                            std::uint64_t min_run = 1) const;
  // Every slot of the set, in order, and the set emptied.
  StatusOr<std::vector<std::uint64_t>> TakeAll(Txn& txn) const;
  bool Empty(const Txn& txn, Status* st) const;
  // Rewrites per-slot rows of older stores as bitmap rows.
  Status Convert(Txn& txn) const;

 private:
  // fn(slot, legacy) for every slot; legacy: it has a row of its own (older stores).
  Status Visit(const Txn& txn, const std::function<bool(std::uint64_t, bool)>& fn) const;
  // Clears the bits of sorted slots in their bitmap rows (a row left empty is deleted).
  Status ClearBits(Txn& txn, const std::vector<std::uint64_t>& sorted) const;
  const Table table_;
};

}  // namespace vault
