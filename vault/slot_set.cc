// Key slot sets as bitmap rows (slot_set.h).
#include "vault/slot_set.h"

#include <algorithm>
#include <string>

#include "vault/codec.h"

namespace vault {
namespace {

constexpr std::size_t kRowBytes = SlotSet::kSlotsPerRow / 8;
constexpr char kRowTag = 'm';  // bitmap rows: 'm' | row number (big-endian); legacy: 8 bytes

std::string RowKey(std::uint64_t row) {
  std::string k(1, kRowTag);
  AppendBigEndian(&k, row);
  return k;
}

bool IsBitmapRow(std::string_view k, std::string_view v) {
  return k.size() == 9 && k[0] == kRowTag && v.size() == kRowBytes;
}

// Applies set (or clear) to the bits of sorted slots, one row read and written per row.
template <typename Apply>
Status EachRow(Txn& txn, Table t, const std::vector<std::uint64_t>& sorted, Apply apply) {
  for (std::size_t i = 0; i < sorted.size();) {
    const std::uint64_t row = sorted[i] / SlotSet::kSlotsPerRow;
    const std::string key = RowKey(row);
    std::string bits(kRowBytes, '\0');
    if (auto v = txn.Get(t, key); v && v->size() == kRowBytes) bits.assign(*v);
    for (; i < sorted.size() && sorted[i] / SlotSet::kSlotsPerRow == row; ++i) {
      const std::uint64_t bit = sorted[i] % SlotSet::kSlotsPerRow;
      apply(&bits[bit / 8], static_cast<char>(1U << (bit % 8)));
    }
    const bool empty = std::all_of(bits.begin(), bits.end(), [](char c) { return c == 0; });
    VAULT_RETURN_IF_ERROR(empty ? txn.Del(t, key) : txn.Put(t, key, bits));
  }
  return Status::Ok();
}

}  // namespace

Status SlotSet::Visit(const Txn& txn, const std::function<bool(std::uint64_t, bool)>& fn) const {
  return txn.ScanFrom(table_, "", [&](std::string_view k, std::string_view v) {
    if (k.size() == 8) return fn(ReadBigEndian(k), true);
    if (!IsBitmapRow(k, v)) return true;
    const std::uint64_t base = ReadBigEndian(k.substr(1)) * kSlotsPerRow;
    for (std::size_t byte = 0; byte < kRowBytes; ++byte) {
      const auto b = static_cast<unsigned char>(v[byte]);
      if (b == 0) continue;
      for (unsigned bit = 0; bit < 8; ++bit) {
        if ((b & (1U << bit)) != 0 && !fn(base + byte * 8 + bit, false)) return false;
      }
    }
    return true;
  });
}

Status SlotSet::Scan(const Txn& txn, const std::function<bool(std::uint64_t)>& fn) const {
  return Visit(txn, [&](std::uint64_t slot, bool) { return fn(slot); });
}

Status SlotSet::Add(Txn& txn, std::vector<std::uint64_t> slots) const {
  std::sort(slots.begin(), slots.end());
  return EachRow(txn, table_, slots, [](char* byte, char mask) { *byte |= mask; });
}

Status SlotSet::ClearBits(Txn& txn, const std::vector<std::uint64_t>& sorted) const {
  return EachRow(txn, table_, sorted, [](char* byte, char mask) { *byte &= ~mask; });
}

StatusOr<std::vector<std::uint64_t>> SlotSet::Take(Txn& txn, std::size_t n,
                                                   std::uint64_t min_run) const {
  std::vector<std::uint64_t> out, legacy;
  if (n == 0) return out;
  min_run = std::max<std::uint64_t>(min_run, 1);
  std::uint64_t run_start = 0, run_len = 0;
  VAULT_RETURN_IF_ERROR(Visit(txn, [&](std::uint64_t slot, bool old) {
    if (old) legacy.push_back(slot);
    if (run_len > 0 && slot == run_start + run_len) {
      ++run_len;
    } else {
      run_start = slot;
      run_len = 1;
    }
    if (run_len == min_run) {
      for (std::uint64_t i = 0; i < min_run; ++i) out.push_back(run_start + i);
    } else if (run_len > min_run) {
      out.push_back(slot);
    }
    return out.size() < n;
  }));
  if (out.size() > n) out.resize(n);
  std::sort(out.begin(), out.end());
  std::sort(legacy.begin(), legacy.end());
  for (const std::uint64_t slot : out) {
    if (std::binary_search(legacy.begin(), legacy.end(), slot)) {
      VAULT_RETURN_IF_ERROR(txn.Del(table_, BigEndianKey(slot)));
    }
  }
  VAULT_RETURN_IF_ERROR(ClearBits(txn, out));
  return out;
}

StatusOr<std::vector<std::uint64_t>> SlotSet::TakeAll(Txn& txn) const {
  std::vector<std::string> rows;
  VAULT_RETURN_IF_ERROR(txn.ScanFrom(table_, "", [&](std::string_view k, std::string_view) {
    rows.emplace_back(k);
    return true;
  }));
  std::vector<std::uint64_t> out;
  VAULT_RETURN_IF_ERROR(Scan(txn, [&](std::uint64_t slot) {
    out.push_back(slot);
    return true;
  }));
  for (const auto& k : rows) VAULT_RETURN_IF_ERROR(txn.Del(table_, k));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool SlotSet::Empty(const Txn& txn, Status* st) const {
  bool empty = true;
  *st = Scan(txn, [&](std::uint64_t) {
    empty = false;
    return false;
  });
  return empty;
}

Status SlotSet::Convert(Txn& txn) const {
  std::vector<std::uint64_t> legacy;
  VAULT_RETURN_IF_ERROR(Visit(txn, [&](std::uint64_t slot, bool old) {
    if (!old) return false;  // legacy rows sort first (their first byte is below the tag)
    legacy.push_back(slot);
    return true;
  }));
  for (const std::uint64_t slot : legacy) {
    VAULT_RETURN_IF_ERROR(txn.Del(table_, BigEndianKey(slot)));
  }
  return Add(txn, std::move(legacy));
}

}  // namespace vault
