// Epoch schedule: the one place for the epoch arithmetic. An epoch's KEK wraps every DEK
// created or rewrapped while it is current; it retires when the next epoch starts (due one
// policy epoch after it began) and is destroyed one shred horizon after it retired. Copies
// of a destroyed DEK (in free pages, in backups) die with the KEK that wraps them.
#pragma once

#include <cstdint>
#include <vector>

#include "vault/clock.h"
#include "vault/keyring.h"
#include "vault/policy.h"

namespace vault {

class EpochSchedule {
 public:
  EpochSchedule(const Policy& policy, const Keyring& keyring)
      : policy_(policy), keyring_(keyring) {}

  // When e retired, or, while it is current, when it will (its rotation is due, but not
  // before now).
  UnixSeconds RetiresAt(const EpochInfo& e, UnixSeconds now) const;
  // When e's KEK is destroyed: one horizon after it retires.
  UnixSeconds KekDiesAt(const EpochInfo& e, UnixSeconds now) const;
  // When whatever is wrapped under the current epoch now (a key destroyed now, a backup
  // taken now) becomes unrecoverable.
  UnixSeconds UnrecoverableAfter(UnixSeconds now) const;
  // The current epoch is older than the policy's epoch length.
  bool RotationDue(UnixSeconds now) const;
  // Retired epochs whose KEK is due for destruction at now.
  std::vector<std::uint64_t> DueForDestruction(UnixSeconds now) const;

 private:
  EpochInfo Current() const;

  const Policy& policy_;
  const Keyring& keyring_;
};

}  // namespace vault
