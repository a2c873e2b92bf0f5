// FileRoom: keeps written zeros ahead of a growing file's last used byte (the LMDB data file,
// the key slot file), so the writes of a commit overwrite blocks the file already has.
//
// Why: fdatasync() of a file whose size changed must commit the filesystem's journal (the new
// size and blocks are needed to read the data back); after an overwrite of allocated, written
// blocks it flushes the data alone. Measured on the benchmark machine (ext4 on virtio):
// 715 appends of 4 KiB + fdatasync per second, 6,415 overwrites + fdatasync (docs/benchmarks.md).
// fallocate() would not do: its unwritten extents are converted on first write, which is again
// a journal commit. Durability is unchanged: every commit still syncs all it wrote.
#pragma once

#include <cstdint>
#include <mutex>

namespace vault {

class FileRoom {
 public:
  // Room kept ahead: a quarter of what is used, within [min_room, max_room], and at most an
  // eighth of what is left below limit.
  FileRoom(std::uint64_t min_room, std::uint64_t max_room, std::uint64_t limit)
      : min_room_(min_room), max_room_(max_room), limit_(limit) {}

  // Best effort (a failure leaves the file as it was; the writes then extend it as before):
  // when fd has less than half the room past used, appends zeros up to used + room and syncs
  // them once. Skipped when the disk has little free space, so a nearly full disk fills with
  // data, not zeros. REQUIRES: no other writer writes past the file's end meanwhile (callers
  // hold LMDB's write lock).
  void Ensure(int fd, std::uint64_t used);
  // The file was cut short: look at its size again next time.
  void Forget();

 private:
  std::uint64_t Room(std::uint64_t used) const;

  const std::uint64_t min_room_, max_room_, limit_;
  std::mutex mu_;
  std::uint64_t end_ = 0;  // the file's size when last seen or extended
};

}  // namespace vault
