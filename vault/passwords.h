// Passwords: one encoded password hash per subject, sealed under the DEK of the subject's own
// scope (`_subject`, the one erasure destroys with the sealed subject id), so erasure makes
// it unreadable at once and then removes its row. Owns the passwords table, the per-subject
// throttle and the gate that bounds concurrent hash computations (password_limits.h).
//
// Thread safety: safe from any number of threads; hashes are computed outside store
// transactions, on the caller's thread, one gate turn at a time.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "crypto/aead.h"
#include "crypto/password_hash.h"
#include "crypto/secret.h"
#include "vault/audit_log.h"
#include "vault/dek_table.h"
#include "vault/password_limits.h"
#include "vault/store.h"
#include "vault/subjects.h"
#include "vault/vault.h"

namespace vault {

// passwords row: u8 algorithm | u8 peppered | i64 set_at | fixed[16] key_id | bytes envelope
// (the encoded hash sealed under the `_subject` DEK, bound to "password" | uid).
struct PasswordRow {
  crypto::PasswordAlgorithm algorithm = crypto::PasswordAlgorithm::kArgon2id;
  bool peppered = false;
  UnixSeconds set_at = 0;
  crypto::KeyId key_id{};
  std::vector<std::uint8_t> envelope;
};

class Passwords {
 public:
  struct Parts {
    Store& store;
    const Policy& policy;
    const Clock& clock;
    Subjects& subjects;
    DekTable& deks;
    AuditLog& audit;
  };
  struct Limits {
    std::size_t concurrency = 0;  // 0: from cores and memory (PasswordConcurrency)
    std::uint64_t memory_kib = 0;
    std::size_t max_waiting = 16;
  };
  // pepper_source: the system key the pepper is derived from (used when the policy asks).
  Passwords(Parts parts, crypto::Aead cipher, const crypto::SecretBytes& pepper_source,
            Limits limits);

  Status Set(const Actor& actor, const std::string& subject_id, const std::string& password);
  Status Import(const Actor& actor, const std::string& subject_id, const std::string& encoded);
  StatusOr<Vault::PasswordVerdict> Verify(const Actor& actor, const std::string& subject_id,
                                          const std::string& password);
  StatusOr<Vault::PasswordInfo> Info(const Actor& actor, const std::string& subject_id) const;

  // Erasure: the subject's password row goes (its key is destroyed in the same transaction).
  static Status Forget(Txn& txn, const Uid& uid);
  // Whether the subject has a password, and its algorithm, in txn (exports; not audited).
  static StatusOr<Vault::PasswordInfo> InfoIn(const Txn& txn, const Uid& uid);

 private:
  struct Stored {
    PasswordRow row;
    std::string encoded;  // wiped by the destructor
    crypto::ParsedPasswordHash parsed;
    Uid uid{};
    ~Stored() { crypto::WipeString(&encoded); }
  };
  Status CheckPassword(const std::string& password) const;
  crypto::Argon2Cost Cost() const;
  std::optional<std::string> HashForPolicy(const std::string& password) const;
  Status Save(const Actor& actor, const char* action, const std::string& subject_id,
              const std::string& encoded, crypto::PasswordAlgorithm algorithm, bool peppered);
  StatusOr<std::optional<Stored>> Load(const Actor& actor, const std::string& pseudonym) const;
  bool Check(const std::optional<Stored>& stored, const std::string& password);
  void Upgrade(const Actor& actor, const Stored& stored, const std::string& password);
  const std::string& DummyHash();

  Parts p_;
  const crypto::Aead cipher_;
  const crypto::SecretBytes pepper_;
  PasswordGate gate_;
  PasswordThrottle throttle_;
  std::once_flag dummy_once_;
  std::string dummy_hash_;
};

}  // namespace vault
