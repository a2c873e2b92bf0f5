// The blind index (blind_index.h).
#include "vault/blind_index.h"

#include <vector>

#include "vault/codec.h"

namespace vault {
namespace {

// Trimmed and lower-cased ASCII, so "Alice@X.com " finds "alice@x.com".
std::string Normalise(const nlohmann::json& v) {
  std::string value = v.is_string() ? v.get<std::string>() : v.dump();
  const auto b = value.find_first_not_of(" \t\r\n");
  const auto e = value.find_last_not_of(" \t\r\n");
  value = b == std::string::npos ? "" : value.substr(b, e - b + 1);
  for (auto& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return value;
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

Status BlindIndex::CheckUnique(const Txn& txn, const std::string& field, const std::string& fkey,
                               const Uid& uid) const {
  bool taken = false;
  VAULT_RETURN_IF_ERROR(
      txn.ScanPrefix(Table::kBlind, "f" + fkey, [&](std::string_view k, std::string_view) {
        if (k.substr(1 + fkey.size(), 16) != Bytes(uid)) taken = true;
        return !taken;
      }));
  if (taken) return Conflict("field '" + field + "' must be unique and another subject has this value");
  return Status::Ok();
}

Status BlindIndex::IndexRecord(Txn& txn, const Category& cat, const Uid& uid,
                               std::string_view record_key, const nlohmann::json& data) {
  VAULT_RETURN_IF_ERROR(RemoveRecord(txn, uid, record_key));
  const std::string rk(RecordMac(record_key));
  for (const auto& field : cat.index) {
    if (!data.contains(field.name) || data[field.name].is_null()) continue;
    const auto mac = keys_.BlindMac(field.name, Normalise(data[field.name]));
    const std::string fkey = field.name + '\0' + Bytes(mac);
    if (field.unique) VAULT_RETURN_IF_ERROR(CheckUnique(txn, field.name, fkey, uid));
    VAULT_RETURN_IF_ERROR(txn.Put(Table::kBlind, "f" + fkey + Bytes(uid) + rk, ""));
    VAULT_RETURN_IF_ERROR(txn.Put(Table::kBlind, "u" + Bytes(uid) + rk + fkey, ""));
  }
  return Status::Ok();
}

}  // namespace vault
