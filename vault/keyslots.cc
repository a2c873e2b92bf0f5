// Key slot file I/O, and key slots in a store table.
#include "vault/keyslots.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "vault/codec.h"

namespace vault {

Status TableSlots::Read(const Txn& txn, std::uint64_t slot, SlotBytes* out) const {
  auto v = txn.Get(Table::kKeySlots, BigEndianKey(slot));
  if (!v || v->size() != kSlotBytes) {
    VAULT_RETURN_IF_ERROR(txn.Error());
    return DataLoss("key slot " + std::to_string(slot) + " is missing");
  }
  std::memcpy(out->data(), v->data(), kSlotBytes);
  return Status::Ok();
}

Status TableSlots::WriteMany(Txn& txn, std::vector<SlotPut> puts) {
  for (const SlotPut& p : puts) VAULT_RETURN_IF_ERROR(Write(txn, p.slot, p.bytes));
  return Status::Ok();
}

Status TableSlots::Write(Txn& txn, std::uint64_t slot, const SlotBytes& bytes) {
  return txn.Put(Table::kKeySlots, BigEndianKey(slot),
                 std::string_view(reinterpret_cast<const char*>(bytes.data()), kSlotBytes));
}

StatusOr<std::unique_ptr<KeySlots>> KeySlots::Open(const std::string& path, bool create) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
  if (fd < 0) {
    return Status(errno == ENOENT ? Code::kNotFound : Code::kInternal,
                  "cannot open key slot file " + path + ": " + std::strerror(errno));
  }
  std::unique_ptr<KeySlots> slots(new KeySlots(fd));
  void* map = ::mmap(nullptr, kMappedBytes, PROT_READ, MAP_SHARED, fd, 0);
  if (map != MAP_FAILED) {
    slots->map_ = static_cast<const std::uint8_t*>(map);
    ::madvise(map, kMappedBytes, MADV_DONTDUMP);  // not needed in a core file
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0) slots->NoteLength(static_cast<std::uint64_t>(st.st_size));
  return slots;
}

KeySlots::~KeySlots() {
  if (map_ != nullptr) ::munmap(const_cast<std::uint8_t*>(map_), kMappedBytes);
  ::close(fd_);
}

void KeySlots::NoteLength(std::uint64_t len) const {
  std::uint64_t cur = known_len_.load(std::memory_order_relaxed);
  while (len > cur && !known_len_.compare_exchange_weak(cur, len, std::memory_order_release)) {
  }
}

Status KeySlots::Read(std::uint64_t slot, SlotBytes* out) const {
  const std::uint64_t off = slot * kSlotBytes;
  if (map_ != nullptr && off + kSlotBytes <= kMappedBytes && slot < kMappedBytes / kSlotBytes) {
    if (off + kSlotBytes > known_len_.load(std::memory_order_acquire)) {
      // Written by another process since we last looked: learn the new length.
      struct stat st {};
      if (::fstat(fd_, &st) == 0) {
        NoteLength(static_cast<std::uint64_t>(st.st_size));
      }
    }
    if (off + kSlotBytes <= known_len_.load(std::memory_order_acquire)) {
      std::memcpy(out->data(), map_ + off, kSlotBytes);
      return Status::Ok();
    }
    return DataLoss("key slot " + std::to_string(slot) + " is missing");
  }
  const ssize_t n = ::pread(fd_, out->data(), kSlotBytes, static_cast<off_t>(off));
  if (n != static_cast<ssize_t>(kSlotBytes))
    return DataLoss("key slot " + std::to_string(slot) + " is missing");
  return Status::Ok();
}

namespace {

// A write or sync error: a full disk (or quota) is kUnavailable, so the request gets 503 and
// its transaction aborts (recovery zeroes a slot written for it); anything else is internal.
Status WriteError(const char* what, int err) {
  if (err == ENOSPC || err == EDQUOT) {
    return Status(Code::kUnavailable, std::string(what) + ": the disk is full or over quota");
  }
  return Internal(std::string(what) + ": " + std::strerror(err));
}

}  // namespace

Status KeySlots::Write(std::uint64_t slot, const SlotBytes& bytes) {
  room_.Ensure(fd_, (slot + 1) * kSlotBytes);
  const ssize_t n = ::pwrite(fd_, bytes.data(), kSlotBytes, static_cast<off_t>(slot * kSlotBytes));
  if (n != static_cast<ssize_t>(kSlotBytes)) {
    // A short write to a regular file means the disk filled up during it.
    return WriteError("cannot write key slot", n < 0 ? errno : ENOSPC);
  }
  NoteLength((slot + 1) * kSlotBytes);
  dirty_ = true;
  return Status::Ok();
}

