// The blind index (blind_index.h).
#include "vault/blind_index.h"

#include <cstring>
#include <vector>

#include "vault/codec.h"
#include "vault/index_value.h"

namespace vault {
namespace {

constexpr std::size_t kUidBytes = 16, kMacBytes = 16, kPseudonymBytes = 32;

// 'f' field 0 mac(32): the prefix of a value's lookup entries.
std::string FieldKey(const std::string& field, const crypto::Digest& mac) {
  return field + '\0' + Bytes(mac);
}

}  // namespace

Status BlindIndex::RemoveReverse(Txn& txn, const std::string& reverse_prefix) {
  std::vector<std::string> rev;
  VAULT_RETURN_IF_ERROR(
      txn.ScanPrefix(Table::kBlind, reverse_prefix, [&](std::string_view k, std::string_view) {
        rev.emplace_back(k);
        return true;
      }));
  for (const auto& k : rev) {
    // k = 'u' uid(16) rk(16) field 0 mac(32)
    const std::string_view tail = std::string_view(k).substr(1 + 16 + 16);
    const std::string uid = k.substr(1, 16), rk = k.substr(17, 16);
    VAULT_RETURN_IF_ERROR(txn.Del(Table::kBlind, "f" + std::string(tail) + uid + rk));
    VAULT_RETURN_IF_ERROR(txn.Del(Table::kBlind, k));
  }
  return Status::Ok();
}

Status BlindIndex::RemoveRecord(Txn& txn, const Uid& uid, std::string_view record_key) {
  return RemoveReverse(txn, "u" + Bytes(uid) + std::string(RecordMac(record_key)));
}

Status BlindIndex::RemoveSubject(Txn& txn, const Uid& uid) {
  return RemoveReverse(txn, "u" + Bytes(uid));
}

Status BlindIndex::CheckUnique(const Txn& txn, const Category& cat, const std::string& field,
                               const std::string& fkey, const Uid& uid) const {
  bool taken = false;
  VAULT_RETURN_IF_ERROR(
      txn.ScanPrefix(Table::kBlind, "f" + fkey, [&](std::string_view k, std::string_view v) {
        // Entries written before lookup carry no category: they count in every category.
        const bool same_category =
            v.size() <= kPseudonymBytes || v.substr(kPseudonymBytes) == cat.name;
        if (k.substr(1 + fkey.size(), kUidBytes) != Bytes(uid) && same_category) taken = true;
        return !taken;
      }));
  if (taken) return Conflict("field '" + field + "' must be unique and another subject has this value");
  return Status::Ok();
}

Status BlindIndex::IndexRecord(Txn& txn, const Category& cat, const Uid& uid,
                               const std::string& pseudonym, std::string_view record_key,
                               const nlohmann::json& data) {
  VAULT_RETURN_IF_ERROR(RemoveRecord(txn, uid, record_key));
  const std::string rk(RecordMac(record_key));
  const std::string value = pseudonym + cat.name;
  for (const auto& field : cat.index) {
    if (!data.contains(field.name)) continue;
    VAULT_ASSIGN_OR_RETURN(auto normal, NormaliseIndexValue(field, data[field.name]));
    if (!normal) continue;
    const std::string fkey = FieldKey(field.name, keys_.BlindMac(field.name, *normal));
    if (field.unique) VAULT_RETURN_IF_ERROR(CheckUnique(txn, cat, field.name, fkey, uid));
    VAULT_RETURN_IF_ERROR(txn.Put(Table::kBlind, "f" + fkey + Bytes(uid) + rk, value));
    VAULT_RETURN_IF_ERROR(txn.Put(Table::kBlind, "u" + Bytes(uid) + rk + fkey, ""));
  }
  return Status::Ok();
}

StatusOr<std::vector<BlindIndex::Entry>> BlindIndex::Find(const Txn& txn, const std::string& field,
                                                          const std::string& value,
                                                          std::size_t limit) const {
  const std::string prefix = "f" + FieldKey(field, keys_.BlindMac(field, value));
  std::vector<Entry> out;
  Status corrupt;
  VAULT_RETURN_IF_ERROR(
      txn.ScanPrefix(Table::kBlind, prefix, [&](std::string_view k, std::string_view v) {
        if (k.size() != prefix.size() + kUidBytes + kMacBytes ||
            (!v.empty() && v.size() < kPseudonymBytes)) {
          corrupt = DataLoss("a blind-index entry is corrupt");
          return false;
        }
        Entry e;
        std::memcpy(e.uid.data(), k.data() + prefix.size(), kUidBytes);
        e.record_mac = k.substr(prefix.size() + kUidBytes);
        if (!v.empty()) {
          e.pseudonym = v.substr(0, kPseudonymBytes);
          e.category = v.substr(kPseudonymBytes);
        }
        out.push_back(std::move(e));
        return out.size() < limit;
      }));
  VAULT_RETURN_IF_ERROR(corrupt);
  return out;
}

}  // namespace vault
