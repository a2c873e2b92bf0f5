// Signed checkpoints of the audit log: the chain's head (seq, hash) signed with Ed25519 every
// N entries or T seconds, so an outsider who keeps one can later show that the entries up to
// it were changed. Owns the audit_checkpoints table and the meta row audit_cp_seq.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/secret.h"
#include "vault/clock.h"
#include "vault/store.h"
#include "vault/vault.h"

namespace vault {

class AuditCheckpoints {
 public:
  struct Settings {
    std::uint64_t every_entries = 1000;  // 0: no count trigger
    std::chrono::seconds every{300};     // 0: no time trigger
  };
  // signing_key: the receipt signing key (its public key is published at
  // /v1/receipts/public-key), so one key id serves receipts and checkpoints.
  AuditCheckpoints(Store& store, const crypto::SecretBytes& signing_key, const Clock& clock,
                   Settings settings);

  // When OnHead signs the head it is given.
  enum class When {
    kDue,  // every_entries entries since the last checkpoint, or `every` passed since it
    kNow,  // any entry since the last checkpoint (on close, or asked for)
  };
  // Writes a checkpoint of (seq, head: 32 raw bytes) in txn when `when` says so.
  Status OnHead(Txn& txn, std::uint64_t seq, std::string_view head, When when) const;

  // The checkpoint at exactly seq, if there is one.
  StatusOr<std::optional<AuditCheckpoint>> At(const Txn& txn, std::uint64_t seq) const;
  // Checkpoints after after_seq, oldest first (limit 0: 100; at most 1000).
  StatusOr<std::vector<AuditCheckpoint>> List(std::uint64_t after_seq, std::size_t limit) const;
  // Deletes the checkpoints before seq (retention keeps the one at seq as the chain's anchor).
  Status DeleteBefore(Txn& txn, std::uint64_t seq) const;

  bool Verify(const AuditCheckpoint& cp) const { return Verify(cp, public_key_); }
  // The RFC 8785 text a checkpoint's signature covers, and the check with a public key alone.
  static std::string Message(const AuditCheckpoint& cp);
  static bool Verify(const AuditCheckpoint& cp, const std::string& public_key_base64);

 private:
  const Store& store_;
  const crypto::SecretBytes& signing_key_;
  const Clock& clock_;
  const Settings settings_;
  std::string key_id_;
  std::string public_key_;  // base64
};

}  // namespace vault
