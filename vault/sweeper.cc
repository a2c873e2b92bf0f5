// The sweeper's steps (sweeper.h).
#include "vault/sweeper.h"

#include <cstring>
#include <vector>

#include "vault/codec.h"
#include "vault/index_keys.h"

namespace vault {

StatusOr<SweepResult> Sweeper::Run(const Actor& actor, const ProgressFn& progress) {
  Pass pass{actor, 0, {}, Status::Ok()};
  std::uint64_t steps = 0;
  auto stepped = [&] {
    if (progress) progress(++steps, kSteps);
  };
  VAULT_RETURN_IF_ERROR(p_.store.Exclusive([&]() -> Status {
    pass.now = p_.clock.Now();
    VAULT_RETURN_IF_ERROR(ExecuteDueErasures(pass));
    stepped();
    VAULT_RETURN_IF_ERROR(ExecuteConsentDue(pass));
    stepped();
    VAULT_RETURN_IF_ERROR(ShredExpiredBuckets(pass));
    stepped();
    VAULT_RETURN_IF_ERROR(CollectShredded(pass));
    stepped();
    return Status::Ok();
  }));
  // Outside the exclusive section: rekeys and rotation take turns with ordinary writes.
  VAULT_RETURN_IF_ERROR(p_.rekeys.Finish());
  stepped();
  VAULT_RETURN_IF_ERROR(MaintainEpochs(pass));
  stepped();
  VAULT_RETURN_IF_ERROR(p_.deks.ZeroFreedSlotsNow());
  VAULT_RETURN_IF_ERROR(TrimAuditLog(pass));
  stepped();
  VAULT_RETURN_IF_ERROR(CheckpointAudit());
  stepped();
  VAULT_RETURN_IF_ERROR(pass.unreadable_hold);
  return pass.result;
}

bool Sweeper::Held(const Txn& txn, const Uid& uid, Pass& pass) const {
  StatusOr<bool> held = p_.holds.IsHeld(txn, uid);
  if (held.ok()) return *held;
  if (pass.unreadable_hold.ok()) pass.unreadable_hold = held.status();
  return true;
}

Status Sweeper::ExecuteDueErasures(Pass& pass) {
  return p_.store.Transact([&](Txn& txn) -> Status {
    auto held = [&](const Txn& t, const Uid& uid) -> StatusOr<bool> { return Held(t, uid, pass); };
    VAULT_ASSIGN_OR_RETURN(auto n, p_.erasures.ExecuteDue(txn, pass.actor, pass.now, held));
    pass.result.erasures_executed += n;
    return Status::Ok();
  });
}

Status Sweeper::ExecuteConsentDue(Pass& pass) {
  return p_.store.Transact([&](Txn& txn) -> Status {
    auto held = [&](const Txn& t, const Uid& uid) { return Held(t, uid, pass); };
    VAULT_ASSIGN_OR_RETURN(auto n, p_.consents.ExecuteDue(txn, pass.actor, pass.now, held));
    pass.result.consent_withdrawals_executed += n.withdrawals_executed;
    pass.result.consent_proofs_shredded += n.proofs_shredded;
    return Status::Ok();
  });
}

// Buckets whose retention has ended lose their keys (O(keys), not O(records)), a batch per
// transaction. Each batch resumes after the last expiry entry the previous one saw, so
// buckets a hold keeps never stop the sweep from reaching those behind them.
Status Sweeper::ShredExpiredBuckets(Pass& pass) {
  std::string resume;
  bool more = true;
  while (more) {
    // An attempt rolled back and run again (a conflict) resumes where the batch began.
    std::string next;
    VAULT_RETURN_IF_ERROR(p_.store.Transact([&](Txn& txn) {
      next = resume;
      return ShredBatch(txn, pass, &next, &more);
    }));
    resume = std::move(next);
  }
  return Status::Ok();
}

Status Sweeper::ShredBatch(Txn& txn, Pass& pass, std::string* resume, bool* more) {
  std::vector<std::string> expired;
  *more = false;
  VAULT_RETURN_IF_ERROR(
      txn.ScanFrom(Table::kExpiry, *resume, [&](std::string_view k, std::string_view) {
        if (k.size() != 24 || TimedKeyAt(k) > pass.now) return false;
        if (expired.size() >= shred_batch_) {
          *more = true;
          return false;
        }
        expired.emplace_back(k);
        return true;
      }));
  if (!expired.empty()) *resume = KeyAfter(expired.back());
  for (const auto& ekey : expired) {
    crypto::KeyId id;
    std::memcpy(id.data(), TimedKeyId(ekey).data(), id.size());
    VAULT_ASSIGN_OR_RETURN(auto row, p_.deks.Row(txn, id));
    ScopeName scope;
    if (row && ParseScope(row->scope, &scope)) {
      if (Held(txn, scope.uid, pass)) continue;  // a hold suspends retention, visibly
      VAULT_RETURN_IF_ERROR(
          p_.audit.Append(txn, pass.actor, "retention.shred", &scope.uid, scope.category, "ok"));
    }
    VAULT_RETURN_IF_ERROR(row ? p_.deks.Destroy(txn, id, *row) : Status::Ok());
    VAULT_RETURN_IF_ERROR(txn.Del(Table::kExpiry, ekey));
    ++pass.result.scopes_shredded;
  }
  return Status::Ok();
}

Status Sweeper::CollectShredded(Pass& pass) {
  return p_.store.Transact([&](Txn& txn) -> Status {
    VAULT_ASSIGN_OR_RETURN(auto prefixes, p_.deks.ScopesToCollect(txn));
    for (const auto& prefix : prefixes) {
      VAULT_ASSIGN_OR_RETURN(auto n, p_.records.CollectShredded(txn, prefix));
      pass.result.records_collected += n;
      VAULT_RETURN_IF_ERROR(p_.deks.Collected(txn, prefix));
    }
    return Status::Ok();
  });
}

Status Sweeper::MaintainEpochs(Pass& pass) {
  return p_.rotator.Maintain(pass.actor, &pass.result.epoch_rotated, &pass.result.destroyed_epochs);
}

// Batches of shred_batch entries a transaction, outside the exclusive section: ordinary
// writes take turns with them.
Status Sweeper::TrimAuditLog(Pass& pass) {
  VAULT_ASSIGN_OR_RETURN(pass.result.audit_entries_trimmed,
                         p_.audit.Trim(pass.actor, shred_batch_));
  return Status::Ok();
}

// Last, so the sweep's own entries are covered when the interval has passed.
Status Sweeper::CheckpointAudit() { return p_.audit.Checkpoint(AuditCheckpoints::When::kDue); }

}  // namespace vault
