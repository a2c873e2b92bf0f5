// The sweeper: what keeps the policy's promises over time, as named steps run in order.
//   1. ExecuteDueErasures   erasures whose grace period is over (held ones stay due)
//   2. ExecuteConsentDue    categories of withdrawn consents, and consent histories past
//                           their proof retention (consents.h; held ones stay due)
//   3. ShredExpiredBuckets  keys of retention buckets whose time is up (held ones stay)
//   4. CollectShredded      ciphertext whose key is gone
//   5. FinishRekeys         retired DEKs whose records still move (rekeys.h)
//   6. MaintainEpochs       rotate an old epoch; destroy KEKs past the horizon
//   7. TrimAuditLog         audit entries past the policy's audit.retention, up to a checkpoint
//   8. CheckpointAudit      sign the audit log's head when the checkpoint interval has passed
// A legal hold that cannot be read holds (nothing of its subject is destroyed) and the sweep
// reports it as kDataLoss once the other steps are done.
#pragma once

#include <cstddef>

#include "vault/audit_log.h"
#include "vault/consents.h"
#include "vault/dek_table.h"
#include "vault/epoch_rotator.h"
#include "vault/erasure.h"
#include "vault/legal_holds.h"
#include "vault/records.h"
#include "vault/rekeys.h"
#include "vault/store.h"
#include "vault/vault.h"

namespace vault {

class Sweeper {
 public:
  struct Parts {
    Store& store;
    const Clock& clock;
    Erasures& erasures;
    LegalHolds& holds;
    DekTable& deks;
    Records& records;
    AuditLog& audit;
    EpochRotator& rotator;
    Rekeys& rekeys;
    Consents& consents;
  };
  // shred_batch: keys destroyed per transaction of step 2.
  Sweeper(Parts parts, std::size_t shred_batch)
      : p_(parts), shred_batch_(shred_batch == 0 ? 1 : shred_batch) {}

  static constexpr std::uint64_t kSteps = 8;
  // progress: steps done of kSteps, after each step.
  StatusOr<SweepResult> Run(const Actor& actor, const ProgressFn& progress = {});

 private:
  // One sweep's progress: its result and the first hold it could not read.
  struct Pass {
    const Actor& actor;
    UnixSeconds now;
    SweepResult result;
    Status unreadable_hold;
  };
  Status ExecuteDueErasures(Pass& pass);
  Status ExecuteConsentDue(Pass& pass);
  Status ShredExpiredBuckets(Pass& pass);
  Status ShredBatch(Txn& txn, Pass& pass, std::string* resume, bool* more);
  Status CollectShredded(Pass& pass);
  Status MaintainEpochs(Pass& pass);
  Status TrimAuditLog(Pass& pass);
  Status CheckpointAudit();
  // Whether a hold keeps the subject's data; an unreadable hold does, and is remembered.
  bool Held(const Txn& txn, const Uid& uid, Pass& pass) const;

  Parts p_;
  const std::size_t shred_batch_;
};

}  // namespace vault
