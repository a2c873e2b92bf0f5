// The Vault facade's audit-proof calls: checkpoints of the audit log's head (audit_checkpoints.h).
#include "vault/vault.h"
#include "vault/vault_impl.h"

namespace vault {

StatusOr<std::vector<AuditCheckpoint>> Vault::ListAuditCheckpoints(std::uint64_t after_seq,
                                                                   std::size_t limit) const {
  return impl_->checkpoints->List(after_seq, limit);
}

Status Vault::CheckpointAudit() { return impl_->audit->Checkpoint(AuditCheckpoints::When::kNow); }

std::string Vault::AuditCheckpointMessage(const AuditCheckpoint& cp) {
  return AuditCheckpoints::Message(cp);
}

bool Vault::VerifyAuditCheckpoint(const AuditCheckpoint& cp, const std::string& public_key_base64) {
  return AuditCheckpoints::Verify(cp, public_key_base64);
}

}  // namespace vault
