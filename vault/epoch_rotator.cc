// Epoch rotation (epoch_rotator.h).
#include "vault/epoch_rotator.h"

#include <algorithm>

#include "vault/codec.h"
#include "vault/rows.h"

namespace vault {
namespace {

constexpr std::string_view kMetaRewrapPending = "rewrap_pending";
constexpr std::string_view kMetaKeyringSeq = "keyring_seq";

}  // namespace

Status SetRewrapPending(Txn& txn, bool pending) {
  return SetMetaU64(txn, kMetaRewrapPending, pending ? 1 : 0);
}

Status EpochRotator::NoticeKeyringChange(const Txn& txn) {
  if (MetaU64(txn, kMetaKeyringSeq) > keyring_.seq()) return keyring_.Reload();
  return Status::Ok();
}

Status EpochRotator::PublishKeyringSeq(Txn& txn) {
  return SetMetaU64(txn, kMetaKeyringSeq, keyring_.seq());
}

bool EpochRotator::RewrapPending() const {
  bool pending = false;
  (void)store_.Read([&](Txn& txn) {
    pending = MetaU64(txn, kMetaRewrapPending) != 0;
    return Status::Ok();
  });
  return pending;
}

StatusOr<RotationResult> EpochRotator::Rotate(const Actor& actor, const ProgressFn& progress) {
  MutexLock lock(mu_);
  RotationResult result;
  if (RewrapPending()) VAULT_RETURN_IF_ERROR(Steps(actor, progress, false, &result));
  VAULT_RETURN_IF_ERROR(Steps(actor, progress, true, &result));
  return result;
}

Status EpochRotator::Resume(const Actor& actor) {
  MutexLock lock(mu_);
  if (!RewrapPending()) return Status::Ok();
  RotationResult result;
  return Steps(actor, {}, false, &result);
}

Status EpochRotator::Maintain(const Actor& actor, bool* rotated,
                              std::vector<std::uint64_t>* destroyed) {
  MutexLock lock(mu_);
  const bool pending = RewrapPending();
  *rotated = false;
  if (pending || schedule_.RotationDue(clock_.Now())) {
    RotationResult rot;
    VAULT_RETURN_IF_ERROR(Steps(actor, {}, !pending, &rot));
    *rotated = !pending;
    *destroyed = rot.destroyed_epochs;
    return Status::Ok();
  }
  return DestroyExpiredEpochs(actor, destroyed);
}

// Starts a new epoch (or, with start false, finishes a pending rewrap), rewraps every DEK
// under the current epoch, and destroys epochs past the horizon. Safe against a concurrent
// rotation in another process: only the rotation whose epoch is still current when its
// rewrap ends clears the pending flag, so no epoch is destroyed while some DEK still needs it.
Status EpochRotator::Steps(const Actor& actor, const ProgressFn& progress, bool start,
                           RotationResult* result) {
  std::uint64_t target = keyring_.current_epoch();
  if (start) {
    VAULT_RETURN_IF_ERROR(store_.Exclusive([&]() {
      return store_.Transact([&](Txn& txn) -> Status {
        // The flag and the new epoch commit together; if the keyring write succeeds and we
        // crash before commit, the keyring is ahead of the store and the next rotation
        // rewraps anyway.
        VAULT_ASSIGN_OR_RETURN(target, keyring_.StartEpoch(clock_.Now()));
        VAULT_RETURN_IF_ERROR(SetRewrapPending(txn, true));
        VAULT_RETURN_IF_ERROR(PublishKeyringSeq(txn));
        return audit_.Append(txn, actor, "epoch.rotate", nullptr, "", "ok");
      });
    }));
  }
  VAULT_RETURN_IF_ERROR(RewrapAll(progress, &result->rewrapped));
  VAULT_RETURN_IF_ERROR(store_.Exclusive([&]() {
    return store_.Transact([&](Txn& txn) -> Status {
      if (keyring_.current_epoch() != target) return Status::Ok();  // a newer rotation runs
      return SetRewrapPending(txn, false);
    });
  }));
  VAULT_RETURN_IF_ERROR(DestroyExpiredEpochs(actor, &result->destroyed_epochs));
  result->epoch = keyring_.current_epoch();
  return Status::Ok();
}

// Rewraps every DEK not yet under the current epoch, rewrap_batch_ keys a step.
Status EpochRotator::RewrapAll(const ProgressFn& progress, std::uint64_t* rewrapped) {
  std::uint64_t total = 0, done = 0;
  VAULT_RETURN_IF_ERROR(store_.Read([&](Txn& txn) {
    total = deks_.Live(txn);
    return Status::Ok();
  }));
  std::string next;  // where the next step resumes
  bool finished = false;
  while (!finished) {
    // Each step is its own exclusive turn of the writer thread, so ordinary writes go on
    // between steps instead of waiting for the whole rotation.
    VAULT_RETURN_IF_ERROR(store_.Exclusive(
        [&]() -> Status { return RewrapStep(&next, &finished, &done, rewrapped); }));
    if (progress) progress(std::min(done, total), total);
  }
  // The old slots of every step, zeroed together: by now they are runs of the slot file
  // (written in one pass), not one scattered 4 KiB page per slot as step by step.
  return deks_.ZeroFreedSlotsNow();
}

// One transaction of RewrapAll: rewraps up to rewrap_batch_ key rows from *next on, all of them
// together (RewrapMany): one commit, one slot sync and a few slot writes per step rather than
// per key. The old slots wait in the freed list until the rotation ends (or an erasure, the
// sweeper or a backup's end zeroes the freed list sooner). The outputs change
// only once the transaction has committed: an attempt the store rolls back and runs again (a
// conflict on PostgreSQL) must start from the same key, or the keys it had rewrapped would
// stay under the old epoch and be lost with its KEK.
Status EpochRotator::RewrapStep(std::string* next, bool* finished, std::uint64_t* done,
                                std::uint64_t* rewrapped) {
  const std::string from = *next;
  std::string resume;
  bool last = true;
  std::uint64_t n = 0, step_rewrapped = 0;
  VAULT_RETURN_IF_ERROR(store_.Transact([&](Txn& txn) -> Status {
    std::vector<DekTable::RewrapItem> items;
    resume = from;
    n = 0;
    VAULT_RETURN_IF_ERROR(CollectStale(txn, from, &items, &resume, &n, &last));
    VAULT_RETURN_IF_ERROR(deks_.RewrapMany(txn, &items));  // writes the rows too
    step_rewrapped = items.size();
    return Status::Ok();
  }));
  *next = std::move(resume);
  *finished = last;
  *done += n;
  *rewrapped += step_rewrapped;
  return Status::Ok();
}

// Reads up to rewrap_batch_ key rows from `from` on; those not under the current epoch go to
// *items. *resume is the key after the last row read, *last whether the table ended.
Status EpochRotator::CollectStale(const Txn& txn, const std::string& from,
                                  std::vector<DekTable::RewrapItem>* items, std::string* resume,
                                  std::uint64_t* n, bool* last) const {
  const std::uint64_t current = keyring_.current_epoch();
  Status corrupt;
  *last = true;
  VAULT_RETURN_IF_ERROR(
      txn.ScanFrom(Table::kKeys, from, [&](std::string_view k, std::string_view v) {
        DekTable::RewrapItem item;
        if (!DecodeKeyRow(v, &item.row)) {
          corrupt = DataLoss("a key row is corrupt");
          return false;
        }
        if (item.row.epoch != current) {
          std::copy_n(k.begin(), std::min<std::size_t>(item.id.size(), k.size()), item.id.begin());
          items->push_back(std::move(item));
        }
        *resume = KeyAfter(k);
        const bool stop = ++*n >= rewrap_batch_;
        *last = !stop;
        return !stop;
      }));
  return corrupt;
}

// Destroys epoch KEKs retired at least one horizon ago, unless a rewrap is pending (some DEK
// may still be wrapped under a retired epoch).
Status EpochRotator::DestroyExpiredEpochs(const Actor& actor, std::vector<std::uint64_t>* out) {
  return store_.Exclusive([&]() {
    return store_.Transact([&](Txn& txn) -> Status {
      if (MetaU64(txn, kMetaRewrapPending) != 0) return Status::Ok();
      const UnixSeconds now = clock_.Now();
      const std::vector<std::uint64_t> doomed = schedule_.DueForDestruction(now);
      if (doomed.empty()) return Status::Ok();
      VAULT_RETURN_IF_ERROR(keyring_.DestroyEpochs(doomed, now));
      VAULT_RETURN_IF_ERROR(PublishKeyringSeq(txn));
      out->insert(out->end(), doomed.begin(), doomed.end());
      return audit_.Append(txn, actor, "epoch.destroy", nullptr, "", "ok");
    });
  });
}

}  // namespace vault
