// Erasure (GDPR Art. 17): requests (immediate, or after the policy's grace period),
// cancellation, execution (every key of the subject's non-surviving categories destroyed),
// and the signed receipt that proves it. Owns the erasures and erasure_due tables.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "crypto/secret.h"
#include "vault/audit_log.h"
#include "vault/blind_index.h"
#include "vault/consents.h"
#include "vault/dek_table.h"
#include "vault/epochs.h"
#include "vault/legal_holds.h"
#include "vault/meta_sealer.h"
#include "vault/policy.h"
#include "vault/requests.h"
#include "vault/store.h"
#include "vault/subjects.h"
#include "vault/vault.h"

namespace vault {

class Erasures {
 public:
  struct Parts {
    Store& store;
    const Policy& policy;
    const Clock& clock;
    Subjects& subjects;
    DekTable& deks;
    BlindIndex& blind;
    LegalHolds& holds;
    AuditLog& audit;
    const MetaSealer& sealer;
    const EpochSchedule& schedule;
    const crypto::SecretBytes& signing_key;
    Consents& consents;  // an erasure ends the subject's consents (their proof is kept)
    Requests& requests;  // an erasure closes the subject's erasure requests
  };
  explicit Erasures(Parts parts) : p_(parts) {}

  StatusOr<ErasureView> Request(const Actor& actor, const std::string& subject_id,
                                const std::string& mode, const std::string& reason);
  StatusOr<ErasureView> Cancel(const Actor& actor, const std::string& subject_id);
  // Audited (erasure.get): the erasure may carry the receipt.
  StatusOr<ErasureView> Get(const Actor& actor, const std::string& erasure_id) const;
  // The subject's erasure, if it has one that can be read.
  std::optional<ErasureView> Of(const Txn& txn, const SubjectRow& subject) const;

  // Decides whether a legal hold blocks the erasure of a subject.
  using HoldCheck = std::function<StatusOr<bool>(const Txn&, const Uid&)>;
  // Executes the erasures due at now (those a hold blocks stay due); returns how many ran.
  StatusOr<std::uint64_t> ExecuteDue(Txn& txn, const Actor& actor, UnixSeconds now,
                                     const HoldCheck& held);
  // A legal hold of the subject was released (LegalHolds' release hook): if it was delaying
  // the subject's erasure, the receipt will say when it ended.
  Status NoteHoldReleased(Txn& txn, const SubjectRow& subject, const std::string& hold_id,
                          UnixSeconds now);

 private:
  // Audits a refused request or cancellation (outcome: its code) and returns s.
  Status Refused(const Actor& actor, const char* action, const std::string& subject_id,
                 const Status& s) const;
  StatusOr<ErasureRow> Schedule(Txn& txn, const Actor& actor, const std::string& pseudonym,
                                const std::string& mode, const std::string& reason,
                                std::string* key);
  // Executes a scheduled erasure unless held; *executed says whether it ran (a held one is
  // marked blocked, visibly).
  Status Execute(Txn& txn, const Actor& actor, const std::string& key, ErasureRow* row, bool held,
                 bool* executed);
  struct Shredded;
  // The holds that delayed an erasure: noted while it is due and held, ended when released.
  struct DelayingHold {
    std::string hold_id;
    UnixSeconds placed_at = 0;
    UnixSeconds released_at = 0;  // 0: still in force
  };
  using Delays = std::vector<DelayingHold>;
  static StatusOr<Delays> ReadDelays(const Txn& txn, const std::string& key);
  static Status WriteDelays(Txn& txn, const std::string& key, const Delays& delays);
  // Adds the holds in force on the subject to the erasure's delays.
  Status NoteHolds(Txn& txn, const std::string& key, const Uid& uid);
  // The delays with an end for each: a hold that lapsed ended at its `until`.
  StatusOr<Delays> EndedDelays(Txn& txn, const std::string& key, const Uid& uid, UnixSeconds now);
  // Destroys the keys of the subject's categories that do not survive erasure.
  StatusOr<Shredded> DestroyKeys(Txn& txn, const Uid& uid);
  // The signed receipt of a completed erasure, as JSON text.
  std::string Receipt(const std::string& key, const ErasureRow& row, const Shredded& shredded,
                      const Delays& delays, UnixSeconds now) const;

  Parts p_;
};

}  // namespace vault
