// Erasures delayed by legal holds (erasure.h): which holds kept a due erasure from running,
// and when each ended, for the receipt. Kept in the erasures table beside the erasure's row:
//   erasure_id "/holds"  u64 n | n x (str hold_id | i64 placed_at | i64 released_at, 0: in force)
#include <algorithm>

#include "vault/codec.h"
#include "vault/erasure.h"

namespace vault {
namespace {

std::string DelaysKey(const std::string& erasure_key) { return erasure_key + "/holds"; }

}  // namespace

StatusOr<Erasures::Delays> Erasures::ReadDelays(const Txn& txn, const std::string& key) {
  Delays out;
  const auto v = txn.Get(Table::kErasures, DelaysKey(key));
  if (!v) return out;
  RowReader r(*v);
  std::uint64_t n = 0;
  if (!r.U64(&n) || n > v->size()) return DataLoss("an erasure's hold record is corrupt");
  for (std::uint64_t i = 0; i < n; ++i) {
    DelayingHold h;
    if (!r.Str(&h.hold_id) || !r.I64(&h.placed_at) || !r.I64(&h.released_at)) {
      return DataLoss("an erasure's hold record is corrupt");
    }
    out.push_back(std::move(h));
  }
  return out;
}

Status Erasures::WriteDelays(Txn& txn, const std::string& key, const Delays& delays) {
  RowWriter w;
  w.U64(delays.size());
  for (const DelayingHold& h : delays) w.Str(h.hold_id).I64(h.placed_at).I64(h.released_at);
  return txn.Put(Table::kErasures, DelaysKey(key), Bytes(w.bytes()));
}

Status Erasures::NoteHolds(Txn& txn, const std::string& key, const Uid& uid) {
  VAULT_ASSIGN_OR_RETURN(Delays delays, ReadDelays(txn, key));
  VAULT_ASSIGN_OR_RETURN(std::vector<HoldView> holds, p_.holds.List(txn, uid, false));
  const UnixSeconds now = p_.clock.Now();
  bool changed = false;
  for (const HoldView& h : holds) {
    if (h.until && *h.until <= now) continue;  // lapsed: it delays nothing now
    const bool known = std::any_of(delays.begin(), delays.end(), [&](const DelayingHold& d) {
      return d.hold_id == h.hold_id && d.released_at == 0;
    });
    if (known) continue;
    delays.push_back({h.hold_id, h.placed_at, 0});
    changed = true;
  }
  return changed ? WriteDelays(txn, key, delays) : Status::Ok();
}

Status Erasures::NoteHoldReleased(Txn& txn, const SubjectRow& subject, const std::string& hold_id,
                                  UnixSeconds now) {
  if (subject.state != StoredState::kErasurePending || subject.erasure_id.empty()) {
    return Status::Ok();
  }
  const auto id = crypto::FromHex(subject.erasure_id);
  if (!id) return Status::Ok();
  const std::string key = Bytes(*id);
  VAULT_ASSIGN_OR_RETURN(Delays delays, ReadDelays(txn, key));
  bool changed = false;
  for (DelayingHold& d : delays) {
    if (d.hold_id != hold_id || d.released_at != 0) continue;
    d.released_at = now;
    changed = true;
  }
  return changed ? WriteDelays(txn, key, delays) : Status::Ok();
}

// At execution every delaying hold has ended: released (noted then), or lapsed (ended at its
// `until`); one neither noted nor still present ended by now at the latest.
StatusOr<Erasures::Delays> Erasures::EndedDelays(Txn& txn, const std::string& key, const Uid& uid,
                                                 UnixSeconds now) {
  VAULT_ASSIGN_OR_RETURN(Delays delays, ReadDelays(txn, key));
  if (delays.empty()) return delays;
  VAULT_ASSIGN_OR_RETURN(std::vector<HoldView> holds, p_.holds.List(txn, uid, false));
  for (DelayingHold& d : delays) {
    if (d.released_at != 0) continue;
    d.released_at = now;
    for (const HoldView& h : holds) {
      if (h.hold_id == d.hold_id && h.until) d.released_at = std::min(*h.until, now);
    }
  }
  VAULT_RETURN_IF_ERROR(txn.Del(Table::kErasures, DelaysKey(key)));
  return delays;
}

}  // namespace vault
