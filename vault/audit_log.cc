// The audit log (audit_log.h): append, page, checkpoint and trim; verification is in
// audit_verify.cc.
#include "vault/audit_log.h"

#include <algorithm>

#include "vault/codec.h"

namespace vault {
namespace {

constexpr std::size_t kDefaultPage = 100, kMaxPage = 1000;

}  // namespace

void AuditLog::LoadTail(const Txn& txn) {
  if (tail_.loaded) return;
  tail_.seq = MetaU64(txn, kMetaSeq);
  tail_.head.assign(32, '\0');
  if (auto h = txn.Get(Table::kMeta, kMetaHead); h && h->size() == 32) tail_.head = *h;
  tail_.loaded = true;
}

std::string AuditLog::PurposeOf(const Actor& actor, std::string_view category) const {
  const Category* c = category.empty() ? nullptr : policy_.Find(std::string(category));
  std::string used, all;
  for (const std::string& p : actor.purposes) {
    all += (all.empty() ? "" : ",") + p;
    if (c != nullptr && std::find(c->purposes.begin(), c->purposes.end(), p) == c->purposes.end()) {
      continue;
    }
    used += (used.empty() ? "" : ",") + p;
  }
  // None of them fits the category (a refused attempt): the purposes the token claimed.
  return used.empty() ? all : used;
}

Status AuditLog::Append(Txn& txn, const Actor& actor, std::string_view action, const Uid* uid,
                        std::string_view category, std::string_view outcome) {
  LoadTail(txn);
  AuditEntry e;
  e.seq = tail_.seq + 1;
  e.at = clock_.Now();
  e.actor = actor.id;
  e.action = action;
  e.subject_ref = uid ? crypto::ToHex(*uid) : "";
  e.category = category;
  e.outcome = outcome;
  e.purpose = PurposeOf(actor, category);
  const auto hash = ChainHash(tail_.head, e);
  VAULT_RETURN_IF_ERROR(txn.Append(Table::kAudit, BigEndianKey(e.seq), EncodeAudit(e, hash)));
  tail_.seq = e.seq;
  tail_.head = Bytes(hash);
  tail_.dirty = true;
  return Status::Ok();
}

void AuditLog::QueueBound::Acquire(bool may_wait) {
  MutexLock lock(mu_);
  while (may_wait && queued_ >= limit_.load()) lock.Wait(cv_);
  ++queued_;
}

void AuditLog::QueueBound::Release() {
  {
    MutexLock lock(mu_);
    --queued_;
  }
  cv_.notify_one();
}

std::size_t AuditLog::QueueBound::size() const {
  MutexLock lock(mu_);
  return queued_;
}

void AuditLog::AppendAsync(const Actor& actor, std::string_view action, std::optional<Uid> uid,
                           const std::string& category, Code outcome) {
  // The entry counts until its operation is destroyed: after the writer's transaction that
  // carried it ended (committed, or failed when the store is closing), however often a
  // conflict ran it. The writer thread never waits for itself.
  queue_.Acquire(/*may_wait=*/!store_.OnWriterThread());
  std::shared_ptr<void> counted(nullptr, [this](void*) { queue_.Release(); });
  store_.WriteAsync([this, counted = std::move(counted), actor, action = std::string(action), uid,
                     category, outcome](Txn& txn) {
    return Append(txn, actor, action, uid ? &*uid : nullptr, category, CodeName(outcome));
  });
}

// The tail's meta rows, and a checkpoint when enough entries or time have passed since the
// last one: in the transaction that wrote the entries, so no commit leaves them unsigned for
// longer than the next trigger.
Status AuditLog::OnPreCommit(Txn& txn) {
  if (!tail_.dirty) return Status::Ok();
  VAULT_RETURN_IF_ERROR(SetMetaU64(txn, kMetaSeq, tail_.seq));
  VAULT_RETURN_IF_ERROR(txn.Put(Table::kMeta, kMetaHead, tail_.head));
  tail_.dirty = false;
  return checkpoints_.OnHead(txn, tail_.seq, tail_.head, AuditCheckpoints::When::kDue);
}

Status AuditLog::Checkpoint(AuditCheckpoints::When when) {
  VAULT_RETURN_IF_ERROR(store_.Flush());
  return store_.Write([&](Txn& txn) {
    LoadTail(txn);
    return checkpoints_.OnHead(txn, tail_.seq, tail_.head, when);
  });
}

// The entry's fields, its predecessor's hash, and its purpose when it has one (entries written
// before purposes were recorded have none, and their hashes stay as they were).
crypto::Digest AuditLog::ChainHash(std::string_view prev, const AuditEntry& e) const {
  RowWriter w;
  w.Str(prev)
      .U64(e.seq)
      .I64(e.at)
      .Str(e.actor)
      .Str(e.action)
      .Str(e.subject_ref)
      .Str(e.category)
      .Str(e.outcome);
  if (!e.purpose.empty()) w.Str(e.purpose);
  return mac_.Mac(w.bytes());
}

StatusOr<std::vector<AuditEntry>> AuditLog::ReadPage(std::uint64_t after_seq,
                                                     std::size_t limit) const {
  std::vector<AuditEntry> out;
  limit = std::min(limit == 0 ? kDefaultPage : limit, kMaxPage);
  VAULT_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    // Entries at or below the base are trimmed (or about to be): not part of the log.
    const std::uint64_t from = std::max(after_seq, MetaU64(txn, kMetaBase)) + 1;
    Status corrupt;
    VAULT_RETURN_IF_ERROR(txn.ScanFrom(Table::kAudit, BigEndianKey(from),
                                       [&](std::string_view k, std::string_view v) {
                                         AuditEntry e;
                                         if (!DecodeAudit(k, v, &e)) {
                                           corrupt = DataLoss("an audit entry is corrupt");
                                           return false;
                                         }
                                         out.push_back(std::move(e));
                                         return out.size() < limit;
                                       }));
    return corrupt;
  }));
  return out;
}

