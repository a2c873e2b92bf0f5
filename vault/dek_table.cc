// The DEK table (dek_table.h).
#include "vault/dek_table.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include "crypto/primitives.h"
#include "vault/codec.h"
#include "vault/index_keys.h"

namespace vault {
namespace {

using crypto::KeyId;
using crypto::SecretBytes;

constexpr std::string_view kMetaShredded = "keys_shredded";
constexpr std::string_view kMetaSlotHwm = "slot_hwm";
constexpr std::string_view kMetaBackupUntil = "backup_until";
constexpr std::string_view kGcPrefix = "gc/";
// A backup pauses slot zeroing for at most this long, so a backup process that dies
// cannot pause it for ever.
constexpr UnixSeconds kMaxBackupPause = 3600;
// A rotation takes free slots only in runs of at least a page of the slot file (4 KiB), so
// that its writes stay sequential; scattered free slots go to single new keys.
constexpr std::uint64_t kRotationMinRun = 4096 / kSlotBytes;
// Slots zeroed per WriteMany, so zeroing a million freed slots needs no million-entry buffer.
constexpr std::size_t kZeroBatch = 65536;

std::string RetiringKey(std::string_view scope, const KeyId& id) {
  return std::string(scope) + Bytes(id);
}

std::vector<std::string> KeysOf(const Txn& txn, Table t, std::string_view prefix, Status* st) {
  std::vector<std::string> out;
  *st = txn.ScanPrefix(t, prefix, [&](std::string_view k, std::string_view) {
    out.emplace_back(k);
    return true;
  });
  return out;
}

}  // namespace

Status DekTable::Find(const Txn& txn, std::string_view scope, KeyId* id, SecretBytes* dek) const {
  auto kid = txn.Get(Table::kScopes, scope);
  if (!kid || kid->size() != id->size()) return NotFound("no key for scope");
  std::memcpy(id->data(), kid->data(), id->size());
  return Load(txn, *id, dek);
}

Status DekTable::FindOrCreate(Txn& txn, std::string_view scope, UnixSeconds expires_at, KeyId* id,
                              SecretBytes* dek) {
  Status found = Find(txn, scope, id, dek);
  if (found.code() != Code::kNotFound) return found;
  return Create(txn, scope, expires_at, id, dek);
}

Status DekTable::Create(Txn& txn, std::string_view scope, UnixSeconds expires_at, KeyId* id,
                        SecretBytes* dek) {
  KeyRow row;
  row.scope = scope;
  if (auto reserved = TakeReserved(txn)) {
    *id = reserved->id;
    *dek = std::move(reserved->dek);
    row.slot = reserved->slot;
    row.epoch = reserved->epoch;
  } else {
    *id = crypto::RandomArray<16>();
    *dek = SecretBytes::Random(crypto::kKeyBytes);
    VAULT_RETURN_IF_ERROR(WrapIntoNewSlot(txn, *dek, *id, &row));
  }
  row.expires_at = expires_at;
  row.created_at = clock_.Now();
  VAULT_RETURN_IF_ERROR(txn.Put(Table::kKeys, Bytes(*id), EncodeKeyRow(row)));
  VAULT_RETURN_IF_ERROR(txn.Put(Table::kScopes, scope, Bytes(*id)));
  if (expires_at != 0) {
    VAULT_RETURN_IF_ERROR(txn.Put(Table::kExpiry, TimedKey(expires_at, Bytes(*id)), ""));
  }
  return Status::Ok();
}

StatusOr<std::uint64_t> DekTable::AllocateSlot(Txn& txn) {
  VAULT_ASSIGN_OR_RETURN(const std::vector<std::uint64_t> taken, free_.Take(txn, 1));
  if (!taken.empty()) return taken.front();
  const std::uint64_t next = MetaU64(txn, kMetaSlotHwm);
  VAULT_RETURN_IF_ERROR(SetMetaU64(txn, kMetaSlotHwm, next + 1));
  return next;
}

// n slots for a rotation's new wraps: free ones in runs (kRotationMinRun), then past the
// high-water mark, so its slot writes are sequential runs.
StatusOr<std::vector<std::uint64_t>> DekTable::AllocateSlots(Txn& txn, std::size_t n) {
  if (n == 0) return std::vector<std::uint64_t>();
  VAULT_ASSIGN_OR_RETURN(std::vector<std::uint64_t> out, free_.Take(txn, n, kRotationMinRun));
  if (out.size() < n) {
    const std::uint64_t hwm = MetaU64(txn, kMetaSlotHwm);
    const std::uint64_t more = n - out.size();
    for (std::uint64_t i = 0; i < more; ++i) out.push_back(hwm + i);
    VAULT_RETURN_IF_ERROR(SetMetaU64(txn, kMetaSlotHwm, hwm + more));
  }
  return out;
}

// A key from the reserve for the slot at the high-water mark, which this transaction then
// raises; none while the free list has slots (they are used first, by the ordinary path).
std::optional<KeyReserve::Entry> DekTable::TakeReserved(Txn& txn) {
  Status scan;
  if (!free_.Empty(txn, &scan) || !scan.ok()) return std::nullopt;
  const std::uint64_t hwm = MetaU64(txn, kMetaSlotHwm);
  std::optional<KeyReserve::Entry> taken = reserve_.Take(hwm);
  if (taken && !SetMetaU64(txn, kMetaSlotHwm, hwm + 1).ok()) return std::nullopt;
  return taken;
}

Status DekTable::SyncSlots(const Txn& txn) {
  // Best effort: a refill that fails (a full disk) leaves the reserve as it was.
  if (!reserve_.Refill(MetaU64(txn, kMetaSlotHwm)).ok()) reserve_.Unsynced();
  Status s = slots_.Sync();
  if (s.ok()) {
    reserve_.Synced();
  } else {
    reserve_.Unsynced();
  }
  return s;
}

// Takes a slot from the free list (or extends the file), wraps the DEK under the current
// epoch into it, and records slot and epoch in row. The slot is synced before commit.
Status DekTable::WrapIntoNewSlot(Txn& txn, const SecretBytes& dek, const KeyId& id, KeyRow* row) {
  VAULT_ASSIGN_OR_RETURN(row->slot, AllocateSlot(txn));
  const auto wrapped = keyring_.WrapDek(dek, id, &row->epoch);
  if (wrapped.empty()) return Status(Code::kUnavailable, "the token cannot wrap a data key");
  return slots_.Write(txn, row->slot, EncodeSlot(row->epoch, wrapped));
}

StatusOr<std::optional<KeyRow>> DekTable::Row(const Txn& txn, const KeyId& id) const {
  auto v = txn.Get(Table::kKeys, Bytes(id));
  if (!v) return std::optional<KeyRow>();
  KeyRow row;
  if (!DecodeKeyRow(*v, &row)) return DataLoss("a key row is corrupt");
  return std::optional<KeyRow>(std::move(row));
}

Status DekTable::Load(const Txn& txn, const KeyId& id, SecretBytes* dek) const {
  VAULT_ASSIGN_OR_RETURN(auto row, Row(txn, id));
  if (!row) return Status(Code::kGone, "the data key was destroyed");
  return Unwrap(txn, *row, dek);
}

Status DekTable::Unwrap(const Txn& txn, const KeyRow& row, SecretBytes* dek) const {
  SlotBytes slot;
  VAULT_RETURN_IF_ERROR(slots_.Read(txn, row.slot, &slot));
  std::uint64_t epoch = 0;
  std::span<const std::uint8_t> wrapped;
  if (!DecodeSlot(slot, &epoch, &wrapped) || epoch != row.epoch) {
    return DataLoss("a key slot does not hold the key its row names");
  }
  Status s = keyring_.UnwrapDek(wrapped, epoch, dek);
  if (s.code() == Code::kUnavailable) {  // another process started an epoch
    VAULT_RETURN_IF_ERROR(keyring_.Reload());
    s = keyring_.UnwrapDek(wrapped, epoch, dek);
  }
  return s;
}

Status DekTable::Destroy(Txn& txn, const KeyId& id) {
  VAULT_ASSIGN_OR_RETURN(auto row, Row(txn, id));
  if (!row) return Status::Ok();
  return Destroy(txn, id, *row);
}

Status DekTable::Destroy(Txn& txn, const KeyId& id, const KeyRow& row) {
  const std::string key = Bytes(id);
  if (auto cur = txn.Get(Table::kScopes, row.scope); cur && *cur == key) {
    VAULT_RETURN_IF_ERROR(txn.Del(Table::kScopes, row.scope));
  }
  if (row.expires_at != 0) {
    VAULT_RETURN_IF_ERROR(txn.Del(Table::kExpiry, TimedKey(row.expires_at, key)));
  }
  VAULT_RETURN_IF_ERROR(txn.Del(Table::kKeys, key));
  VAULT_RETURN_IF_ERROR(txn.Del(Table::kRekeys, RetiringKey(row.scope, id)));
  // The slot is zeroed once this commits (ZeroFreedSlots), not before: an aborted
  // transaction must not lose a key that is still referenced.
  VAULT_RETURN_IF_ERROR(freed_.Add(txn, {row.slot}));
  const std::size_t cut = row.scope.size() >= 8 ? row.scope.size() - 8 : 0;
  VAULT_RETURN_IF_ERROR(
      txn.Put(Table::kMeta, std::string(kGcPrefix) + row.scope.substr(0, cut), ""));
  return SetMetaU64(txn, kMetaShredded, MetaU64(txn, kMetaShredded) + 1);
}

StatusOr<bool> DekTable::Retire(Txn& txn, const KeyId& id, const KeyRow& row) {
  const std::string key = RetiringKey(row.scope, id);
  if (txn.Get(Table::kRekeys, key)) return false;
  if (auto cur = txn.Get(Table::kScopes, row.scope); cur && *cur == Bytes(id)) {
    VAULT_RETURN_IF_ERROR(txn.Del(Table::kScopes, row.scope));
  }
  VAULT_RETURN_IF_ERROR(txn.Put(Table::kRekeys, key, ""));
  return true;
}

StatusOr<std::vector<DekTable::Retiring>> DekTable::ListRetiring(const Txn& txn,
                                                                 std::string_view prefix,
                                                                 std::size_t limit) const {
  std::vector<Retiring> out;
  Status corrupt;
  VAULT_RETURN_IF_ERROR(
      txn.ScanPrefix(Table::kRekeys, prefix, [&](std::string_view k, std::string_view v) {
        Retiring r;
        if (k.size() <= r.id.size()) {
          corrupt = DataLoss("a rekeys row is corrupt");
          return false;
        }
        r.scope = k.substr(0, k.size() - r.id.size());
        std::memcpy(r.id.data(), k.data() + r.scope.size(), r.id.size());
        r.cursor = v;
        out.push_back(std::move(r));
        return limit == 0 || out.size() < limit;
      }));
  VAULT_RETURN_IF_ERROR(corrupt);
  return out;
}

Status DekTable::SetRetiringCursor(Txn& txn, const KeyId& id, const KeyRow& row,
                                   std::string_view cursor) {
  return txn.Put(Table::kRekeys, RetiringKey(row.scope, id), cursor);
}

Status DekTable::Rewrap(Txn& txn, const KeyId& id, KeyRow* row) {
  // Copy-on-write at the slot level: the new wrap goes to a fresh slot and the old slot is
  // zeroed after commit, so a crash never leaves a half-written key.
  SecretBytes dek;
  VAULT_RETURN_IF_ERROR(Unwrap(txn, *row, &dek));
  VAULT_RETURN_IF_ERROR(freed_.Add(txn, {row->slot}));
  return WrapIntoNewSlot(txn, dek, id, row);
}

Status DekTable::RewrapRange(const Txn& txn, const std::vector<RewrapItem>& items, std::size_t from,
                             std::size_t to, std::vector<SlotPut>* puts,
                             std::vector<std::uint64_t>* epochs) const {
  for (std::size_t i = from; i < to; ++i) {
    SecretBytes dek;
    VAULT_RETURN_IF_ERROR(Unwrap(txn, items[i].row, &dek));
    const auto wrapped = keyring_.WrapDek(dek, items[i].id, &(*epochs)[i]);
    (*puts)[i].bytes = EncodeSlot((*epochs)[i], wrapped);
  }
  return Status::Ok();
}

// The crypto of a RewrapMany in chunks, claimed in order by whichever of its two threads is
// free; a chunk is marked done (release) once its wraps are in puts and epochs.
struct DekTable::RewrapWork {
  static constexpr std::size_t kChunk = 128;
  explicit RewrapWork(std::size_t count)
      : n(count), chunks((count + kChunk - 1) / kChunk), done(chunks), status(chunks) {}
  std::size_t n, chunks;
  std::atomic<std::size_t> next{0};
  std::vector<std::atomic<bool>> done;
  std::vector<Status> status;
  std::vector<SlotPut> puts = std::vector<SlotPut>(n);
  std::vector<std::uint64_t> epochs = std::vector<std::uint64_t>(n);
};

// Claims the next chunk and runs its crypto; false when none is left.
bool DekTable::RewrapChunk(const Txn& txn, const std::vector<RewrapItem>& items,
                           RewrapWork* w) const {
  const std::size_t c = w->next.fetch_add(1);
  if (c >= w->chunks) return false;
  const std::size_t from = c * RewrapWork::kChunk;
  w->status[c] = RewrapRange(txn, items, from, std::min(w->n, from + RewrapWork::kChunk), &w->puts,
                             &w->epochs);
  w->done[c].store(true, std::memory_order_release);
  return true;
}

Status DekTable::RewrapMany(Txn& txn, std::vector<RewrapItem>* items) {
  const std::size_t n = items->size();
  VAULT_ASSIGN_OR_RETURN(const std::vector<std::uint64_t> slots, AllocateSlots(txn, n));
  RewrapWork w(n);
  std::vector<std::uint64_t> old(n);  // copy-on-write, as in Rewrap: zeroed after commit
  for (std::size_t i = 0; i < n; ++i) {
    w.puts[i].slot = slots[i];
    old[i] = (*items)[i].row.slot;
  }
  // The crypto (an unwrap and a wrap per key) on a second thread too, while this one writes
  // the rows of the chunks done and takes chunks itself when none is. Only where the slot
  // store allows concurrent reads (the file); slots in a table are read through the
  // transaction's one connection, so there it all runs on this thread. The keyring is
  // thread-safe; the other thread touches no table.
  const bool two = n >= 256 && slots_.ConcurrentReads() && std::thread::hardware_concurrency() > 1;
  std::thread helper;
  if (two)
    helper = std::thread([&] {
      while (RewrapChunk(txn, *items, &w)) {
      }
    });
  Status s = freed_.Add(txn, std::move(old));
  for (std::size_t c = 0; c < w.chunks && s.ok();) {
    if (!w.done[c].load(std::memory_order_acquire)) {
      if (!RewrapChunk(txn, *items, &w)) std::this_thread::yield();  // the other has it
      continue;
    }
    s = w.status[c];
    const std::size_t to = std::min(n, (c + 1) * RewrapWork::kChunk);
    for (std::size_t i = c * RewrapWork::kChunk; i < to && s.ok(); ++i) {
      RewrapItem& item = (*items)[i];
      item.row.slot = slots[i];
      item.row.epoch = w.epochs[i];
      s = txn.Put(Table::kKeys, Bytes(item.id), EncodeKeyRow(item.row));
    }
    ++c;
  }
  w.next.store(w.chunks);  // on an error: the other thread takes no further chunk
  if (helper.joinable()) helper.join();
  VAULT_RETURN_IF_ERROR(s);
  return slots_.WriteMany(txn, std::move(w.puts));
}

StatusOr<std::vector<std::string>> DekTable::ScopesToCollect(const Txn& txn) const {
  Status st;
  std::vector<std::string> marks = KeysOf(txn, Table::kMeta, kGcPrefix, &st);
  VAULT_RETURN_IF_ERROR(st);
  for (auto& m : marks) m.erase(0, kGcPrefix.size());
  return marks;
}

Status DekTable::Collected(Txn& txn, std::string_view prefix) {
  return txn.Del(Table::kMeta, std::string(kGcPrefix) + std::string(prefix));
}

std::uint64_t DekTable::Shredded(const Txn& txn) const { return MetaU64(txn, kMetaShredded); }

Status DekTable::ZeroFreedSlots() {
  return store_.Transact([&](Txn& txn) { return ZeroFreed(txn); });
}

Status DekTable::ZeroFreed(Txn& txn) {
  // A backup (in this process or another) may still need the freed slots.
  if (static_cast<UnixSeconds>(MetaU64(txn, kMetaBackupUntil)) > clock_.Now()) {
    return Status::Ok();
  }
  VAULT_ASSIGN_OR_RETURN(std::vector<std::uint64_t> freed, freed_.TakeAll(txn));
  VAULT_RETURN_IF_ERROR(ZeroSlots(txn, freed));
  return free_.Add(txn, std::move(freed));  // the pre-commit hook syncs the zeroes first
}

Status DekTable::ZeroSlots(Txn& txn, const std::vector<std::uint64_t>& slots) {
  for (std::size_t i = 0; i < slots.size(); i += kZeroBatch) {
    std::vector<SlotPut> zeros(std::min(kZeroBatch, slots.size() - i));
    for (std::size_t j = 0; j < zeros.size(); ++j) zeros[j].slot = slots[i + j];
    VAULT_RETURN_IF_ERROR(slots_.WriteMany(txn, std::move(zeros)));
  }
  return Status::Ok();
}

Status DekTable::ZeroFreedSlotsNow() {
  return store_.Exclusive([this] { return ZeroFreedSlots(); });
}

Status DekTable::PauseSlotZeroing(bool pause) {
  const UnixSeconds until = pause ? clock_.Now() + kMaxBackupPause : 0;
  return store_.Write([&](Txn& txn) {
    return SetMetaU64(txn, kMetaBackupUntil, static_cast<std::uint64_t>(until));
  });
}

// After a crash: slots past the high-water mark and slots on the free list may hold keys of
// transactions that never committed; slots freed by committed ones may not be zeroed yet.
// Runs inside a write transaction, so no other process is allocating slots meanwhile.
Status DekTable::RecoverSlots() {
  return store_.Exclusive([&]() -> Status {
    VAULT_RETURN_IF_ERROR(store_.Transact([&](Txn& txn) -> Status {
      VAULT_RETURN_IF_ERROR(free_.Convert(txn));  // stores written before the bitmap rows
      VAULT_RETURN_IF_ERROR(freed_.Convert(txn));
      VAULT_RETURN_IF_ERROR(slots_.Truncate(MetaU64(txn, kMetaSlotHwm)));
      reserve_.Clear();
      // Slots in a table roll back with the transaction that wrote them: nothing to zero.
      if (slots_.File() == nullptr) return Status::Ok();
      std::vector<std::uint64_t> written;  // free slots that are not zero
      Status read;
      VAULT_RETURN_IF_ERROR(free_.Scan(txn, [&](std::uint64_t slot) {
        SlotBytes bytes;
        read = slots_.Read(txn, slot, &bytes);
        if (read.ok() && bytes != SlotBytes{}) written.push_back(slot);
        return read.ok();
      }));
      VAULT_RETURN_IF_ERROR(read);
      return ZeroSlots(txn, written);
    }));
    return ZeroFreedSlots();
  });
}

}  // namespace vault
