// Zeroed room ahead of a growing file's end (file_room.h).
#include "vault/file_room.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

namespace vault {
namespace {

constexpr std::uint64_t kChunk = std::uint64_t{256} * 1024;  // bytes per zero write

// Appends zeros from `from` to `to`; false (and the file cut back to `from`) on any error.
bool AppendZeros(int fd, std::uint64_t from, std::uint64_t to) {
  static const std::vector<char> zeros(kChunk, 0);
  for (std::uint64_t at = from; at < to;) {
    const std::size_t n = static_cast<std::size_t>(std::min(kChunk, to - at));
    const ssize_t w = ::pwrite(fd, zeros.data(), n, static_cast<off_t>(at));
    if (w <= 0) {
      (void)!::ftruncate(fd, static_cast<off_t>(from));
      return false;
    }
    at += static_cast<std::uint64_t>(w);
  }
  return ::fdatasync(fd) == 0;
}

}  // namespace

std::uint64_t FileRoom::Room(std::uint64_t used) const {
  return std::clamp(used / 4, min_room_, max_room_);
}

void FileRoom::Ensure(int fd, std::uint64_t used) {
  const std::uint64_t room = Room(used);
  std::lock_guard<std::mutex> lock(mu_);
  if (used + room / 2 <= end_) return;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return;
  end_ = static_cast<std::uint64_t>(st.st_size);
  if (used + room / 2 <= end_) return;
  // Near the limit the room shrinks (an eighth of what is left), so the file's size, which
  // lethe_store_map_used_bytes reports, stays within a few percent of what is used.
  if (used >= limit_) return;
  const std::uint64_t target = used + std::min(room, (limit_ - used) / 8);
  if (target <= end_) return;
  struct statvfs fs {};
  if (::fstatvfs(fd, &fs) != 0 ||
      static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize < 4 * (target - end_)) {
    return;
  }
  if (AppendZeros(fd, end_, target)) end_ = target;
}

void FileRoom::Forget() {
  std::lock_guard<std::mutex> lock(mu_);
  end_ = 0;
}

}  // namespace vault
