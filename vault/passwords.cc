// Passwords (passwords.h).
#include "vault/passwords.h"

#include "crypto/primitives.h"
#include "vault/codec.h"
#include "vault/index_keys.h"

namespace vault {
namespace {

// Longer passwords are refused (NIST SP 800-63B asks that at least 64 characters be allowed).
constexpr std::size_t kMaxPasswordBytes = 4096;

std::string EncodeRow(const PasswordRow& r) {
  RowWriter w;
  w.U8(static_cast<std::uint8_t>(r.algorithm))
      .U8(r.peppered ? 1 : 0)
      .I64(r.set_at)
      .Fixed(r.key_id)
      .Bytes(r.envelope);
  return Bytes(w.Take());
}

bool DecodeRow(std::string_view v, PasswordRow* r) {
  RowReader rd(v);
  std::uint8_t alg = 0, peppered = 0;
  if (!rd.U8(&alg) || !rd.U8(&peppered) || !rd.I64(&r->set_at) || !rd.Fixed(&r->key_id) ||
      !rd.Bytes(&r->envelope) || !rd.AtEnd() || peppered > 1) {
    return false;
  }
  const auto algorithm = crypto::PasswordAlgorithmFromByte(alg);
  if (!algorithm) return false;
  r->algorithm = *algorithm;
  r->peppered = peppered == 1;
  return true;
}

std::vector<std::uint8_t> SealContext(const Uid& uid) {
  RowWriter w;
  w.Str("password").Fixed(uid);
  return w.Take();
}

// Characters as NIST counts them: Unicode code points (the body is valid UTF-8 JSON).
std::size_t CodePoints(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

Status Unavailable() {
  return Status(Code::kUnavailable, "too many password hashes are being computed; retry later");
}

}  // namespace

Passwords::Passwords(Parts parts, crypto::Aead cipher, const crypto::SecretBytes& pepper_source,
                     Limits limits)
    : p_(parts),
      cipher_(cipher),
      pepper_(crypto::DerivePasswordPepper(pepper_source)),
      gate_(PasswordConcurrency(limits.concurrency, limits.memory_kib,
                                parts.policy.argon2.memory_kib),
            limits.memory_kib, limits.max_waiting),
      throttle_(PasswordThrottle::Rules{}) {}

crypto::Argon2Cost Passwords::Cost() const {
  const auto& a = p_.policy.argon2;
  return {a.memory_kib, a.iterations, a.parallelism};
}

Status Passwords::CheckPassword(const std::string& password) const {
  if (password.size() > kMaxPasswordBytes) {
    return PolicyViolation("the password is longer than 4096 bytes");
  }
  const std::uint32_t min = p_.policy.passwords.min_length;
  if (CodePoints(password) < min) {
    return PolicyViolation("the password is shorter than passwords.min_length (" +
                           std::to_string(min) + " characters)");
  }
  return Status::Ok();
}

std::optional<std::string> Passwords::HashForPolicy(const std::string& password) const {
  if (!p_.policy.passwords.pepper) return crypto::HashArgon2id(crypto::AsBytes(password), Cost());
  crypto::Digest peppered = crypto::PepperPassword(pepper_, crypto::AsBytes(password));
  auto encoded = crypto::HashArgon2id(peppered, Cost());
  crypto::WipeBytes(peppered);
  return encoded;
}

Status Passwords::Set(const Actor& actor, const std::string& subject_id,
                      const std::string& password) {
  Status valid = CheckId("subject id", subject_id);
  if (valid.ok()) valid = CheckPassword(password);
  std::optional<PasswordGate::Turn> turn;
  if (valid.ok()) {
    turn = gate_.Enter(p_.policy.argon2.memory_kib);
    if (!turn) valid = Unavailable();
  }
  std::optional<std::string> encoded;
  if (valid.ok()) {
    encoded = HashForPolicy(password);
    turn.reset();
    if (!encoded) valid = Internal("Argon2id failed (out of memory?)");
  }
  if (!valid.ok()) {
    p_.audit.AppendAsync(actor, "password.set", p_.subjects.UidOf(p_.store, subject_id), "",
                         valid.code());
    return valid;
  }
  Status s = Save(actor, "password.set", subject_id, *encoded, crypto::PasswordAlgorithm::kArgon2id,
                  p_.policy.passwords.pepper);
  crypto::WipeString(&*encoded);
  return s;
}

Status Passwords::Import(const Actor& actor, const std::string& subject_id,
                         const std::string& encoded) {
  Status valid = CheckId("subject id", subject_id);
  crypto::PasswordHashParse parse;
  if (valid.ok()) {
    parse = crypto::ParsePasswordHash(encoded);
    if (!parse.hash) valid = PolicyViolation("hash refused: " + parse.problem);
  }
  if (!valid.ok()) {
    p_.audit.AppendAsync(actor, "password.import", p_.subjects.UidOf(p_.store, subject_id), "",
                         valid.code());
    return valid;
  }
  return Save(actor, "password.import", subject_id, encoded, parse.hash->algorithm, false);
}

Status Passwords::Save(const Actor& actor, const char* action, const std::string& subject_id,
                       const std::string& encoded, crypto::PasswordAlgorithm algorithm,
                       bool peppered) {
  const std::string pseudonym = p_.subjects.Pseudonym(subject_id);
  Status s = p_.store.Write([&](Txn& txn) -> Status {
    VAULT_ASSIGN_OR_RETURN(SubjectRow subject,
                           p_.subjects.GetOrCreateForWrite(txn, pseudonym, subject_id, actor));
    PasswordRow row;
    row.algorithm = algorithm;
    row.peppered = peppered;
    row.set_at = p_.clock.Now();
    crypto::SecretBytes dek;
    VAULT_RETURN_IF_ERROR(
        p_.deks.Find(txn, ScopeKey(subject.uid, kSubjectScope, 0), &row.key_id, &dek));
    row.envelope = crypto::Seal(crypto::EnvelopeKind::kRecord, cipher_, dek, row.key_id,
                                crypto::AsBytes(encoded), SealContext(subject.uid));
    VAULT_RETURN_IF_ERROR(txn.Put(Table::kPasswords, Bytes(subject.uid), EncodeRow(row)));
    return p_.audit.Append(txn, actor, action, &subject.uid, "", "ok");
  });
  if (!s.ok()) {
    p_.audit.AppendAsync(actor, action, p_.subjects.UidOf(p_.store, subject_id), "", s.code());
  }
  return s;
}

// The subject's stored hash, opened; nullopt when there is none to check against (unknown,
// erased or pending erasure, or no password set). kLocked for an app on a restricted subject.
StatusOr<std::optional<Passwords::Stored>> Passwords::Load(const Actor& actor,
                                                           const std::string& pseudonym) const {
  std::optional<Stored> out;
  VAULT_RETURN_IF_ERROR(p_.store.Read([&](Txn& txn) -> Status {
    VAULT_ASSIGN_OR_RETURN(auto subject, p_.subjects.Find(txn, pseudonym));
    if (!subject || subject->state != StoredState::kActive) return Status::Ok();
    VAULT_RETURN_IF_ERROR(CheckAccess(*subject, actor, Access{}));
    auto v = txn.Get(Table::kPasswords, Bytes(subject->uid));
    if (!v) return Status::Ok();
    out.emplace();
    out->uid = subject->uid;
    if (!DecodeRow(*v, &out->row)) return DataLoss("a password row is corrupt");
    crypto::SecretBytes dek;
    VAULT_RETURN_IF_ERROR(p_.deks.Load(txn, out->row.key_id, &dek));
    std::vector<std::uint8_t> plain;
    if (!crypto::Open(crypto::EnvelopeKind::kRecord, dek, out->row.envelope,
                      SealContext(subject->uid), &plain)) {
      return DataLoss("a password hash does not decrypt");
    }
    out->encoded.assign(plain.begin(), plain.end());
    crypto::WipeBytes(plain);
    auto parse = crypto::ParsePasswordHash(out->encoded);
    if (!parse.hash) return DataLoss("a stored password hash does not parse");
    out->parsed = *parse.hash;
    return Status::Ok();
  }));
  return out;
}

const std::string& Passwords::DummyHash() {
  std::call_once(dummy_once_, [this] {
    const auto random = crypto::RandomArray<32>();
    dummy_hash_ = crypto::HashArgon2id(random, Cost()).value_or("");
  });
  return dummy_hash_;
}

// Runs one hash computation either way, so an unknown subject costs what a known one does.
bool Passwords::Check(const std::optional<Stored>& stored, const std::string& password) {
  if (!stored) {
    const std::string& dummy = DummyHash();
    const auto parsed = crypto::ParsePasswordHash(dummy);
    if (parsed.hash)
      (void)crypto::VerifyPasswordHash(*parsed.hash, dummy, crypto::AsBytes(password));
    return false;
  }
  if (!stored->row.peppered) {
    return crypto::VerifyPasswordHash(stored->parsed, stored->encoded, crypto::AsBytes(password));
  }
  crypto::Digest peppered = crypto::PepperPassword(pepper_, crypto::AsBytes(password));
  const bool ok = crypto::VerifyPasswordHash(stored->parsed, stored->encoded, peppered);
  crypto::WipeBytes(peppered);
  return ok;
}

StatusOr<Vault::PasswordVerdict> Passwords::Verify(const Actor& actor,
                                                   const std::string& subject_id,
                                                   const std::string& password) {
  VAULT_RETURN_IF_ERROR(CheckId("subject id", subject_id));
  const std::string pseudonym = p_.subjects.Pseudonym(subject_id);
  const auto audit_refusal = [&](Code code) {
    p_.audit.AppendAsync(actor, "password.verify", p_.subjects.UidOf(p_.store, subject_id), "",
                         code);
  };
  const auto refuse = [&](const Status& s) {
    audit_refusal(s.code());
    return s;
  };
  if (password.size() > kMaxPasswordBytes) {
    return refuse(PolicyViolation("the password is longer than 4096 bytes"));
  }
  if (const std::int64_t wait = throttle_.Admit(pseudonym, p_.clock.Now()); wait > 0) {
    audit_refusal(Code::kThrottled);
    return Vault::PasswordVerdict{false, wait};
  }
  auto loaded = Load(actor, pseudonym);
  std::optional<PasswordGate::Turn> turn;
  if (loaded.ok()) {
    turn = gate_.Enter(*loaded ? (*loaded)->parsed.memory_kib : p_.policy.argon2.memory_kib);
  }
  if (!loaded.ok() || !turn) {
    throttle_.Finish(pseudonym, p_.clock.Now(), std::nullopt);
    return refuse(loaded.ok() ? Unavailable() : loaded.status());
  }
  const bool valid = Check(*loaded, password);
  throttle_.Finish(pseudonym, p_.clock.Now(), valid);
  const Stored* stored = *loaded ? &**loaded : nullptr;
  if (valid && (!crypto::MeetsArgon2idCost(stored->parsed, Cost()) ||
                stored->row.peppered != p_.policy.passwords.pepper)) {
    Upgrade(actor, *stored, password);
  }
  p_.audit.AppendAsync(actor, "password.verify",
                       stored ? std::optional<Uid>(stored->uid) : std::nullopt, "",
                       valid ? Code::kOk : Code::kUnauthenticated);
  return Vault::PasswordVerdict{valid, 0};
}

// Replaces a legacy or weaker hash by Argon2id at the policy's cost (and pepper), unless the
// password was changed meanwhile. Best effort: the login it rides on succeeds either way.
void Passwords::Upgrade(const Actor& actor, const Stored& stored, const std::string& password) {
  std::optional<std::string> encoded = HashForPolicy(password);
  if (!encoded) return;
  const Status s = p_.store.Write([&](Txn& txn) -> Status {
    auto v = txn.Get(Table::kPasswords, Bytes(stored.uid));
    PasswordRow current;
    if (!v || !DecodeRow(*v, &current) || current.envelope != stored.row.envelope) {
      return Status::Ok();  // changed or erased since it was read
    }
    PasswordRow row;
    row.peppered = p_.policy.passwords.pepper;
    row.set_at = p_.clock.Now();
    crypto::SecretBytes dek;
    VAULT_RETURN_IF_ERROR(
        p_.deks.Find(txn, ScopeKey(stored.uid, kSubjectScope, 0), &row.key_id, &dek));
    row.envelope = crypto::Seal(crypto::EnvelopeKind::kRecord, cipher_, dek, row.key_id,
                                crypto::AsBytes(*encoded), SealContext(stored.uid));
    VAULT_RETURN_IF_ERROR(txn.Put(Table::kPasswords, Bytes(stored.uid), EncodeRow(row)));
    return p_.audit.Append(txn, actor, "password.upgrade", &stored.uid, "", "ok");
  });
  crypto::WipeString(&*encoded);
  if (!s.ok()) p_.audit.AppendAsync(actor, "password.upgrade", stored.uid, "", s.code());
}

StatusOr<Vault::PasswordInfo> Passwords::Info(const Actor& actor,
                                              const std::string& subject_id) const {
  VAULT_RETURN_IF_ERROR(CheckId("subject id", subject_id));
  const std::string pseudonym = p_.subjects.Pseudonym(subject_id);
  Vault::PasswordInfo info;
  std::optional<Uid> uid;
  const Status s = p_.store.Read([&](Txn& txn) -> Status {
    VAULT_ASSIGN_OR_RETURN(
        SubjectRow subject,
        p_.subjects.GetFor(txn, pseudonym, actor, Access{true, actor.role != Role::kApp}));
    uid = subject.uid;
    VAULT_ASSIGN_OR_RETURN(info, InfoIn(txn, subject.uid));
    return Status::Ok();
  });
  p_.audit.AppendAsync(actor, "password.status", uid, "", s.code());
  if (!s.ok()) return s;
  return info;
}

StatusOr<Vault::PasswordInfo> Passwords::InfoIn(const Txn& txn, const Uid& uid) {
  Vault::PasswordInfo info;
  auto v = txn.Get(Table::kPasswords, Bytes(uid));
  PasswordRow row;
  if (!v) return info;
  if (!DecodeRow(*v, &row)) return DataLoss("a password row is corrupt");
  info.set = true;
  info.algorithm = crypto::PasswordAlgorithmName(row.algorithm);
  return info;
}

Status Passwords::Forget(Txn& txn, const Uid& uid) {
  return txn.Del(Table::kPasswords, Bytes(uid));
}

}  // namespace vault
