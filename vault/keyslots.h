// KeySlots: wrapped DEKs in a file of fixed-size slots that are overwritten in place.
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
#include <vector>

#include "vault/file_room.h"
#include "vault/status.h"

namespace vault {

inline constexpr std::size_t kSlotBytes = 128;
using SlotBytes = std::array<std::uint8_t, kSlotBytes>;

// Thread-safe. Writes are pwrite()s on one descriptor; reads copy from a read-only shared
// mapping of the file (the page cache the writes go to, so no read needs a system call),
// falling back to pread() past the mapping. Allocation is the caller's job (LMDB keeps the
// free list, so it is transactional with the rows that reference slots).
//
// The mapping reserves kMappedBytes of address space up front and is read only below the
// file length last seen (known_len_), never past the end of the file: slots are only read
// through committed rows, and no process truncates below the committed high-water mark.
class KeySlots {
 public:
  static StatusOr<std::unique_ptr<KeySlots>> Open(const std::string& path, bool create);
  ~KeySlots();
  KeySlots(const KeySlots&) = delete;
  KeySlots& operator=(const KeySlots&) = delete;

  Status Read(std::uint64_t slot, SlotBytes* out) const;
  Status Write(std::uint64_t slot, const SlotBytes& bytes);
  // Many slots at once (rotation, zeroing): sorted by slot, one pwrite per run of adjacent
  // slots instead of one per slot.
  struct Put {
    std::uint64_t slot = 0;
    SlotBytes bytes{};
  };
  Status WriteMany(std::vector<Put> puts);
  // Whether the slot holds exactly these bytes, read with pread (not the mapping): for a slot
  // past the high-water mark, which another process may have truncated away.
  bool Holds(std::uint64_t slot, const SlotBytes& bytes) const;
  Status Zero(std::uint64_t slot);
  // fdatasync if anything was written since the last sync.
  Status Sync();
  // Drops slots at and beyond count (never-committed allocations after a crash).
  Status Truncate(std::uint64_t count);

 private:
  static constexpr std::uint64_t kMappedBytes = std::uint64_t{4} << 30;  // 32 Mi slots

  explicit KeySlots(int fd) : fd_(fd) {}
  void NoteLength(std::uint64_t len) const;  // raises known_len_ to len
  Status ZeroNonZero(std::uint64_t from, std::uint64_t to);
  int fd_;
  // Zeros kept ahead of the last slot written (16 KiB to 1 MiB): allocating a slot past the
  // high-water mark overwrites a block the file has, so the pre-commit sync flushes data only.
  FileRoom room_{16 * 1024, 1024 * 1024, kMappedBytes};
  std::atomic<bool> dirty_{false};
  const std::uint8_t* map_ = nullptr;                // kMappedBytes, or null when mmap failed
  mutable std::atomic<std::uint64_t> known_len_{0};  // bytes of the file known to exist
};

}  // namespace vault
