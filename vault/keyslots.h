// KeySlots: wrapped DEKs in a file of fixed-size slots that are overwritten in place (and
// SlotStore, the seam that lets a shared database hold them instead).
//
// Why not in LMDB: LMDB is copy-on-write and never clears a deleted row's bytes (old page
// versions sit in free pages; deleted nodes linger in page slack and recycled buffers), so a
// wrapped DEK deleted from LMDB stays in the data file. A slot is zeroed where it lies, so
// destroying a DEK removes its only wrapped copy from the live files (filesystem and device
// remapping aside; see docs/operations.md).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "vault/status.h"
#include "vault/store.h"

namespace vault {

inline constexpr std::size_t kSlotBytes = 128;
using SlotBytes = std::array<std::uint8_t, kSlotBytes>;

// Where the DEK table keeps wrapped DEKs: the slot file (KeySlots, LMDB stores) or a table
// of the store (TableSlots, PostgreSQL: servers share it). Slots are written and read in
// the transaction of the rows that reference them; the file ignores the transaction.
class SlotStore {
 public:
  virtual ~SlotStore() = default;
  virtual Status Read(const Txn& txn, std::uint64_t slot, SlotBytes* out) const = 0;
  virtual Status Write(Txn& txn, std::uint64_t slot, const SlotBytes& bytes) = 0;
  Status Zero(Txn& txn, std::uint64_t slot) { return Write(txn, slot, SlotBytes{}); }
  // Before a commit: what was written is durable (the file's fdatasync).
  virtual Status Sync() = 0;
  // After a crash: drops slots at and beyond count (never-committed allocations).
  virtual Status Truncate(std::uint64_t count) = 0;
};

// Slots as rows of Table::kKeySlots, overwritten with zeros on destruction. The database
// keeps old row versions (dead tuples, WAL, replicas, backups) until it recycles them, so
// a destroyed DEK is unrecoverable once its epoch KEK dies (the horizon), not at once.
class TableSlots final : public SlotStore {
 public:
  Status Read(const Txn& txn, std::uint64_t slot, SlotBytes* out) const override;
  Status Write(Txn& txn, std::uint64_t slot, const SlotBytes& bytes) override;
  Status Sync() override { return Status::Ok(); }                   // the commit is
  Status Truncate(std::uint64_t) override { return Status::Ok(); }  // rows roll back
};

// Thread-safe. Writes are pwrite()s on one descriptor; reads copy from a read-only shared
// mapping of the file (the page cache the writes go to, so no read needs a system call),
// falling back to pread() past the mapping. Allocation is the caller's job (LMDB keeps the
// free list, so it is transactional with the rows that reference slots).
//
// The mapping reserves kMappedBytes of address space up front and is read only below the
// file length last seen (known_len_), never past the end of the file: slots are only read
// through committed rows, and no process truncates below the committed high-water mark.
class KeySlots final : public SlotStore {
 public:
  static StatusOr<std::unique_ptr<KeySlots>> Open(const std::string& path, bool create);
  ~KeySlots() override;
  KeySlots(const KeySlots&) = delete;
  KeySlots& operator=(const KeySlots&) = delete;

  Status Read(std::uint64_t slot, SlotBytes* out) const;
  Status Write(std::uint64_t slot, const SlotBytes& bytes);
  Status Zero(std::uint64_t slot);
  Status Read(const Txn&, std::uint64_t slot, SlotBytes* out) const override {
    return Read(slot, out);
  }
  Status Write(Txn&, std::uint64_t slot, const SlotBytes& bytes) override {
    return Write(slot, bytes);
  }
  using SlotStore::Zero;
  // fdatasync if anything was written since the last sync.
  Status Sync() override;
  // Drops slots at and beyond count (never-committed allocations after a crash).
  Status Truncate(std::uint64_t count) override;

 private:
  static constexpr std::uint64_t kMappedBytes = std::uint64_t{4} << 30;  // 32 Mi slots

  explicit KeySlots(int fd) : fd_(fd) {}
  void NoteLength(std::uint64_t len) const;  // raises known_len_ to len
  int fd_;
  std::atomic<bool> dirty_{false};
  const std::uint8_t* map_ = nullptr;                // kMappedBytes, or null when mmap failed
  mutable std::atomic<std::uint64_t> known_len_{0};  // bytes of the file known to exist
};

}  // namespace vault
