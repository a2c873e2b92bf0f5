// The audit log (audit_log.h): append, page, verify.
#include "vault/audit_log.h"

#include <algorithm>

#include "vault/codec.h"

namespace vault {
namespace {

constexpr std::string_view kMetaAuditSeq = "audit_seq";
constexpr std::string_view kMetaAuditHead = "audit_head";
constexpr std::size_t kDefaultPage = 100, kMaxPage = 1000;

}  // namespace

Status AuditLog::Append(Txn& txn, const Actor& actor, std::string_view action, const Uid* uid,
                        std::string_view category, std::string_view outcome) {
  if (!tail_.loaded) {
    tail_.seq = MetaU64(txn, kMetaAuditSeq);
    tail_.head.assign(32, '\0');
    if (auto h = txn.Get(Table::kMeta, kMetaAuditHead); h && h->size() == 32) tail_.head = *h;
    tail_.loaded = true;
  }
  AuditEntry e;
  e.seq = tail_.seq + 1;
  e.at = clock_.Now();
  e.actor = actor.id;
  e.action = action;
  e.subject_ref = uid ? crypto::ToHex(*uid) : "";
  e.category = category;
  e.outcome = outcome;
  const auto hash = ChainHash(tail_.head, e);
  VAULT_RETURN_IF_ERROR(txn.Append(Table::kAudit, BigEndianKey(e.seq), EncodeAudit(e, hash)));
  tail_.seq = e.seq;
  tail_.head = Bytes(hash);
  tail_.dirty = true;
  return Status::Ok();
}

void AuditLog::AppendAsync(const Actor& actor, std::string_view action, std::optional<Uid> uid,
                           const std::string& category, Code outcome) {
  store_.WriteAsync([this, actor, action = std::string(action), uid, category, outcome](Txn& txn) {
    return Append(txn, actor, action, uid ? &*uid : nullptr, category, CodeName(outcome));
  });
}

Status AuditLog::OnPreCommit(Txn& txn) {
  if (!tail_.dirty) return Status::Ok();
  VAULT_RETURN_IF_ERROR(SetMetaU64(txn, kMetaAuditSeq, tail_.seq));
  VAULT_RETURN_IF_ERROR(txn.Put(Table::kMeta, kMetaAuditHead, tail_.head));
  tail_.dirty = false;
  return Status::Ok();
}

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
  return mac_.Mac(w.bytes());
}

StatusOr<std::vector<AuditEntry>> AuditLog::ReadPage(std::uint64_t after_seq,
                                                     std::size_t limit) const {
  std::vector<AuditEntry> out;
  limit = std::min(limit == 0 ? kDefaultPage : limit, kMaxPage);
  VAULT_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    Status corrupt;
    VAULT_RETURN_IF_ERROR(txn.ScanFrom(Table::kAudit, BigEndianKey(after_seq + 1),
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

StatusOr<AuditLog::StoredHead> AuditLog::ReadHead() const {
  StoredHead head;
  VAULT_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    head.seq = MetaU64(txn, kMetaAuditSeq);
    head.hash.assign(32, '\0');
    if (auto h = txn.Get(Table::kMeta, kMetaAuditHead)) head.hash = *h;
    head.rows = txn.Count(Table::kAudit);
    return Status::Ok();
  }));
  return head;
}

// Walks entries 1..head.seq and checks the chain ends at the stored head, which every append
// updates in its own transaction: removed trailing entries are found, not just edited ones.
StatusOr<AuditVerifyResult> AuditLog::Verify(const ProgressFn& progress) const {
  VAULT_RETURN_IF_ERROR(store_.Flush());
  VAULT_ASSIGN_OR_RETURN(const StoredHead stored, ReadHead());
  AuditVerifyResult res;
  std::string prev(32, '\0');
  while (res.entries < stored.seq) {
    VAULT_ASSIGN_OR_RETURN(
        auto page,
        ReadPage(res.entries, std::min<std::uint64_t>(kMaxPage, stored.seq - res.entries)));
    if (page.empty()) break;
    for (const auto& e : page) {
      const auto want = ChainHash(prev, e);
      if (e.seq != res.entries + 1 || crypto::ToHex(want) != e.hash) {
        res.first_bad_seq = std::min(e.seq, res.entries + 1);
        res.head = e.hash;
        return res;
      }
      prev = Bytes(want);
      res.head = e.hash;
      ++res.entries;
    }
    if (progress) progress(res.entries, stored.seq);
  }
  if (progress && res.entries == 0) progress(0, stored.seq);
  if (res.entries < stored.seq || prev != stored.hash) {
    // Entries missing at the end (the first of them), or a last entry that is not the head.
    res.first_bad_seq = res.entries < stored.seq ? res.entries + 1 : stored.seq;
  } else if (stored.rows != stored.seq) {
    res.first_bad_seq = stored.seq + 1;  // entries beyond the stored head
  }
  res.ok = !res.first_bad_seq.has_value();
  return res;
}

}  // namespace vault
