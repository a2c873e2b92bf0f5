// Rekeys (rekeys.h): retiring a removed version's DEK, moving its survivors in steps.
#include "vault/rekeys.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "crypto/primitives.h"
#include "crypto/secret.h"

namespace vault {

StatusOr<bool> Rekeys::Retire(Txn& txn, const crypto::KeyId& id, const KeyRow& row) {
  return deks_.Retire(txn, id, row);
}

Status Rekeys::Settle(Txn& txn, const crypto::KeyId& id, const KeyRow& row, Removal* out) {
  std::string cursor;
  VAULT_ASSIGN_OR_RETURN(bool finished,
                         Move(txn, id, row, &cursor, kInlineMoves, kInlineVisits));
  if (finished) {
    out->destroyed = true;
    return deks_.Destroy(txn, id, row);
  }
  out->pending = true;
  return deks_.SetRetiringCursor(txn, id, row, cursor);
}

Status Rekeys::Finish() {
  std::uint64_t steps = 0;
  for (;;) {
    bool more = false;
    // Each step is its own exclusive turn of the writer thread, so ordinary writes go on
    // between steps instead of waiting for the whole rekey.
    VAULT_RETURN_IF_ERROR(store_.Exclusive([&]() -> Status {
      VAULT_RETURN_IF_ERROR(store_.Transact([&](Txn& txn) { return Step(txn, &more); }));
      return deks_.ZeroFreedSlots();
    }));
    if (!more) return Status::Ok();
    if (on_step_) on_step_(++steps);
  }
}

Status Rekeys::Step(Txn& txn, bool* more) {
  VAULT_ASSIGN_OR_RETURN(auto next, deks_.ListRetiring(txn, "", 1));
  *more = !next.empty();
  if (next.empty()) return Status::Ok();
  DekTable::Retiring& r = next.front();
  VAULT_ASSIGN_OR_RETURN(auto row, deks_.Row(txn, r.id));
  if (!row) return DataLoss("a retiring data key has no key row");
  VAULT_ASSIGN_OR_RETURN(bool finished, Move(txn, r.id, *row, &r.cursor, batch_, 4 * batch_));
  if (finished) return deks_.Destroy(txn, r.id, *row);
  return deks_.SetRetiringCursor(txn, r.id, *row, r.cursor);
}

StatusOr<bool> Rekeys::Move(Txn& txn, const crypto::KeyId& id, const KeyRow& row,
                            std::string* cursor, std::size_t max_moves, std::size_t max_visits) {
  // The scope is uid | category | 0 | bucket; its records are all under uid | category | 0.
  if (row.scope.size() < 8) return DataLoss("a key row names a malformed scope");
  const std::string prefix = row.scope.substr(0, row.scope.size() - 8);
  std::vector<std::pair<std::string, RecordRow>> moving;
  bool finished = true;
  std::size_t visits = 0;
  Status corrupt;
  VAULT_RETURN_IF_ERROR(txn.ScanFrom(
      Table::kRecords, std::max(*cursor, prefix), [&](std::string_view k, std::string_view v) {
        if (k.substr(0, prefix.size()) != prefix) return false;
        if (visits == max_visits || moving.size() == max_moves) {
          finished = false;
          return false;
        }
        ++visits;
        *cursor = KeyAfter(k);
        RecordRow rec;
        if (!DecodeRecord(v, &rec)) {
          corrupt = DataLoss("a record row is corrupt");
          return false;
        }
        if (rec.key_id == id) moving.emplace_back(std::string(k), std::move(rec));
        return true;
      }));
  VAULT_RETURN_IF_ERROR(corrupt);
  if (moving.empty()) return finished;
  crypto::SecretBytes old_dek, new_dek;
  crypto::KeyId new_id;
  VAULT_RETURN_IF_ERROR(deks_.Unwrap(txn, row, &old_dek));
  VAULT_RETURN_IF_ERROR(deks_.FindOrCreate(txn, row.scope, row.expires_at, &new_id, &new_dek));
  for (auto& [k, rec] : moving) {
    std::vector<std::uint8_t> plain;
    if (!crypto::Open(crypto::EnvelopeKind::kRecord, old_dek, rec.envelope,
                      RecordContext(k, rec), &plain)) {
      return DataLoss("a record failed authentication during rekeying");
    }
    rec.key_id = new_id;
    rec.format = kRecordFormatBound;
    rec.envelope = crypto::Seal(crypto::EnvelopeKind::kRecord, cipher_, new_dek, new_id, plain,
                                RecordContext(k, rec));
    crypto::WipeBytes(plain);
    VAULT_RETURN_IF_ERROR(txn.Put(Table::kRecords, k, EncodeRecord(rec)));
  }
  return finished;
}

}  // namespace vault
