// Epoch schedule (epochs.h).
#include "vault/epochs.h"

#include <algorithm>

namespace vault {

EpochInfo EpochSchedule::Current() const {
  const std::uint64_t current = keyring_.current_epoch();
  for (const auto& e : keyring_.Epochs()) {
    if (e.id == current) return e;
  }
  return EpochInfo{current, 0, 0, false, 0};
}

UnixSeconds EpochSchedule::RetiresAt(const EpochInfo& e, UnixSeconds now) const {
  if (e.retired_at != 0) return e.retired_at;
  return std::max(now, policy_.epoch.AddTo(e.created_at));
}

UnixSeconds EpochSchedule::KekDiesAt(const EpochInfo& e, UnixSeconds now) const {
  return policy_.horizon.AddTo(RetiresAt(e, now));
}

// A server's DEK cache (token keyrings) may hold a DEK up to its TTL after the KEK died.
UnixSeconds EpochSchedule::UnrecoverableAfter(UnixSeconds now) const {
  return KekDiesAt(Current(), now) + keyring_.dek_cache_ttl().count();
}

bool EpochSchedule::RotationDue(UnixSeconds now) const {
  return policy_.epoch.AddTo(Current().created_at) <= now;
}

std::vector<std::uint64_t> EpochSchedule::DueForDestruction(UnixSeconds now) const {
  std::vector<std::uint64_t> due;
  for (const auto& e : keyring_.Epochs()) {
    if (!e.destroyed && e.retired_at != 0 && KekDiesAt(e, now) <= now) due.push_back(e.id);
  }
  return due;
}

}  // namespace vault
