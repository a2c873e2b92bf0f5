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
#include <utility>
#include <vector>

#include "vault/file_room.h"
#include "vault/status.h"
#include "vault/store.h"

namespace vault {

inline constexpr std::size_t kSlotBytes = 128;
using SlotBytes = std::array<std::uint8_t, kSlotBytes>;

class KeySlots;

// One slot's new bytes, for SlotStore::WriteMany.
struct SlotPut {
  std::uint64_t slot = 0;
  SlotBytes bytes{};
};

// Where the DEK table keeps wrapped DEKs: the slot file (KeySlots, LMDB stores) or a table
// of the store (TableSlots, PostgreSQL: servers share it). Slots are written and read in
// the transaction of the rows that reference them; the file ignores the transaction.
class SlotStore {
 public:
  virtual ~SlotStore() = default;
  virtual Status Read(const Txn& txn, std::uint64_t slot, SlotBytes* out) const = 0;
  virtual Status Write(Txn& txn, std::uint64_t slot, const SlotBytes& bytes) = 0;
  Status Zero(Txn& txn, std::uint64_t slot) { return Write(txn, slot, SlotBytes{}); }
  // Many slots at once (rotation, zeroing freed slots).
  virtual Status WriteMany(Txn& txn, std::vector<SlotPut> puts) = 0;
  // Whether Read may be called from several threads at once within one transaction (the
  // file: yes; a table: no, its reads go through the transaction's single connection).
  virtual bool ConcurrentReads() const = 0;
  // The slot file, for what only a file supports (the key reserve, key_reserve.h); null
  // for slots in a table.
  virtual KeySlots* File() { return nullptr; }
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
  Status WriteMany(Txn& txn, std::vector<SlotPut> puts) override;  // a Write per slot
  bool ConcurrentReads() const override { return false; }
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
  // Many slots at once (rotation, zeroing): sorted by slot, one pwrite per run of adjacent
  // slots instead of one per slot.
  Status WriteMany(std::vector<SlotPut> puts);
  // Whether the slot holds exactly these bytes, read with pread (not the mapping): for a slot
  // past the high-water mark, which another process may have truncated away.
  bool Holds(std::uint64_t slot, const SlotBytes& bytes) const;
  Status Zero(std::uint64_t slot);
  Status Read(const Txn&, std::uint64_t slot, SlotBytes* out) const override {
    return Read(slot, out);
  }
  Status Write(Txn&, std::uint64_t slot, const SlotBytes& bytes) override {
    return Write(slot, bytes);
  }
  Status WriteMany(Txn&, std::vector<SlotPut> puts) override { return WriteMany(std::move(puts)); }
  bool ConcurrentReads() const override { return true; }
  KeySlots* File() override { return this; }
  using SlotStore::Zero;
  // fdatasync if anything was written since the last sync.
  Status Sync() override;
  // Drops slots at and beyond count (never-committed allocations after a crash).
  Status Truncate(std::uint64_t count) override;

 private:
  static constexpr std::uint64_t kMappedBytes = std::uint64_t{4} << 30;  // 32 Mi slots

  explicit KeySlots(int fd) : fd_(fd) {}
  void NoteLength(std::uint64_t len) const;  // raises known_len_ to len
  Status ZeroNonZero(std::uint64_t from, std::uint64_t to);
  int fd_;
  // Zeros kept ahead of the last slot written (16 KiB to 1 MiB): allocating a slot past the
  // high-water mark overwrites a block the file has, so the pre-commit sync flushes data only.
  FileRoom room_{std::uint64_t{16} * 1024, std::uint64_t{1024} * 1024, kMappedBytes};
  std::atomic<bool> dirty_{false};
  const std::uint8_t* map_ = nullptr;                // kMappedBytes, or null when mmap failed
  mutable std::atomic<std::uint64_t> known_len_{0};  // bytes of the file known to exist
};

}  // namespace vault