StatusOr<std::vector<AuditEntry>> AuditLog::List(std::uint64_t after_seq, std::size_t limit) const {
  // Entries of reads are committed asynchronously; an auditor sees every read this process
  // made before the call.
  VAULT_RETURN_IF_ERROR(store_.Flush());
  return ReadPage(after_seq, limit);
}

// The newest checkpoint past retention becomes the base (entries up to it leave the log);
// the checkpoints before it go, and it stays as the anchor the rest of the chain verifies from.
Status AuditLog::MoveBase(Txn& txn, const Actor& actor, std::uint64_t* base) {
  const Duration& retention = policy_.audit_retention;
  *base = MetaU64(txn, kMetaBase);
  const UnixSeconds now = clock_.Now();
  std::uint64_t anchor = 0;
  VAULT_RETURN_IF_ERROR(txn.ScanFrom(Table::kAuditCheckpoints, BigEndianKey(*base + 1),
                                     [&](std::string_view k, std::string_view v) {
                                       AuditCheckpoint cp;
                                       if (!DecodeCheckpoint(k, v, &cp)) return false;
                                       if (retention.AddTo(cp.at) > now) return false;
                                       anchor = cp.seq;
                                       return true;
                                     }));
  if (anchor == 0) return Status::Ok();
  *base = anchor;
  VAULT_RETURN_IF_ERROR(SetMetaU64(txn, kMetaBase, anchor));
  VAULT_RETURN_IF_ERROR(checkpoints_.DeleteBefore(txn, anchor));
  return Append(txn, actor, "audit.trim", nullptr, "", "ok");
}

StatusOr<std::uint64_t> AuditLog::Trim(const Actor& actor, std::size_t batch) {
  std::uint64_t base = 0;
  VAULT_RETURN_IF_ERROR(store_.Write([&](Txn& txn) { return MoveBase(txn, actor, &base); }));
  std::uint64_t deleted = 0;
  batch = std::max<std::size_t>(batch, 1);
  bool more = base > 0;
  while (more) {
    std::uint64_t n = 0;
    VAULT_RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
      std::vector<std::string> doomed;
      more = false;
      VAULT_RETURN_IF_ERROR(
          txn.ScanFrom(Table::kAudit, "", [&](std::string_view k, std::string_view) {
            if (ReadBigEndian(k) > base) return false;
            if (doomed.size() >= batch) {
              more = true;
              return false;
            }
            doomed.emplace_back(k);
            return true;
          }));
      for (const auto& k : doomed) VAULT_RETURN_IF_ERROR(txn.Del(Table::kAudit, k));
      n = doomed.size();
      return Status::Ok();
    }));
    deleted += n;
  }
  return deleted;
}

}  // namespace vault
