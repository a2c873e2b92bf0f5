// Signed checkpoints of the audit log's head (audit_checkpoints.h).
#include "vault/audit_checkpoints.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "crypto/primitives.h"
#include "vault/codec.h"
#include "vault/receipt.h"
#include "vault/rows.h"

namespace vault {
namespace {

constexpr std::string_view kMetaCheckpointSeq = "audit_cp_seq";
constexpr std::string_view kCheckpointType = "lethe.audit.checkpoint";
constexpr std::size_t kDefaultPage = 100, kMaxPage = 1000;

nlohmann::json SignedFields(const AuditCheckpoint& cp) {
  return {{"type", kCheckpointType},
          {"seq", cp.seq},
          {"at", FormatRfc3339(cp.at)},
          {"head", cp.head},
          {"key_id", cp.key_id}};
}

}  // namespace

AuditCheckpoints::AuditCheckpoints(Store& store, const crypto::SecretBytes& signing_key,
                                   const Clock& clock, Settings settings)
    : store_(store), signing_key_(signing_key), clock_(clock), settings_(settings) {
  key_id_ = SigningKeyId(signing_key_);
  if (auto pk = crypto::SigningPublicKey(signing_key_)) public_key_ = crypto::ToBase64(*pk);
}

std::string AuditCheckpoints::Message(const AuditCheckpoint& cp) {
  return CanonicalJson(SignedFields(cp)).value_or("");
}

bool AuditCheckpoints::Verify(const AuditCheckpoint& cp, const std::string& public_key_base64) {
  const auto pk = crypto::FromBase64(public_key_base64);
  const auto sig = crypto::FromBase64(cp.signature);
  const std::string message = Message(cp);
  if (!pk || !sig || message.empty()) return false;
  return crypto::VerifySignature(*pk, crypto::AsBytes(message), *sig);
}

Status AuditCheckpoints::OnHead(Txn& txn, std::uint64_t seq, std::string_view head,
                                When when) const {
  const std::uint64_t last_seq = MetaU64(txn, kMetaCheckpointSeq);
  if (seq <= last_seq || head.size() != 32) return Status::Ok();
  const UnixSeconds now = clock_.Now();
  if (when == When::kDue) {
    VAULT_ASSIGN_OR_RETURN(std::optional<AuditCheckpoint> last, At(txn, last_seq));
    const UnixSeconds last_at = last ? last->at : 0;
    const bool by_count = settings_.every_entries > 0 && seq - last_seq >= settings_.every_entries;
    const bool by_time = settings_.every.count() > 0 && now - last_at >= settings_.every.count();
    if (!by_count && !by_time) return Status::Ok();
  }
  AuditCheckpoint cp;
  cp.seq = seq;
  cp.at = now;
  cp.head = crypto::ToHex(crypto::AsBytes(head));
  cp.key_id = key_id_;
  const std::string message = Message(cp);
  cp.signature = crypto::ToBase64(crypto::Sign(signing_key_, crypto::AsBytes(message)));
  VAULT_RETURN_IF_ERROR(txn.Put(Table::kAuditCheckpoints, BigEndianKey(seq), EncodeCheckpoint(cp)));
  return SetMetaU64(txn, kMetaCheckpointSeq, seq);
}

StatusOr<std::optional<AuditCheckpoint>> AuditCheckpoints::At(const Txn& txn,
                                                              std::uint64_t seq) const {
  const std::string key = BigEndianKey(seq);
  const auto v = txn.Get(Table::kAuditCheckpoints, key);
  if (!v) return std::optional<AuditCheckpoint>();
  AuditCheckpoint cp;
  if (!DecodeCheckpoint(key, *v, &cp)) return DataLoss("an audit checkpoint is corrupt");
  return std::optional<AuditCheckpoint>(std::move(cp));
}

StatusOr<std::vector<AuditCheckpoint>> AuditCheckpoints::List(std::uint64_t after_seq,
                                                              std::size_t limit) const {
  std::vector<AuditCheckpoint> out;
  limit = std::min(limit == 0 ? kDefaultPage : limit, kMaxPage);
  VAULT_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    Status corrupt;
    VAULT_RETURN_IF_ERROR(txn.ScanFrom(Table::kAuditCheckpoints, BigEndianKey(after_seq + 1),
                                       [&](std::string_view k, std::string_view v) {
                                         AuditCheckpoint cp;
                                         if (!DecodeCheckpoint(k, v, &cp)) {
                                           corrupt = DataLoss("an audit checkpoint is corrupt");
                                           return false;
                                         }
                                         out.push_back(std::move(cp));
                                         return out.size() < limit;
                                       }));
    return corrupt;
  }));
  return out;
}

Status AuditCheckpoints::DeleteBefore(Txn& txn, std::uint64_t seq) const {
  std::vector<std::string> doomed;
  VAULT_RETURN_IF_ERROR(
      txn.ScanFrom(Table::kAuditCheckpoints, "", [&](std::string_view k, std::string_view) {
        if (ReadBigEndian(k) >= seq) return false;
        doomed.emplace_back(k);
        return true;
      }));
  for (const auto& k : doomed) VAULT_RETURN_IF_ERROR(txn.Del(Table::kAuditCheckpoints, k));
  return Status::Ok();
}

}  // namespace vault
