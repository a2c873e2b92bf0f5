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

#include "vault/status.h"

namespace vault {

inline constexpr std::size_t kSlotBytes = 128;
using SlotBytes = std::array<std::uint8_t, kSlotBytes>;

// Thread-safe (pread/pwrite on one descriptor). Allocation is the caller's job (LMDB keeps
// the free list, so it is transactional with the rows that reference slots).
class KeySlots {
 public:
  static StatusOr<std::unique_ptr<KeySlots>> Open(const std::string& path, bool create);
  ~KeySlots();
  KeySlots(const KeySlots&) = delete;
  KeySlots& operator=(const KeySlots&) = delete;

  Status Read(std::uint64_t slot, SlotBytes* out) const;
  Status Write(std::uint64_t slot, const SlotBytes& bytes);
  Status Zero(std::uint64_t slot);
  // fdatasync if anything was written since the last sync.
  Status Sync();
  // Drops slots at and beyond count (never-committed allocations after a crash).
  Status Truncate(std::uint64_t count);
  const std::string& path() const { return path_; }

 private:
  KeySlots(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
  std::atomic<bool> dirty_{false};
};

}  // namespace vault
