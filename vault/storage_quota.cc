// StorageQuota (storage_quota.h): the per-writer byte counters and their limit.
#include "vault/storage_quota.h"

#include "vault/rows.h"

namespace vault {
namespace {

std::string QuotaKey(const std::string& actor_id) { return "quota/" + actor_id; }

}  // namespace

Status StorageQuota::Charge(Txn& txn, const Actor& actor, std::uint64_t old_bytes,
                            std::uint64_t new_bytes) const {
  const std::string key = QuotaKey(actor.id);
  const std::uint64_t used = MetaU64(txn, key);
  std::uint64_t next = 0;
  if (new_bytes >= old_bytes) {
    next = used + (new_bytes - old_bytes);
    if (limit_ != 0 && next > limit_ && new_bytes > old_bytes) {
      return Status(Code::kThrottled, "the token's storage quota of " + std::to_string(limit_) +
                                          " bytes is used up; nothing was stored");
    }
  } else {
    const std::uint64_t freed = old_bytes - new_bytes;
    next = used > freed ? used - freed : 0;
  }
  return next == used ? Status::Ok() : SetMetaU64(txn, key, next);
}

}  // namespace vault
