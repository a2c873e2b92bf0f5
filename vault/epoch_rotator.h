// Epoch rotation: starts a new epoch, rewraps every DEK under it in steps that take turns
// with ordinary writes, and destroys the KEKs the schedule (epochs.h) says are past the
// horizon. Owns the rewrap-pending flag and the published keyring sequence number, through
// which processes sharing a store notice each other's keyring changes.
#pragma once

#include <cstdint>
#include <vector>

#include "vault/audit_log.h"
#include "vault/dek_table.h"
#include "vault/epochs.h"
#include "vault/keyring.h"
#include "vault/store.h"
#include "vault/thread_annotations.h"
#include "vault/vault.h"

namespace vault {

class EpochRotator {
 public:
  EpochRotator(Store& store, Keyring& keyring, DekTable& deks, AuditLog& audit,
               const EpochSchedule& schedule, const Clock& clock, std::size_t rewrap_batch)
      : store_(store),
        keyring_(keyring),
        deks_(deks),
        audit_(audit),
        schedule_(schedule),
        clock_(clock),
        rewrap_batch_(rewrap_batch == 0 ? 1 : rewrap_batch) {}

  // Finishes a rotation a crash interrupted, then starts and completes a new one.
  StatusOr<RotationResult> Rotate(const Actor& actor, const ProgressFn& progress) EXCLUDES(mu_);
  // Only finishes a rotation a crash interrupted (when opening the store).
  Status Resume(const Actor& actor) EXCLUDES(mu_);
  // What the sweeper runs: rotates when the current epoch is due (or a rotation is
  // pending), else destroys the KEKs past the horizon. Sets *rotated when a new epoch began.
  Status Maintain(const Actor& actor, bool* rotated, std::vector<std::uint64_t>* destroyed)
      EXCLUDES(mu_);

  // Store begin hook: another process changed the keyring; read it before wrapping anything,
  // so every process wraps under the same current epoch.
  Status NoticeKeyringChange(const Txn& txn);
  // Makes this process's keyring changes visible to the others.
  Status PublishKeyringSeq(Txn& txn);

 private:
  Status Steps(const Actor& actor, const ProgressFn& progress, bool start, RotationResult* result)
      REQUIRES(mu_);
  Status RewrapAll(const ProgressFn& progress, std::uint64_t* rewrapped) REQUIRES(mu_);
  // One step of RewrapAll (runs inside an exclusive turn of the writer, so it is not
  // annotated: the analysis does not follow the lock into the lambda that calls it).
  Status RewrapStep(std::string* next, bool* finished, std::uint64_t* done,
                    std::uint64_t* rewrapped);
  Status CollectStale(const Txn& txn, const std::string& from,
                      std::vector<DekTable::RewrapItem>* items, std::string* resume,
                      std::uint64_t* n, bool* last) const;
  Status DestroyExpiredEpochs(const Actor& actor, std::vector<std::uint64_t>* out) REQUIRES(mu_);
  bool RewrapPending() const;

  Store& store_;
  Keyring& keyring_;
  DekTable& deks_;
  AuditLog& audit_;
  const EpochSchedule& schedule_;
  const Clock& clock_;
  const std::size_t rewrap_batch_;
  Mutex mu_;  // one rotation at a time in this process
};

// The flag a rotation sets while DEKs may still be wrapped under a retired epoch.
Status SetRewrapPending(Txn& txn, bool pending);

}  // namespace vault