Status KeySlots::WriteMany(std::vector<SlotPut> puts) {
  if (puts.empty()) return Status::Ok();
  const auto by_slot = [](const SlotPut& a, const SlotPut& b) { return a.slot < b.slot; };
  // A rotation's puts come sorted already (its slots are taken in order).
  if (!std::is_sorted(puts.begin(), puts.end(), by_slot)) {
    std::stable_sort(puts.begin(), puts.end(), by_slot);
  }
  room_.Ensure(fd_, (puts.back().slot + 1) * kSlotBytes);
  std::vector<std::uint8_t> run;
  for (std::size_t i = 0; i < puts.size();) {
    std::size_t j = i;
    run.clear();
    // A run: adjacent slots (a slot named twice keeps its last bytes, as separate writes would).
    while (j < puts.size() && (j == i || puts[j].slot <= puts[j - 1].slot + 1)) {
      if (j > i && puts[j].slot == puts[j - 1].slot) run.resize(run.size() - kSlotBytes);
      run.insert(run.end(), puts[j].bytes.begin(), puts[j].bytes.end());
      ++j;
    }
    const auto off = static_cast<off_t>(puts[i].slot * kSlotBytes);
    const ssize_t n = ::pwrite(fd_, run.data(), run.size(), off);
    if (n != static_cast<ssize_t>(run.size())) {
      return WriteError("cannot write key slots", n < 0 ? errno : ENOSPC);
    }
    NoteLength((puts[j - 1].slot + 1) * kSlotBytes);
    dirty_ = true;
    i = j;
  }
  return Status::Ok();
}

bool KeySlots::Holds(std::uint64_t slot, const SlotBytes& bytes) const {
  SlotBytes now{};
  const ssize_t n = ::pread(fd_, now.data(), kSlotBytes, static_cast<off_t>(slot * kSlotBytes));
  return n == static_cast<ssize_t>(kSlotBytes) && now == bytes;
}

Status KeySlots::Zero(std::uint64_t slot) { return Write(slot, SlotBytes{}); }

Status KeySlots::Sync() {
  if (!dirty_.exchange(false)) return Status::Ok();
  if (::fdatasync(fd_) != 0) {
    dirty_ = true;
    return WriteError("cannot sync key slot file", errno);
  }
  return Status::Ok();
}

Status KeySlots::Truncate(std::uint64_t count) {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return Internal("cannot stat key slot file");
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size <= count * kSlotBytes) return Status::Ok();
  // Zero before truncating so the bytes are overwritten where they lie.
  VAULT_RETURN_IF_ERROR(ZeroNonZero(count * kSlotBytes, size));
  VAULT_RETURN_IF_ERROR(Sync());
  if (::ftruncate(fd_, static_cast<off_t>(count * kSlotBytes)) != 0) {
    return Internal("cannot truncate key slot file");
  }
  room_.Forget();
  // Runs before any read of this process (recovery at open), so nothing reads meanwhile.
  known_len_.store(count * kSlotBytes, std::memory_order_release);
  return Status::Ok();
}

// Overwrites with zeros every block of [from, to) that holds a non-zero byte (most of what
// lies past the high-water mark is the zeroed room, which needs no write).
Status KeySlots::ZeroNonZero(std::uint64_t from, std::uint64_t to) {
  constexpr std::uint64_t kBlock = std::uint64_t{64} * 1024;
  std::vector<std::uint8_t> buf(kBlock);
  for (std::uint64_t at = from; at < to;) {
    const auto n = static_cast<std::size_t>(std::min(kBlock, to - at));
    if (::pread(fd_, buf.data(), n, static_cast<off_t>(at)) != static_cast<ssize_t>(n)) {
      return Internal("cannot read key slot file");
    }
    if (std::any_of(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n),
                    [](std::uint8_t b) { return b != 0; })) {
      std::fill(buf.begin(), buf.end(), std::uint8_t{0});
      if (::pwrite(fd_, buf.data(), n, static_cast<off_t>(at)) != static_cast<ssize_t>(n)) {
        return WriteError("cannot zero key slots", errno);
      }
      dirty_ = true;
    }
    at += n;
  }
  return Status::Ok();
}

}  // namespace vault
