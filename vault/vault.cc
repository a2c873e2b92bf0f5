// The engine: subjects, records, per-scope DEKs, erasure, holds, tokens, rotation, sweeping.
#include "vault/vault.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "crypto/primitives.h"
#include "vault/codec.h"
#include "vault/engine.h"
#include "vault/receipt.h"
#include "vault/record_plaintext.h"

namespace vault {
namespace {

using crypto::KeyId;
using crypto::SecretBytes;
using nlohmann::json;

constexpr std::string_view kMetaKeyringSeq = "keyring_seq";
constexpr std::string_view kMetaCanary = "canary";
constexpr std::string_view kMetaAuditSeq = "audit_seq";
constexpr std::string_view kMetaAuditHead = "audit_head";
constexpr std::string_view kMetaShredded = "keys_shredded";
constexpr std::string_view kMetaRewrapPending = "rewrap_pending";
constexpr std::string_view kGcPrefix = "gc/";
constexpr std::string_view kMetaSlotHwm = "slot_hwm";
constexpr std::string_view kMetaBackupUntil = "backup_until";
constexpr std::string_view kSubjectScope = "_subject";  // holds the sealed subject id
constexpr std::size_t kShredBatch = 10000;

std::string Bytes(std::span<const std::uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
template <std::size_t N>
std::string Bytes(const std::array<std::uint8_t, N>& a) {
  return Bytes(std::span<const std::uint8_t>(a));
}
std::span<const std::uint8_t> Span(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
std::string U64Bytes(std::uint64_t v) {
  std::string s;
  AppendBigEndian(&s, v);
  return s;
}

UnixSeconds EndOfUtcDay(UnixSeconds t) {
  const std::int64_t day = t >= 0 ? t / 86400 : (t - 86399) / 86400;
  return t % 86400 == 0 ? t : (day + 1) * 86400;
}

std::string ScopeKey(const Uid& uid, const std::string& category, UnixSeconds bucket) {
  std::string s = Bytes(uid) + category;
  s.push_back('\0');
  AppendBigEndian(&s, static_cast<std::uint64_t>(bucket));
  return s;
}
std::string CategoryPrefix(const Uid& uid, const std::string& category) {
  std::string s = Bytes(uid) + category;
  s.push_back('\0');
  return s;
}

// --- Row codecs -----------------------------------------------------------------------

std::string EncodeSubject(const SubjectRow& r) {
  RowWriter w;
  w.Fixed(r.uid)
      .U8(static_cast<std::uint8_t>(r.state))
      .I64(r.created_at)
      .U8(r.restricted ? 1 : 0)
      .Str(r.erasure_id)
      .Bytes(r.sealed_subject_id);
  return Bytes(w.bytes());
}
bool DecodeSubject(std::string_view v, SubjectRow* r) {
  RowReader rd(v);
  std::uint8_t state = 0, restricted = 0;
  if (!rd.Fixed(&r->uid) || !rd.U8(&state) || !rd.I64(&r->created_at) || !rd.U8(&restricted) ||
      !rd.Str(&r->erasure_id) || !rd.Bytes(&r->sealed_subject_id) || state > 2) {
    return false;
  }
  r->state = static_cast<StoredState>(state);
  r->restricted = restricted != 0;
  return true;
}

std::string EncodeRecord(const RecordRow& r) {
  RowWriter w;
  w.U64(r.version)
      .I64(r.created_at)
      .I64(r.updated_at)
      .U8(r.has_event_time ? 1 : 0)
      .I64(r.event_time)
      .I64(r.retain_until)
      .Fixed(r.key_id)
      .Bytes(r.envelope);
  return Bytes(w.bytes());
}
bool DecodeRecord(std::string_view v, RecordRow* r) {
  RowReader rd(v);
  std::uint8_t has = 0;
  if (!rd.U64(&r->version) || !rd.I64(&r->created_at) || !rd.I64(&r->updated_at) || !rd.U8(&has) ||
      !rd.I64(&r->event_time) || !rd.I64(&r->retain_until) || !rd.Fixed(&r->key_id) ||
      !rd.Bytes(&r->envelope)) {
    return false;
  }
  r->has_event_time = has != 0;
  return true;
}

std::string EncodeErasure(const ErasureRow& r) {
  RowWriter w;
  w.Fixed(r.uid)
      .Str(r.pseudonym)
      .Str(r.state)
      .Str(r.mode)
      .I64(r.requested_at)
      .I64(r.execute_at)
      .I64(r.completed_at)
      .U8(r.blocked_by_hold ? 1 : 0)
      .Str(r.receipt_json);
  return Bytes(w.bytes());
}
bool DecodeErasure(std::string_view v, ErasureRow* r) {
  RowReader rd(v);
  std::uint8_t blocked = 0;
  if (!rd.Fixed(&r->uid) || !rd.Str(&r->pseudonym) || !rd.Str(&r->state) || !rd.Str(&r->mode) ||
      !rd.I64(&r->requested_at) || !rd.I64(&r->execute_at) || !rd.I64(&r->completed_at) ||
      !rd.U8(&blocked) || !rd.Str(&r->receipt_json)) {
    return false;
  }
  r->blocked_by_hold = blocked != 0;
  return true;
}

struct HoldRow {
  UnixSeconds placed_at = 0;
  bool has_until = false;
  UnixSeconds until = 0;
  std::vector<std::uint8_t> sealed_reason;
};
std::string EncodeHold(const HoldRow& r) {
  RowWriter w;
  w.I64(r.placed_at).U8(r.has_until ? 1 : 0).I64(r.until).Bytes(r.sealed_reason);
  return Bytes(w.bytes());
}
bool DecodeHold(std::string_view v, HoldRow* r) {
  RowReader rd(v);
  std::uint8_t has = 0;
  if (!rd.I64(&r->placed_at) || !rd.U8(&has) || !rd.I64(&r->until) ||
      !rd.Bytes(&r->sealed_reason)) {
    return false;
  }
  r->has_until = has != 0;
  return true;
}

struct TokenRow {
  Role role = Role::kApp;
  std::vector<std::string> purposes;
  std::vector<std::uint8_t> sealed_name;
  UnixSeconds created_at = 0;
  crypto::Digest secret_hash{};
};
std::string EncodeToken(const TokenRow& r) {
  RowWriter w;
  w.U8(static_cast<std::uint8_t>(r.role)).U64(r.purposes.size());
  for (const auto& p : r.purposes) w.Str(p);
  w.Bytes(r.sealed_name).I64(r.created_at).Fixed(r.secret_hash);
  return Bytes(w.bytes());
}
bool DecodeToken(std::string_view v, TokenRow* r) {
  RowReader rd(v);
  std::uint8_t role = 0;
  std::uint64_t n = 0;
  if (!rd.U8(&role) || role > 3 || !rd.U64(&n) || n > 64) return false;
  r->role = static_cast<Role>(role);
  r->purposes.resize(n);
  for (auto& p : r->purposes) {
    if (!rd.Str(&p)) return false;
  }
  return rd.Bytes(&r->sealed_name) && rd.I64(&r->created_at) && rd.Fixed(&r->secret_hash);
}

std::uint64_t MetaU64(MDB_txn* txn, const Dbs& dbs, std::string_view key) {
  auto v = Get(txn, dbs.meta, key);
  return v && v->size() == 8 ? ReadBigEndian(*v) : 0;
}
Status SetMetaU64(MDB_txn* txn, const Dbs& dbs, std::string_view key, std::uint64_t v) {
  return Put(txn, dbs.meta, key, U64Bytes(v));
}

std::string Hex(std::span<const std::uint8_t> b) { return crypto::ToHex(b); }

}  // namespace

std::string EncodeKeyRow(const KeyRow& r) {
  RowWriter w;
  w.Str(r.scope).U64(r.epoch).U64(r.slot).I64(r.expires_at).I64(r.created_at);
  return Bytes(w.bytes());
}
bool DecodeKeyRow(std::string_view v, KeyRow* r) {
  RowReader rd(v);
  return rd.Str(&r->scope) && rd.U64(&r->epoch) && rd.U64(&r->slot) && rd.I64(&r->expires_at) &&
         rd.I64(&r->created_at);
}

bool DecodeRecordRow(std::string_view v, RecordRow* r) { return DecodeRecord(v, r); }

std::vector<std::uint8_t> RecordContext(std::string_view record_key) {
  RowWriter w;
  w.Str("record").Str(record_key);
  return w.Take();
}

SlotBytes EncodeSlot(std::uint64_t epoch, std::span<const std::uint8_t> wrapped) {
  SlotBytes s{};
  s[0] = 'S';
  for (int i = 0; i < 8; ++i) s[1 + i] = static_cast<std::uint8_t>(epoch >> (8 * i));
  s[9] = static_cast<std::uint8_t>(wrapped.size());
  std::memcpy(s.data() + 10, wrapped.data(), wrapped.size());
  return s;
}

bool DecodeSlot(const SlotBytes& s, std::uint64_t* epoch, std::span<const std::uint8_t>* wrapped) {
  if (s[0] != 'S' || s[9] == 0 || 10u + s[9] > kSlotBytes) return false;
  *epoch = 0;
  for (int i = 0; i < 8; ++i) *epoch |= static_cast<std::uint64_t>(s[1 + i]) << (8 * i);
  *wrapped = std::span(s).subspan(10, s[9]);
  return true;
}

const char* SubjectStateName(SubjectState s) {
  switch (s) {
    case SubjectState::kActive:
      return "active";
    case SubjectState::kErasurePending:
      return "erasure_pending";
    case SubjectState::kErased:
      return "erased";
  }
  return "unknown";
}

// --- The engine's internals ----------------------------------------------------------------

namespace {

// Everything an operation needs inside a write transaction.
class Ops {
 public:
  explicit Ops(Vault::Impl& v) : v_(v), dbs_(v.store->dbs()) {}

  std::string Pseudonym(const std::string& subject_id) const {
    // "subject\0" + id was meant, but a char* literal stops at its NUL: the message has always
    // been "subject" + id. Kept byte for byte: changing it re-keys every stored pseudonym.
    return Bytes(v_.keyring->index_mac().Mac("subject" + subject_id));
  }
  std::string RecordKey(const Uid& uid, const std::string& category, const std::string& rid) const {
    std::string msg = "record" + Bytes(uid) + category;
    msg.push_back('\0');
    msg += rid;
    const auto mac = v_.keyring->index_mac().Mac(msg);
    return CategoryPrefix(uid, category) + Bytes(std::span(mac).first(16));
  }
  std::vector<std::uint8_t> RecordContext(std::string_view record_key) const {
    return vault::RecordContext(record_key);
  }

  std::vector<std::uint8_t> SealMeta(std::string_view what, std::string_view context,
                                     std::string_view plaintext) const {
    KeyId id{};
    RowWriter ctx;
    ctx.Str(what).Str(context);
    return crypto::Seal(crypto::EnvelopeKind::kSealed, crypto::Aead::kXChaCha20Poly1305,
                        v_.keyring->meta_key(), id, Span(plaintext), ctx.bytes());
  }
  std::string OpenMeta(std::string_view what, std::string_view context,
                       std::span<const std::uint8_t> sealed) const {
    RowWriter ctx;
    ctx.Str(what).Str(context);
    std::vector<std::uint8_t> out;
    if (!crypto::Open(crypto::EnvelopeKind::kSealed, v_.keyring->meta_key(), sealed, ctx.bytes(),
                      &out)) {
      return "";
    }
    return Bytes(out);
  }

  StatusOr<std::optional<SubjectRow>> FindSubject(MDB_txn* txn, const std::string& pseudonym) {
    auto v = Get(txn, dbs_.subjects, pseudonym);
    if (!v) return std::optional<SubjectRow>();
    SubjectRow r;
    if (!DecodeSubject(*v, &r)) return DataLoss("a subject row is corrupt");
    return std::optional<SubjectRow>(r);
  }

  // The scope's live DEK; created (and wrapped under the current epoch) if missing.
  Status ScopeDek(MDB_txn* txn, const std::string& scope, UnixSeconds expires_at, bool create,
                  KeyId* key_id, SecretBytes* dek) {
    if (auto kid = Get(txn, dbs_.scopes, scope); kid && kid->size() == key_id->size()) {
      std::memcpy(key_id->data(), kid->data(), key_id->size());
      return LoadDek(txn, *key_id, dek);
    }
    if (!create) return NotFound("no key for scope");
    *key_id = crypto::RandomArray<16>();
    *dek = SecretBytes::Random(crypto::kKeyBytes);
    KeyRow row;
    row.scope = scope;
    VAULT_RETURN_IF_ERROR(WrapIntoNewSlot(txn, *dek, *key_id, &row));
    row.expires_at = expires_at;
    row.created_at = v_.clock->Now();
    VAULT_RETURN_IF_ERROR(Put(txn, dbs_.keys, Bytes(*key_id), EncodeKeyRow(row)));
    VAULT_RETURN_IF_ERROR(Put(txn, dbs_.scopes, scope, Bytes(*key_id)));
    if (expires_at != 0) {
      VAULT_RETURN_IF_ERROR(Put(
          txn, dbs_.expiry, U64Bytes(static_cast<std::uint64_t>(expires_at)) + Bytes(*key_id), ""));
    }
    return Status::Ok();
  }

  // Takes a slot from the free list (or extends the file), wraps the DEK under the current
  // epoch into it, and records slot and epoch in row. The slot is synced before commit.
  Status WrapIntoNewSlot(MDB_txn* txn, const SecretBytes& dek, const KeyId& key_id, KeyRow* row) {
    std::optional<std::uint64_t> slot;
    VAULT_RETURN_IF_ERROR(
        ScanPrefix(txn, dbs_.slots_free, "", [&](std::string_view k, std::string_view) {
          slot = ReadBigEndian(k);
          return false;
        }));
    if (slot) {
      VAULT_RETURN_IF_ERROR(Del(txn, dbs_.slots_free, U64Bytes(*slot)));
    } else {
      slot = MetaU64(txn, dbs_, kMetaSlotHwm);
      VAULT_RETURN_IF_ERROR(SetMetaU64(txn, dbs_, kMetaSlotHwm, *slot + 1));
    }
    row->slot = *slot;
    const auto wrapped = v_.keyring->WrapDek(dek, key_id, &row->epoch);
    return v_.keyslots->Write(row->slot, EncodeSlot(row->epoch, wrapped));
  }

  Status UnwrapRow(const KeyRow& row, SecretBytes* dek) {
    SlotBytes slot;
    VAULT_RETURN_IF_ERROR(v_.keyslots->Read(row.slot, &slot));
    std::uint64_t epoch = 0;
    std::span<const std::uint8_t> wrapped;
    if (!DecodeSlot(slot, &epoch, &wrapped) || epoch != row.epoch) {
      return DataLoss("a key slot does not hold the key its row names");
    }
    Status s = v_.keyring->UnwrapDek(wrapped, epoch, dek);
    if (s.code() == Code::kUnavailable) {  // another process started an epoch
      VAULT_RETURN_IF_ERROR(v_.keyring->Reload());
      s = v_.keyring->UnwrapDek(wrapped, epoch, dek);
    }
    return s;
  }

  Status LoadDek(MDB_txn* txn, const KeyId& key_id, SecretBytes* dek) {
    auto v = Get(txn, dbs_.keys, Bytes(key_id));
    if (!v) return Status(Code::kGone, "the data key was destroyed");
    KeyRow row;
    if (!DecodeKeyRow(*v, &row)) return DataLoss("a key row is corrupt");
    return UnwrapRow(row, dek);
  }

  // Destroys one DEK: its wrapped copy, scope pointer and expiry entry, and marks its
  // ciphertext for collection.
  Status DestroyKey(MDB_txn* txn, const KeyId& key_id) {
    auto v = Get(txn, dbs_.keys, Bytes(key_id));
    if (!v) return Status::Ok();
    KeyRow row;
    if (!DecodeKeyRow(*v, &row)) return DataLoss("a key row is corrupt");
    if (auto cur = Get(txn, dbs_.scopes, row.scope); cur && *cur == Bytes(key_id)) {
      VAULT_RETURN_IF_ERROR(Del(txn, dbs_.scopes, row.scope));
    }
    if (row.expires_at != 0) {
      VAULT_RETURN_IF_ERROR(Del(
          txn, dbs_.expiry, U64Bytes(static_cast<std::uint64_t>(row.expires_at)) + Bytes(key_id)));
    }
    VAULT_RETURN_IF_ERROR(Del(txn, dbs_.keys, Bytes(key_id)));
    // The slot is zeroed once this commits (ZeroFreedSlots), not before: an aborted
    // transaction must not lose a key that is still referenced.
    VAULT_RETURN_IF_ERROR(Put(txn, dbs_.slots_freed, U64Bytes(row.slot), ""));
    const std::size_t cut = row.scope.size() >= 8 ? row.scope.size() - 8 : 0;
    VAULT_RETURN_IF_ERROR(
        Put(txn, dbs_.meta, std::string(kGcPrefix) + row.scope.substr(0, cut), ""));
    return SetMetaU64(txn, dbs_, kMetaShredded, MetaU64(txn, dbs_, kMetaShredded) + 1);
  }

  Status Audit(MDB_txn* txn, const Actor& actor, std::string_view action, const Uid* uid,
               std::string_view category, std::string_view outcome) {
    Vault::Impl::AuditTail& tail = v_.audit_tail;
    if (!tail.loaded) {
      tail.seq = MetaU64(txn, dbs_, kMetaAuditSeq);
      tail.head.assign(32, '\0');
      if (auto h = Get(txn, dbs_.meta, kMetaAuditHead); h && h->size() == 32) tail.head = *h;
      tail.loaded = true;
    }
    AuditEntry e;
    e.seq = tail.seq + 1;
    e.at = v_.clock->Now();
    e.actor = actor.id;
    e.action = action;
    e.subject_ref = uid ? Hex(*uid) : "";
    e.category = category;
    e.outcome = outcome;
    const auto hash = ChainHash(tail.head, e);
    RowWriter w;
    w.I64(e.at)
        .Str(e.actor)
        .Str(e.action)
        .Str(e.subject_ref)
        .Str(e.category)
        .Str(e.outcome)
        .Fixed(hash);
    VAULT_RETURN_IF_ERROR(PutAppend(txn, dbs_.audit, U64Bytes(e.seq), AsView(w.bytes())));
    // The meta rows follow in the pre-commit hook (see Vault::Impl::AuditTail).
    tail.seq = e.seq;
    tail.head = Bytes(hash);
    tail.dirty = true;
    return Status::Ok();
  }

  crypto::Digest ChainHash(std::string_view prev, const AuditEntry& e) const {
    RowWriter w;
    w.Str(prev)
        .U64(e.seq)
        .I64(e.at)
        .Str(e.actor)
        .Str(e.action)
        .Str(e.subject_ref)
        .Str(e.category)
        .Str(e.outcome);
    return v_.keyring->audit_mac().Mac(w.bytes());
  }

  bool HasActiveHold(MDB_txn* txn, const Uid& uid) {
    const UnixSeconds now = v_.clock->Now();
    bool held = false;
    (void)ScanPrefix(txn, dbs_.holds, Bytes(uid), [&](std::string_view, std::string_view v) {
      HoldRow h;
      if (DecodeHold(v, &h) && (!h.has_until || h.until > now)) held = true;
      return !held;
    });
    return held;
  }

  // Blind-index entries: 'f' field 0 mac uid reckey -> "", and the reverse 'u' uid reckey
  // field 0 mac -> "" so a record's or subject's entries can be found to delete them.
  Status RemoveBlindEntries(MDB_txn* txn, const std::string& reverse_prefix) {
    std::vector<std::string> rev;
    VAULT_RETURN_IF_ERROR(
        ScanPrefix(txn, dbs_.blind, reverse_prefix, [&](std::string_view k, std::string_view) {
          rev.emplace_back(k);
          return true;
        }));
    for (const auto& k : rev) {
      // k = 'u' uid(16) reckey_mac(16) field 0 mac(32)
      const std::string_view tail = std::string_view(k).substr(1 + 16 + 16);
      const std::string uid = k.substr(1, 16), rk = k.substr(17, 16);
      VAULT_RETURN_IF_ERROR(Del(txn, dbs_.blind, "f" + std::string(tail) + uid + rk));
      VAULT_RETURN_IF_ERROR(Del(txn, dbs_.blind, k));
    }
    return Status::Ok();
  }

  Status AddBlindEntries(MDB_txn* txn, const Category& cat, const Uid& uid,
                         const std::string& record_key, const json& data) {
    const std::string rk = record_key.substr(record_key.size() - 16);
    VAULT_RETURN_IF_ERROR(RemoveBlindEntries(txn, "u" + Bytes(uid) + rk));
    for (const auto& field : cat.index) {
      if (!data.contains(field.name) || data[field.name].is_null()) continue;
      std::string value = data[field.name].is_string() ? data[field.name].get<std::string>()
                                                       : data[field.name].dump();
      // Normalise: trim and lower-case ASCII, so "Alice@X.com " finds "alice@x.com".
      const auto b = value.find_first_not_of(" \t\r\n");
      const auto e = value.find_last_not_of(" \t\r\n");
      value = b == std::string::npos ? "" : value.substr(b, e - b + 1);
      for (auto& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      // As in Pseudonym(): the literal's NUL never reached the message; kept byte for byte.
      const auto mac = v_.keyring->index_mac().Mac("blind" + field.name + '\0' + value);
      const std::string fkey = field.name + '\0' + Bytes(mac);
      if (field.unique) {
        bool taken = false;
        VAULT_RETURN_IF_ERROR(
            ScanPrefix(txn, dbs_.blind, "f" + fkey, [&](std::string_view k, std::string_view) {
              if (k.substr(1 + fkey.size(), 16) != Bytes(uid)) taken = true;
              return !taken;
            }));
        if (taken) {
          return Conflict("field '" + field.name +
                          "' must be unique and another subject has this value");
        }
      }
      VAULT_RETURN_IF_ERROR(Put(txn, dbs_.blind, "f" + fkey + Bytes(uid) + rk, ""));
      VAULT_RETURN_IF_ERROR(Put(txn, dbs_.blind, "u" + Bytes(uid) + rk + fkey, ""));
    }
    return Status::Ok();
  }

  Vault::Impl& v_;
  const Dbs& dbs_;
};

// record_id nullptr: the operation names no record.
Status CheckIds(const std::string& subject_id, const std::string* record_id) {
  if (!IsValidId(subject_id)) {
    return InvalidArgument("subject id must be 1..128 characters of [A-Za-z0-9._:@+-]");
  }
  if (record_id != nullptr && !IsValidId(*record_id)) {
    return InvalidArgument("record id must be 1..128 characters of [A-Za-z0-9._:@+-]");
  }
  return Status::Ok();
}

SubjectState PublicState(StoredState s) {
  switch (s) {
    case StoredState::kActive:
      return SubjectState::kActive;
    case StoredState::kErasurePending:
      return SubjectState::kErasurePending;
    case StoredState::kErased:
      return SubjectState::kErased;
  }
  return SubjectState::kActive;
}

// Audit entries of reads (and of refused writes) are queued without waiting for a commit.
void AuditAsync(Vault::Impl& v, const Actor& actor, const char* action, std::optional<Uid> uid,
                const std::string& category, Code outcome) {
  v.store->WriteAsync([impl = &v, actor, action, uid, category, outcome](MDB_txn* txn) {
    return Ops(*impl).Audit(txn, actor, action, uid ? &*uid : nullptr, category, CodeName(outcome));
  });
}

ErasureView ToView(const std::string& id, const ErasureRow& r) {
  ErasureView v;
  v.erasure_id = id;
  v.state = r.state;
  v.mode = r.mode;
  v.requested_at = r.requested_at;
  v.execute_at = r.execute_at;
  if (r.completed_at != 0) v.completed_at = r.completed_at;
  v.blocked_by_hold = r.blocked_by_hold;
  v.receipt = r.receipt_json.empty() ? json(nullptr) : json::parse(r.receipt_json, nullptr, false);
  return v;
}

}  // namespace

Status ZeroFreedSlots(Vault::Impl& v) {
  const Dbs& dbs = v.store->dbs();
  return v.store->Txn([&](MDB_txn* txn) -> Status {
    // A backup (in this process or another) may still need the freed slots.
    if (static_cast<UnixSeconds>(MetaU64(txn, dbs, kMetaBackupUntil)) > v.clock->Now()) {
      return Status::Ok();
    }
    std::vector<std::string> freed;
    VAULT_RETURN_IF_ERROR(
        ScanPrefix(txn, dbs.slots_freed, "", [&](std::string_view k, std::string_view) {
          freed.emplace_back(k);
          return true;
        }));
    for (const auto& k : freed) {
      VAULT_RETURN_IF_ERROR(v.keyslots->Zero(ReadBigEndian(k)));
      VAULT_RETURN_IF_ERROR(Del(txn, dbs.slots_freed, k));
      VAULT_RETURN_IF_ERROR(Put(txn, dbs.slots_free, k, ""));
    }
    return Status::Ok();  // the pre-commit hook syncs the zeroed slots before commit
  });
}

Status PauseSlotZeroing(Vault::Impl& v, bool pause) {
  const Dbs& dbs = v.store->dbs();
  // Paused for at most an hour, so a backup process that dies cannot pause it for ever.
  return v.store->Write([&](MDB_txn* txn) {
    return SetMetaU64(txn, dbs, kMetaBackupUntil,
                      pause ? static_cast<std::uint64_t>(v.clock->Now() + 3600) : 0);
  });
}

// After a crash: slots past the high-water mark and slots on the free list may hold keys of
// transactions that never committed; slots freed by committed ones may not be zeroed yet.
// Runs inside a write transaction, so no other process is allocating slots meanwhile.
Status RecoverSlots(Vault::Impl& v) {
  const Dbs& dbs = v.store->dbs();
  return v.store->Exclusive([&]() -> Status {
    VAULT_RETURN_IF_ERROR(v.store->Txn([&](MDB_txn* txn) -> Status {
      VAULT_RETURN_IF_ERROR(v.keyslots->Truncate(MetaU64(txn, dbs, kMetaSlotHwm)));
      return ScanPrefix(txn, dbs.slots_free, "", [&](std::string_view k, std::string_view) {
        return v.keyslots->Zero(ReadBigEndian(k)).ok();
      });
    }));
    return ZeroFreedSlots(v);
  });
}

// --- Open ----------------------------------------------------------------------------------

Vault::Vault(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Vault::~Vault() = default;

StatusOr<std::unique_ptr<Vault>> Vault::Open(const Options& options) {
  if (!crypto::EnsureSodium()) return Internal("libsodium failed to initialise");
  if (options.data_dir.empty()) return InvalidArgument("a data directory is required (--data-dir)");
  if (!options.root_key) return InvalidArgument("a root key provider is required");
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->clock = options.clock ? options.clock : std::make_shared<SystemClock>();
  if (options.policy_path.empty()) {
    impl->policy = Policy::Default();
  } else {
    VAULT_ASSIGN_OR_RETURN(impl->policy, Policy::LoadFile(options.policy_path));
  }
  impl->cipher = impl->policy.cipher == "aes256gcm" ? crypto::Aead::kAes256Gcm
                                                    : crypto::Aead::kXChaCha20Poly1305;
  if (!crypto::AeadAvailable(impl->cipher)) {
    return InvalidArgument("the policy asks for aes256gcm but this CPU has no AES-NI");
  }
  VAULT_ASSIGN_OR_RETURN(auto root, options.root_key->Load());

  struct stat st {};
  const bool dir_exists = ::stat(options.data_dir.c_str(), &st) == 0;
  if (!dir_exists) {
    if (!options.create_if_missing) {
      return NotFound("data directory " + options.data_dir + " does not exist (run vault init)");
    }
    if (::mkdir(options.data_dir.c_str(), 0700) != 0) {
      return Internal("cannot create data directory " + options.data_dir);
    }
  }
  const bool keyring_exists = ::stat(impl->keyring_path().c_str(), &st) == 0;
  bool fresh = false;
  if (keyring_exists) {
    VAULT_ASSIGN_OR_RETURN(impl->keyring, Keyring::Open(impl->keyring_path(), std::move(root)));
  } else {
    if (!options.create_if_missing) {
      return NotFound("no keyring in " + options.data_dir + " (run vault init, or restore one)");
    }
    VAULT_ASSIGN_OR_RETURN(
        impl->keyring, Keyring::Create(impl->keyring_path(), std::move(root), impl->clock->Now()));
    fresh = true;
  }
  VAULT_ASSIGN_OR_RETURN(impl->keyslots, KeySlots::Open(impl->keyslots_path(), fresh));
  VAULT_ASSIGN_OR_RETURN(impl->store, Store::Open(impl->store_dir(), options.map_size_bytes,
                                                  options.create_if_missing));
  Impl* p = impl.get();
  const Dbs& dbs = p->store->dbs();
  p->store->SetPreCommitHook([p, &dbs](MDB_txn* txn) -> Status {
    if (p->audit_tail.dirty) {
      VAULT_RETURN_IF_ERROR(SetMetaU64(txn, dbs, kMetaAuditSeq, p->audit_tail.seq));
      VAULT_RETURN_IF_ERROR(Put(txn, dbs.meta, kMetaAuditHead, p->audit_tail.head));
      p->audit_tail.dirty = false;
    }
    return p->keyslots->Sync();
  });
  // Noticing another process's keyring change before wrapping anything keeps every process
  // on the same current epoch.
  p->store->SetBatchHook([p, &dbs](MDB_txn* txn) -> Status {
    p->audit_tail = Vault::Impl::AuditTail{};
    if (MetaU64(txn, dbs, kMetaKeyringSeq) > p->keyring->seq()) return p->keyring->Reload();
    return Status::Ok();
  });

  // The canary ties the keyring to this store: a keyring of another store is refused.
  Ops ops(*p);
  std::optional<std::string> canary;
  VAULT_RETURN_IF_ERROR(p->store->Read([&](MDB_txn* txn) {
    if (auto c = Get(txn, dbs.meta, kMetaCanary)) canary = std::string(*c);
    return Status::Ok();
  }));
  if (canary) {
    if (ops.OpenMeta("canary", "", Span(*canary)) != "vault") {
      return Status(Code::kPermissionDenied,
                    "the keyring in " + options.data_dir + " does not belong to this store");
    }
  } else {
    if (!fresh && !options.create_if_missing) return DataLoss("store has no canary");
    VAULT_RETURN_IF_ERROR(p->store->Write([&](MDB_txn* txn) {
      VAULT_RETURN_IF_ERROR(Put(txn, dbs.meta, kMetaCanary, ops.SealMeta("canary", "", "vault")));
      return SetMetaU64(txn, dbs, kMetaKeyringSeq, p->keyring->seq());
    }));
  }
  VAULT_RETURN_IF_ERROR(RecoverSlots(*p));
  std::unique_ptr<Vault> vault(new Vault(std::move(impl)));
  // Resume an epoch rotation a crash interrupted.
  bool pending = false;
  VAULT_RETURN_IF_ERROR(vault->impl_->store->Read([&](MDB_txn* txn) {
    pending = MetaU64(txn, dbs, kMetaRewrapPending) != 0;
    return Status::Ok();
  }));
  if (pending) {
    auto r = vault->RotateEpoch(Actor{"recovery", Role::kAdmin});
    if (!r.ok()) return r.status();
  }
  return vault;
}

const Policy& Vault::policy() const { return impl_->policy; }
UnixSeconds Vault::Now() const { return impl_->clock->Now(); }

// --- Records -------------------------------------------------------------------------------

StatusOr<PutResult> Vault::PutRecord(const Actor& actor, const std::string& subject_id,
                                     const std::string& category, const std::string& record_id,
                                     const json& data, std::optional<UnixSeconds> event_time) {
  VAULT_RETURN_IF_ERROR(CheckIds(subject_id, &record_id));
  const Category* cat = impl_->policy.Find(category);
  if (cat == nullptr) return PolicyViolation("unknown category '" + category + "'");
  if (!data.is_object()) return InvalidArgument("data must be a JSON object");
  std::vector<std::uint8_t> plaintext;
  std::size_t limited_bytes = 0;  // as format 1 counted: {"d":<data>,"r":"<id>"}
  try {
    std::string text = data.dump();
    limited_bytes = text.size() + record_id.size() + 13;
    plaintext = EncodeRecordPlaintext(record_id, text);
    crypto::WipeString(&text);
  } catch (const json::exception&) {
    return InvalidArgument("data contains invalid UTF-8");
  }
  if (limited_bytes > impl_->options.max_record_bytes) {
    crypto::WipeBytes(plaintext);
    return Status(Code::kTooLarge, "record data exceeds " +
                                       std::to_string(impl_->options.max_record_bytes) + " bytes");
  }
  const UnixSeconds now = impl_->clock->Now();
  UnixSeconds retain_until = 0;
  switch (cat->retention.kind) {
    case Retention::Kind::kUntilErasure:
      break;
    case Retention::Kind::kAfterEvent:
      retain_until = EndOfUtcDay(cat->retention.period.AddTo(event_time.value_or(now)));
      break;
    case Retention::Kind::kAfterCollection:
      retain_until = EndOfUtcDay(cat->retention.period.AddTo(now));
      break;
  }
  if (retain_until > 253402300799) {  // 9999-12-31T23:59:59Z: the last time RFC 3339 can write
    return InvalidArgument("event_time is too far in the future");
  }
  if (retain_until != 0 && retain_until <= now) {
    return PolicyViolation("the event is older than category '" + category +
                           "' may be kept; nothing was stored");
  }
  Ops ops(*impl_);
  const std::string pseudonym = ops.Pseudonym(subject_id);
  PutResult result;
  Uid audit_uid{};
  Status s = impl_->store->Write([&](MDB_txn* txn) -> Status {
    const Dbs& dbs = impl_->store->dbs();
    VAULT_ASSIGN_OR_RETURN(auto found, ops.FindSubject(txn, pseudonym));
    SubjectRow subject;
    if (found) {
      subject = *found;
      if (subject.state != StoredState::kActive) {
        return Status(Code::kGone, "the subject has been erased or is pending erasure");
      }
      if (subject.restricted && actor.role == Role::kApp) {
        return Status(Code::kLocked, "processing of this subject is restricted");
      }
    } else {
      subject.uid = crypto::RandomArray<16>();
      subject.created_at = now;
      KeyId kid;
      SecretBytes dek;
      VAULT_RETURN_IF_ERROR(ops.ScopeDek(txn, ScopeKey(subject.uid, std::string(kSubjectScope), 0),
                                         0, true, &kid, &dek));
      const std::string ctx = "subject" + Bytes(subject.uid);
      subject.sealed_subject_id = crypto::Seal(crypto::EnvelopeKind::kRecord, impl_->cipher, dek,
                                               kid, Span(subject_id), Span(ctx));
      VAULT_RETURN_IF_ERROR(Put(txn, dbs.subjects, pseudonym, EncodeSubject(subject)));
    }
    audit_uid = subject.uid;
    const std::string rkey = ops.RecordKey(subject.uid, category, record_id);
    RecordRow row;
    if (auto existing = Get(txn, dbs.records, rkey)) {
      RecordRow old;
      if (!DecodeRecord(*existing, &old)) return DataLoss("a record row is corrupt");
      row.version = old.version + 1;
      row.created_at = old.created_at;
    } else {
      row.version = 1;
      row.created_at = now;
      result.created = true;
    }
    row.updated_at = now;
    row.has_event_time = event_time.has_value();
    row.event_time = event_time.value_or(0);
    row.retain_until = retain_until;
    SecretBytes dek;
    VAULT_RETURN_IF_ERROR(ops.ScopeDek(txn, ScopeKey(subject.uid, category, retain_until),
                                       retain_until, true, &row.key_id, &dek));
    row.envelope = crypto::Seal(crypto::EnvelopeKind::kRecord, impl_->cipher, dek, row.key_id,
                                plaintext, ops.RecordContext(rkey));
    VAULT_RETURN_IF_ERROR(Put(txn, dbs.records, rkey, EncodeRecord(row)));
    if (!cat->index.empty()) {
      VAULT_RETURN_IF_ERROR(ops.AddBlindEntries(txn, *cat, subject.uid, rkey, data));
    }
    result.version = row.version;
    result.retain_until = retain_until;
    return ops.Audit(txn, actor, "record.put", &subject.uid, category, "ok");
  });
  crypto::WipeBytes(plaintext);
  if (!s.ok()) {
    AuditAsync(*impl_, actor, "record.put", std::nullopt, category, s.code());
    return s;
  }
  return result;
}

namespace {

// Reads one decrypted record; shared by get and list.
Status DecryptRecord(Ops& ops, MDB_txn* txn, const std::string& rkey, const RecordRow& row,
                     bool as_text, RecordView* view) {
  SecretBytes dek;
  VAULT_RETURN_IF_ERROR(ops.LoadDek(txn, row.key_id, &dek));
  std::vector<std::uint8_t> plain;
  if (!crypto::Open(crypto::EnvelopeKind::kRecord, dek, row.envelope, ops.RecordContext(rkey),
                    &plain)) {
    return DataLoss("a record failed authentication (corrupted or tampered)");
  }
  const bool ok = DecodeRecordPlaintext(plain, as_text, view);
  crypto::WipeBytes(plain);
  if (!ok) return DataLoss("a record's plaintext is malformed");
  view->version = row.version;
  view->created_at = row.created_at;
  view->updated_at = row.updated_at;
  if (row.has_event_time) view->event_time = row.event_time;
  view->retain_until = row.retain_until;
  return Status::Ok();
}

}  // namespace

namespace {

// Resolves a subject for reading; applies erasure, restriction and privilege rules.
StatusOr<SubjectRow> SubjectForRead(Ops& ops, MDB_txn* txn, const std::string& pseudonym,
                                    const Category& cat, const ReadOptions& opts,
                                    const Actor& actor) {
  VAULT_ASSIGN_OR_RETURN(auto found, ops.FindSubject(txn, pseudonym));
  if (!found) return NotFound("no such subject");
  if (found->state != StoredState::kActive && !(opts.privileged && cat.survives_erasure)) {
    return Status(Code::kGone, "the subject has been erased or is pending erasure");
  }
  if (found->restricted && !opts.privileged && actor.role == Role::kApp) {
    return Status(Code::kLocked, "processing of this subject is restricted");
  }
  return *found;
}

}  // namespace

StatusOr<RecordView> Vault::GetRecord(const Actor& actor, const std::string& subject_id,
                                      const std::string& category, const std::string& record_id,
                                      ReadOptions opts) {
  VAULT_RETURN_IF_ERROR(CheckIds(subject_id, &record_id));
  const Category* cat = impl_->policy.Find(category);
  if (cat == nullptr) return PolicyViolation("unknown category '" + category + "'");
  Ops ops(*impl_);
  const std::string pseudonym = ops.Pseudonym(subject_id);
  RecordView view;
  std::optional<Uid> uid;
  Status s = impl_->store->Read([&](MDB_txn* txn) -> Status {
    VAULT_ASSIGN_OR_RETURN(SubjectRow subject,
                           SubjectForRead(ops, txn, pseudonym, *cat, opts, actor));
    uid = subject.uid;
    const std::string rkey = ops.RecordKey(subject.uid, category, record_id);
    auto v = Get(txn, impl_->store->dbs().records, rkey);
    if (!v) return NotFound("no such record");
    RecordRow row;
    if (!DecodeRecord(*v, &row)) return DataLoss("a record row is corrupt");
    Status d = DecryptRecord(ops, txn, rkey, row, opts.data_as_text, &view);
    if (d.code() == Code::kGone) return NotFound("the record's retention has ended");
    return d;
  });
  AuditAsync(*impl_, actor, "record.get", uid, category, s.code());
  if (!s.ok()) return s;
  view.subject_id = subject_id;
  view.category = category;
  return view;
}

StatusOr<std::vector<RecordView>> Vault::ListRecords(const Actor& actor,
                                                     const std::string& subject_id,
                                                     const std::string& category,
                                                     ReadOptions opts) {
  VAULT_RETURN_IF_ERROR(CheckIds(subject_id, nullptr));
  const Category* cat = impl_->policy.Find(category);
  if (cat == nullptr) return PolicyViolation("unknown category '" + category + "'");
  Ops ops(*impl_);
  const std::string pseudonym = ops.Pseudonym(subject_id);
  std::vector<RecordView> out;
  std::optional<Uid> uid;
  Status s = impl_->store->Read([&](MDB_txn* txn) -> Status {
    VAULT_ASSIGN_OR_RETURN(SubjectRow subject,
                           SubjectForRead(ops, txn, pseudonym, *cat, opts, actor));
    uid = subject.uid;
    std::vector<std::pair<std::string, RecordRow>> rows;
    Status corrupt;
    VAULT_RETURN_IF_ERROR(ScanPrefix(txn, impl_->store->dbs().records,
                                     CategoryPrefix(subject.uid, category),
                                     [&](std::string_view k, std::string_view v) {
                                       RecordRow row;
                                       if (!DecodeRecord(v, &row)) {
                                         corrupt = DataLoss("a record row is corrupt");
                                         return false;
                                       }
                                       rows.emplace_back(std::string(k), std::move(row));
                                       return true;
                                     }));
    VAULT_RETURN_IF_ERROR(corrupt);
    for (const auto& [k, row] : rows) {
      RecordView view;
      Status d = DecryptRecord(ops, txn, k, row, opts.data_as_text, &view);
      if (d.code() == Code::kGone) continue;  // shredded, awaiting collection
      VAULT_RETURN_IF_ERROR(d);
      view.subject_id = subject_id;
      view.category = category;
      out.push_back(std::move(view));
    }
    return Status::Ok();
  });
  AuditAsync(*impl_, actor, "record.list", uid, category, s.code());
  if (!s.ok()) return s;
  std::sort(out.begin(), out.end(),
            [](const RecordView& a, const RecordView& b) { return a.record_id < b.record_id; });
  return out;
}

Status Vault::DeleteRecord(const Actor& actor, const std::string& subject_id,
                           const std::string& category, const std::string& record_id) {
  VAULT_RETURN_IF_ERROR(CheckIds(subject_id, &record_id));
  const Category* cat = impl_->policy.Find(category);
  if (cat == nullptr) return PolicyViolation("unknown category '" + category + "'");
  Ops ops(*impl_);
  const std::string pseudonym = ops.Pseudonym(subject_id);
  Status s = impl_->store->Write([&](MDB_txn* txn) -> Status {
    const Dbs& dbs = impl_->store->dbs();
    VAULT_ASSIGN_OR_RETURN(auto subject, ops.FindSubject(txn, pseudonym));
    if (!subject) return NotFound("no such subject");
    if (subject->state != StoredState::kActive && !cat->survives_erasure) {
      return Status(Code::kGone, "the subject has been erased or is pending erasure");
    }
    if (subject->restricted && actor.role == Role::kApp) {
      return Status(Code::kLocked, "processing of this subject is restricted");
    }
    if (ops.HasActiveHold(txn, subject->uid)) {
      return Status(Code::kLocked, "a legal hold suspends deletion of this subject's data");
    }
    const std::string rkey = ops.RecordKey(subject->uid, category, record_id);
    auto v = Get(txn, dbs.records, rkey);
    if (!v) return NotFound("no such record");
    RecordRow victim;
    if (!DecodeRecord(*v, &victim)) return DataLoss("a record row is corrupt");
    auto kv = Get(txn, dbs.keys, Bytes(victim.key_id));
    if (!kv) {  // already shredded: only the ciphertext is left
      return Del(txn, dbs.records, rkey);
    }
    KeyRow old_key;
    if (!DecodeKeyRow(*kv, &old_key)) return DataLoss("a key row is corrupt");
    SecretBytes old_dek;
    VAULT_RETURN_IF_ERROR(ops.LoadDek(txn, victim.key_id, &old_dek));
    VAULT_RETURN_IF_ERROR(Del(txn, dbs.records, rkey));
    VAULT_RETURN_IF_ERROR(
        ops.RemoveBlindEntries(txn, "u" + Bytes(subject->uid) + rkey.substr(rkey.size() - 16)));

    // Rekey: the survivors of the scope move to a fresh DEK, then the old one is destroyed.
    std::vector<std::pair<std::string, RecordRow>> survivors;
    Status corrupt;
    VAULT_RETURN_IF_ERROR(ScanPrefix(txn, dbs.records, CategoryPrefix(subject->uid, category),
                                     [&](std::string_view k, std::string_view val) {
                                       RecordRow row;
                                       if (!DecodeRecord(val, &row)) {
                                         corrupt = DataLoss("a record row is corrupt");
                                         return false;
                                       }
                                       if (row.key_id == victim.key_id) {
                                         survivors.emplace_back(std::string(k), std::move(row));
                                       }
                                       return true;
                                     }));
    VAULT_RETURN_IF_ERROR(corrupt);
    VAULT_RETURN_IF_ERROR(Del(txn, dbs.scopes, old_key.scope));
    if (!survivors.empty()) {
      KeyId new_id;
      SecretBytes new_dek;
      VAULT_RETURN_IF_ERROR(
          ops.ScopeDek(txn, old_key.scope, old_key.expires_at, true, &new_id, &new_dek));
      for (auto& [k, row] : survivors) {
        std::vector<std::uint8_t> plain;
        if (!crypto::Open(crypto::EnvelopeKind::kRecord, old_dek, row.envelope,
                          ops.RecordContext(k), &plain)) {
          return DataLoss("a record failed authentication during rekeying");
        }
        row.key_id = new_id;
        row.envelope = crypto::Seal(crypto::EnvelopeKind::kRecord, impl_->cipher, new_dek, new_id,
                                    plain, ops.RecordContext(k));
        crypto::WipeBytes(plain);
        VAULT_RETURN_IF_ERROR(Put(txn, dbs.records, k, EncodeRecord(row)));
      }
    }
    VAULT_RETURN_IF_ERROR(ops.DestroyKey(txn, victim.key_id));
    return ops.Audit(txn, actor, "record.delete", &subject->uid, category, "ok");
  });
  if (!s.ok()) return s;
  return impl_->store->Exclusive([this] { return ZeroFreedSlots(*impl_); });
}

StatusOr<SubjectSummary> Vault::GetSubject(const Actor& actor, const std::string& subject_id) {
  VAULT_RETURN_IF_ERROR(CheckIds(subject_id, nullptr));
  Ops ops(*impl_);
  const std::string pseudonym = ops.Pseudonym(subject_id);
  SubjectSummary sum;
  sum.subject_id = subject_id;
  std::optional<Uid> uid;
  Status s = impl_->store->Read([&](MDB_txn* txn) -> Status {
    const Dbs& dbs = impl_->store->dbs();
    VAULT_ASSIGN_OR_RETURN(auto subject, ops.FindSubject(txn, pseudonym));
    if (!subject) return NotFound("no such subject");
    uid = subject->uid;
    sum.state = PublicState(subject->state);
    sum.restricted = subject->restricted;
    for (const auto& [name, cat] : impl_->policy.categories) {
      std::uint64_t n = 0;
      VAULT_RETURN_IF_ERROR(ScanPrefix(txn, dbs.records, CategoryPrefix(subject->uid, name),
                                       [&](std::string_view, std::string_view v) {
                                         RecordRow row;
                                         if (DecodeRecord(v, &row) &&
                                             Get(txn, dbs.keys, Bytes(row.key_id)))
                                           ++n;
                                         return true;
                                       }));
      sum.records_by_category[name] = n;
    }
    VAULT_RETURN_IF_ERROR(ScanPrefix(txn, dbs.holds, Bytes(subject->uid),
                                     [&](std::string_view k, std::string_view v) {
                                       HoldRow h;
                                       if (!DecodeHold(v, &h)) return true;
                                       HoldView hv;
                                       hv.hold_id = std::string(k.substr(16));
                                       hv.reason = ops.OpenMeta("hold", k, h.sealed_reason);
                                       hv.placed_at = h.placed_at;
                                       if (h.has_until) hv.until = h.until;
                                       sum.legal_holds.push_back(hv);
                                       return true;
                                     }));
    if (!subject->erasure_id.empty()) {
      auto id = crypto::FromHex(subject->erasure_id);
      if (id) {
        if (auto v = Get(txn, dbs.erasures, Bytes(*id))) {
          ErasureRow row;
          if (DecodeErasure(*v, &row)) sum.erasure = ToView(subject->erasure_id, row);
        }
      }
    }
    return Status::Ok();
  });
  AuditAsync(*impl_, actor, "subject.get", uid, "", s.code());
  if (!s.ok()) return s;
  return sum;
}

// --- Erasure -------------------------------------------------------------------------------

namespace {

UnixSeconds UnrecoverableAfter(const Vault::Impl& v, UnixSeconds now) {
  // Copies of a destroyed DEK survive in free pages and backups wrapped under the current
  // epoch KEK, which is retired at the next rotation and destroyed one horizon later.
  UnixSeconds retire = now;
  for (const auto& e : v.keyring->Epochs()) {
    if (e.id == v.keyring->current_epoch())
      retire = std::max(now, v.policy.epoch.AddTo(e.created_at));
  }
  return v.policy.horizon.AddTo(retire);
}

// Executes a scheduled erasure inside txn. Sets *executed; leaves it false when a legal hold
// blocks it (the row then says so).
Status ExecuteErasure(Vault::Impl& v, Ops& ops, MDB_txn* txn, const Actor& actor,
                      const std::string& erasure_key, ErasureRow* row, bool* executed) {
  const Dbs& dbs = v.store->dbs();
  const UnixSeconds now = v.clock->Now();
  *executed = false;
  if (ops.HasActiveHold(txn, row->uid)) {
    if (!row->blocked_by_hold) {
      row->blocked_by_hold = true;
      VAULT_RETURN_IF_ERROR(Put(txn, dbs.erasures, erasure_key, EncodeErasure(*row)));
      VAULT_RETURN_IF_ERROR(ops.Audit(txn, actor, "erasure.blocked_by_hold", &row->uid, "", "ok"));
    }
    return Status::Ok();
  }
  VAULT_ASSIGN_OR_RETURN(auto subject, ops.FindSubject(txn, row->pseudonym));
  if (!subject) return DataLoss("an erasure names a subject that does not exist");

  // Every scope of a category that does not survive erasure (or that the policy no longer
  // declares) loses its key; surviving categories keep theirs until their own retention.
  std::map<std::string, std::vector<std::string>> shredded;
  std::map<std::string, UnixSeconds> retained;
  std::vector<KeyId> doomed;
  VAULT_RETURN_IF_ERROR(
      ScanPrefix(txn, dbs.scopes, Bytes(row->uid), [&](std::string_view k, std::string_view kid) {
        const auto rest = k.substr(16);
        const std::string category(rest.substr(0, rest.find('\0')));
        const Category* cat = v.policy.Find(category);
        if (cat != nullptr && cat->survives_erasure) {
          const auto bucket =
              static_cast<UnixSeconds>(ReadBigEndian(rest.substr(rest.find('\0') + 1)));
          retained[category] = std::max(retained[category], bucket);
        } else if (kid.size() == 16) {
          KeyId id;
          std::memcpy(id.data(), kid.data(), 16);
          doomed.push_back(id);
          shredded[category].push_back(Hex(id));
        }
        return true;
      }));
  for (const auto& id : doomed) VAULT_RETURN_IF_ERROR(ops.DestroyKey(txn, id));
  VAULT_RETURN_IF_ERROR(ops.RemoveBlindEntries(txn, "u" + Bytes(row->uid)));

  subject->state = StoredState::kErased;
  subject->sealed_subject_id.clear();
  VAULT_RETURN_IF_ERROR(Put(txn, dbs.subjects, row->pseudonym, EncodeSubject(*subject)));

  json receipt = {{"erasure_id", Hex(Span(erasure_key))},
                  {"subject_ref", Hex(row->uid)},
                  {"requested_at", FormatRfc3339(row->requested_at)},
                  {"completed_at", FormatRfc3339(now)},
                  {"mode", row->mode},
                  {"delayed_by_legal_hold", row->blocked_by_hold},
                  {"shredded", json::array()},
                  {"retained", json::array()},
                  {"unrecoverable_after", FormatRfc3339(UnrecoverableAfter(v, now))}};
  for (const auto& [category, ids] : shredded) {
    receipt["shredded"].push_back({{"category", category}, {"key_ids", ids}});
  }
  for (const auto& [category, until] : retained) {
    const Category* cat = v.policy.Find(category);
    receipt["retained"].push_back({{"category", category},
                                   {"until", FormatRfc3339(until)},
                                   {"legal_basis", LegalBasisName(cat->legal_basis)}});
  }
  SignReceipt(v.keyring->signing_key(), &receipt);
  row->state = "completed";
  row->completed_at = now;
  row->receipt_json = receipt.dump();
  VAULT_RETURN_IF_ERROR(Put(txn, dbs.erasures, erasure_key, EncodeErasure(*row)));
  VAULT_RETURN_IF_ERROR(Del(txn, dbs.erasure_due,
                            U64Bytes(static_cast<std::uint64_t>(row->execute_at)) + erasure_key));
  *executed = true;
  return ops.Audit(txn, actor, "erasure.execute", &row->uid, "", "ok");
}

}  // namespace

StatusOr<ErasureView> Vault::RequestErasure(const Actor& actor, const std::string& subject_id,
                                            const std::string& mode, const std::string& reason) {
  VAULT_RETURN_IF_ERROR(CheckIds(subject_id, nullptr));
  if (mode != "grace" && mode != "immediate") {
    return InvalidArgument("mode must be \"grace\" or \"immediate\"");
  }
  if (reason.size() > 4096) return InvalidArgument("reason is longer than 4096 bytes");
  Ops ops(*impl_);
  const std::string pseudonym = ops.Pseudonym(subject_id);
  ErasureView view;
  bool executed = false;
  Status s = impl_->store->Write([&](MDB_txn* txn) -> Status {
    const Dbs& dbs = impl_->store->dbs();
    const UnixSeconds now = impl_->clock->Now();
    VAULT_ASSIGN_OR_RETURN(auto subject, ops.FindSubject(txn, pseudonym));
    if (!subject) return NotFound("no such subject");
    if (subject->state == StoredState::kErased)
      return Status(Code::kGone, "the subject is already erased");
    if (subject->state == StoredState::kErasurePending) {
      return Conflict("an erasure is already scheduled for this subject");
    }
    const auto id = crypto::RandomArray<16>();
    const std::string key = Bytes(id);
    ErasureRow row;
    row.uid = subject->uid;
    row.pseudonym = pseudonym;
    row.state = "scheduled";
    row.mode = mode;
    row.requested_at = now;
    row.execute_at = mode == "immediate" ? now : impl_->policy.erasure_grace.AddTo(now);
    subject->state = StoredState::kErasurePending;
    subject->erasure_id = Hex(id);
    VAULT_RETURN_IF_ERROR(Put(txn, dbs.subjects, pseudonym, EncodeSubject(*subject)));
    VAULT_RETURN_IF_ERROR(Put(txn, dbs.erasures, key, EncodeErasure(row)));
    VAULT_RETURN_IF_ERROR(
        Put(txn, dbs.erasures, key + "/reason", ops.SealMeta("erasure", key, reason)));
    VAULT_RETURN_IF_ERROR(
        Put(txn, dbs.erasure_due, U64Bytes(static_cast<std::uint64_t>(row.execute_at)) + key, ""));
    VAULT_RETURN_IF_ERROR(ops.Audit(txn, actor, "erasure.request", &subject->uid, "", "ok"));
    if (mode == "immediate") {
      VAULT_RETURN_IF_ERROR(ExecuteErasure(*impl_, ops, txn, actor, key, &row, &executed));
    }
    view = ToView(Hex(id), row);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  if (executed) {
    VAULT_RETURN_IF_ERROR(impl_->store->Exclusive([this] { return ZeroFreedSlots(*impl_); }));
  }
  return view;
}

StatusOr<ErasureView> Vault::CancelErasure(const Actor& actor, const std::string& subject_id) {
  VAULT_RETURN_IF_ERROR(CheckIds(subject_id, nullptr));
  Ops ops(*impl_);
  const std::string pseudonym = ops.Pseudonym(subject_id);
  ErasureView view;
  Status s = impl_->store->Write([&](MDB_txn* txn) -> Status {
    const Dbs& dbs = impl_->store->dbs();
    VAULT_ASSIGN_OR_RETURN(auto subject, ops.FindSubject(txn, pseudonym));
    if (!subject) return NotFound("no such subject");
    if (subject->state == StoredState::kErased) {
      return Conflict("the erasure has already been executed and cannot be cancelled");
    }
    if (subject->state != StoredState::kErasurePending || subject->erasure_id.empty()) {
      return NotFound("no erasure is scheduled for this subject");
    }
    const std::string key = Bytes(*crypto::FromHex(subject->erasure_id));
    auto v = Get(txn, dbs.erasures, key);
    ErasureRow row;
    if (!v || !DecodeErasure(*v, &row)) return DataLoss("an erasure row is missing or corrupt");
    row.state = "cancelled";
    VAULT_RETURN_IF_ERROR(Put(txn, dbs.erasures, key, EncodeErasure(row)));
    VAULT_RETURN_IF_ERROR(
        Del(txn, dbs.erasure_due, U64Bytes(static_cast<std::uint64_t>(row.execute_at)) + key));
    subject->state = StoredState::kActive;
    VAULT_RETURN_IF_ERROR(Put(txn, dbs.subjects, pseudonym, EncodeSubject(*subject)));
    view = ToView(subject->erasure_id, row);
    return ops.Audit(txn, actor, "erasure.cancel", &subject->uid, "", "ok");
  });
  if (!s.ok()) return s;
  return view;
}

StatusOr<ErasureView> Vault::GetErasure(const std::string& erasure_id) {
  auto id = crypto::FromHex(erasure_id);
  if (!id || id->size() != 16) return NotFound("no such erasure");
  ErasureView view;
  VAULT_RETURN_IF_ERROR(impl_->store->Read([&](MDB_txn* txn) -> Status {
    auto v = Get(txn, impl_->store->dbs().erasures, Bytes(*id));
    if (!v) return NotFound("no such erasure");
    ErasureRow row;
    if (!DecodeErasure(*v, &row)) return DataLoss("an erasure row is corrupt");
    view = ToView(erasure_id, row);
    return Status::Ok();
  }));
  return view;
}

StatusOr<HoldView> Vault::PlaceLegalHold(const Actor& actor, const std::string& subject_id,
                                         const std::string& reason,
                                         std::optional<UnixSeconds> until) {
  VAULT_RETURN_IF_ERROR(CheckIds(subject_id, nullptr));
  if (reason.empty() || reason.size() > 4096)
    return InvalidArgument("reason must be 1..4096 bytes");
  const UnixSeconds now = impl_->clock->Now();
  if (until && *until <= now) return InvalidArgument("until must be in the future");
  Ops ops(*impl_);
  const std::string pseudonym = ops.Pseudonym(subject_id);
  HoldView hv;
  Status s = impl_->store->Write([&](MDB_txn* txn) -> Status {
    VAULT_ASSIGN_OR_RETURN(auto subject, ops.FindSubject(txn, pseudonym));
    if (!subject) return NotFound("no such subject");
    if (subject->state == StoredState::kErased) return Status(Code::kGone, "the subject is erased");
    hv.hold_id = Hex(crypto::RandomArray<8>());
    hv.reason = reason;
    hv.placed_at = now;
    hv.until = until;
    const std::string key = Bytes(subject->uid) + hv.hold_id;
    HoldRow row{now, until.has_value(), until.value_or(0), ops.SealMeta("hold", key, reason)};
    VAULT_RETURN_IF_ERROR(Put(txn, impl_->store->dbs().holds, key, EncodeHold(row)));
    return ops.Audit(txn, actor, "hold.place", &subject->uid, "", "ok");
  });
  if (!s.ok()) return s;
  return hv;
}

Status Vault::ReleaseLegalHold(const Actor& actor, const std::string& subject_id,
                               const std::string& hold_id) {
  VAULT_RETURN_IF_ERROR(CheckIds(subject_id, nullptr));
  if (hold_id.size() != 16 || !crypto::FromHex(hold_id)) return NotFound("no such legal hold");
  Ops ops(*impl_);
  const std::string pseudonym = ops.Pseudonym(subject_id);
  return impl_->store->Write([&](MDB_txn* txn) -> Status {
    VAULT_ASSIGN_OR_RETURN(auto subject, ops.FindSubject(txn, pseudonym));
    if (!subject) return NotFound("no such subject");
    const std::string key = Bytes(subject->uid) + hold_id;
    if (!Get(txn, impl_->store->dbs().holds, key)) return NotFound("no such legal hold");
    VAULT_RETURN_IF_ERROR(Del(txn, impl_->store->dbs().holds, key));
    return ops.Audit(txn, actor, "hold.release", &subject->uid, "", "ok");
  });
}

ReceiptPublicKey Vault::ReceiptKey() const {
  const auto pk = crypto::SigningPublicKey(impl_->keyring->signing_key());
  return {SigningKeyId(impl_->keyring->signing_key()), crypto::ToBase64(*pk)};
}

bool Vault::VerifyReceipt(const json& receipt, const std::string& public_key_base64) {
  return VerifyReceiptSignature(receipt, public_key_base64);
}

// --- Keys and retention ------------------------------------------------------------------------

namespace {

// Makes the keyring change visible to other processes sharing the store.
Status PublishKeyringSeq(Vault::Impl& v, MDB_txn* txn) {
  return SetMetaU64(txn, v.store->dbs(), kMetaKeyringSeq, v.keyring->seq());
}

// Rewraps every DEK not yet under the current epoch, in steps of Options::rewrap_batch keys.
// REQUIRES: on the writer thread (inside Store::Exclusive).
Status RewrapAll(Vault::Impl& v, const ProgressFn& progress, std::uint64_t* rewrapped) {
  const Dbs& dbs = v.store->dbs();
  std::uint64_t total = 0, done = 0;
  VAULT_RETURN_IF_ERROR(v.store->Read([&](MDB_txn* txn) {
    total = CountEntries(txn, dbs.keys);
    return Status::Ok();
  }));
  std::string next;  // resume key
  bool finished = false;
  while (!finished) {
    // Each step is its own exclusive turn of the writer thread, so ordinary writes go on
    // between steps instead of waiting for the whole rotation.
    VAULT_RETURN_IF_ERROR(v.store->Exclusive([&]() -> Status {
      VAULT_RETURN_IF_ERROR(v.store->Txn([&](MDB_txn* txn) -> Status {
        Ops ops(v);
        const std::uint64_t current = v.keyring->current_epoch();
        MDB_cursor* c = nullptr;
        if (mdb_cursor_open(txn, dbs.keys, &c) != 0) return Internal("cursor");
        MDB_val k{next.size(), next.data()}, val;
        int rc = mdb_cursor_get(c, &k, &val, next.empty() ? MDB_FIRST : MDB_SET_RANGE);
        std::size_t n = 0;
        Status st;
        while (rc == 0 && n < std::max<std::size_t>(1, v.options.rewrap_batch)) {
          KeyRow row;
          const std::string_view kv(static_cast<const char*>(val.mv_data), val.mv_size);
          if (!DecodeKeyRow(kv, &row)) {
            st = DataLoss("a key row is corrupt");
            break;
          }
          if (row.epoch != current) {
            // Copy-on-write at the slot level: the new wrap goes to a fresh slot and the old
            // slot is zeroed after commit, so a crash never leaves a half-written key.
            SecretBytes dek;
            st = ops.UnwrapRow(row, &dek);
            if (!st.ok()) break;
            KeyId id{};
            std::memcpy(id.data(), k.mv_data, std::min<std::size_t>(16, k.mv_size));
            st = Put(txn, dbs.slots_freed, U64Bytes(row.slot), "");
            if (st.ok()) st = ops.WrapIntoNewSlot(txn, dek, id, &row);
            if (!st.ok()) break;
            const std::string enc = EncodeKeyRow(row);
            MDB_val nv{enc.size(), const_cast<char*>(enc.data())};
            rc = mdb_cursor_put(c, &k, &nv, MDB_CURRENT);
            if (rc != 0) {
              st = Internal(std::string("rewrap: ") + mdb_strerror(rc));
              break;
            }
            ++*rewrapped;
          }
          ++n;
          ++done;
          rc = mdb_cursor_get(c, &k, &val, MDB_NEXT);
        }
        if (st.ok()) {
          if (rc == 0) {
            next.assign(static_cast<const char*>(k.mv_data), k.mv_size);
          } else {
            finished = true;
          }
        }
        mdb_cursor_close(c);
        return st;
      }));
      return ZeroFreedSlots(v);
    }));
    if (progress) progress(std::min(done, total), total);
  }
  return Status::Ok();
}

// Destroys epoch KEKs retired at least one horizon ago, unless a rewrap is pending (some DEK
// may still be wrapped under a retired epoch).
Status DestroyExpiredEpochs(Vault::Impl& v, const Actor& actor, std::vector<std::uint64_t>* out) {
  const Dbs& dbs = v.store->dbs();
  return v.store->Exclusive([&]() {
    return v.store->Txn([&](MDB_txn* txn) -> Status {
      if (MetaU64(txn, dbs, kMetaRewrapPending) != 0) return Status::Ok();
      const UnixSeconds now = v.clock->Now();
      std::vector<std::uint64_t> doomed;
      for (const auto& e : v.keyring->Epochs()) {
        if (!e.destroyed && e.retired_at != 0 && v.policy.horizon.AddTo(e.retired_at) <= now) {
          doomed.push_back(e.id);
        }
      }
      if (doomed.empty()) return Status::Ok();
      VAULT_RETURN_IF_ERROR(v.keyring->DestroyEpochs(doomed, now));
      VAULT_RETURN_IF_ERROR(PublishKeyringSeq(v, txn));
      out->insert(out->end(), doomed.begin(), doomed.end());
      return Ops(v).Audit(txn, actor, "epoch.destroy", nullptr, "", "ok");
    });
  });
}

// Starts a new epoch (or, with start false, finishes a pending rewrap), rewraps every DEK
// under the current epoch, and destroys epochs past the horizon. Safe against a concurrent
// rotation in another process: only the rotation whose epoch is still current when its
// rewrap ends clears the pending flag, so no epoch is destroyed while some DEK still needs it.
Status RotateSteps(Vault::Impl& v, const Actor& actor, const ProgressFn& progress, bool start,
                   RotationResult* result) {
  const Dbs& dbs = v.store->dbs();
  std::uint64_t target = v.keyring->current_epoch();
  if (start) {
    VAULT_RETURN_IF_ERROR(v.store->Exclusive([&]() {
      return v.store->Txn([&](MDB_txn* txn) -> Status {
        // The flag and the new epoch commit together; if the keyring write succeeds and we
        // crash before commit, the keyring is ahead of the store and the next rotation
        // rewraps anyway.
        VAULT_ASSIGN_OR_RETURN(target, v.keyring->StartEpoch(v.clock->Now()));
        VAULT_RETURN_IF_ERROR(SetMetaU64(txn, dbs, kMetaRewrapPending, 1));
        VAULT_RETURN_IF_ERROR(PublishKeyringSeq(v, txn));
        return Ops(v).Audit(txn, actor, "epoch.rotate", nullptr, "", "ok");
      });
    }));
  }
  VAULT_RETURN_IF_ERROR(RewrapAll(v, progress, &result->rewrapped));
  VAULT_RETURN_IF_ERROR(v.store->Exclusive([&]() {
    return v.store->Txn([&](MDB_txn* txn) -> Status {
      if (v.keyring->current_epoch() != target) return Status::Ok();  // a newer rotation runs
      return SetMetaU64(txn, dbs, kMetaRewrapPending, 0);
    });
  }));
  VAULT_RETURN_IF_ERROR(DestroyExpiredEpochs(v, actor, &result->destroyed_epochs));
  result->epoch = v.keyring->current_epoch();
  return Status::Ok();
}

bool RewrapPending(Vault::Impl& v) {
  bool pending = false;
  (void)v.store->Read([&](MDB_txn* txn) {
    pending = MetaU64(txn, v.store->dbs(), kMetaRewrapPending) != 0;
    return Status::Ok();
  });
  return pending;
}

}  // namespace

StatusOr<RotationResult> Vault::RotateEpoch(const Actor& actor, const ProgressFn& progress) {
  std::lock_guard lock(impl_->rotation_mu);
  RotationResult result;
  // A rotation a crash interrupted is finished first; "recovery" only finishes it.
  if (RewrapPending(*impl_)) {
    VAULT_RETURN_IF_ERROR(RotateSteps(*impl_, actor, progress, false, &result));
  }
  if (actor.id == "recovery") return result;
  VAULT_RETURN_IF_ERROR(RotateSteps(*impl_, actor, progress, true, &result));
  return result;
}

StatusOr<SweepResult> Vault::Sweep(const Actor& actor) {
  SweepResult result;
  Impl& v = *impl_;
  const Dbs& dbs = v.store->dbs();
  VAULT_RETURN_IF_ERROR(v.store->Exclusive([&]() -> Status {
    const UnixSeconds now = v.clock->Now();
    Ops ops(v);
    // 1. Erasures whose grace period is over (and held ones, which stay due).
    VAULT_RETURN_IF_ERROR(v.store->Txn([&](MDB_txn* txn) -> Status {
      std::vector<std::string> due;
      VAULT_RETURN_IF_ERROR(
          ScanPrefix(txn, dbs.erasure_due, "", [&](std::string_view k, std::string_view) {
            if (k.size() != 24 || static_cast<UnixSeconds>(ReadBigEndian(k)) > now) return false;
            due.emplace_back(k.substr(8));
            return true;
          }));
      for (const auto& key : due) {
        auto val = Get(txn, dbs.erasures, key);
        ErasureRow row;
        if (!val || !DecodeErasure(*val, &row))
          return DataLoss("an erasure row is missing or corrupt");
        bool executed = false;
        VAULT_RETURN_IF_ERROR(ExecuteErasure(v, ops, txn, actor, key, &row, &executed));
        if (executed) ++result.erasures_executed;
      }
      return Status::Ok();
    }));
    // 2. Buckets whose retention has ended: destroy their keys (O(keys), not O(records)).
    bool more = true;
    while (more) {
      more = false;
      VAULT_RETURN_IF_ERROR(v.store->Txn([&](MDB_txn* txn) -> Status {
        std::vector<std::pair<KeyId, std::string>> expired;
        VAULT_RETURN_IF_ERROR(
            ScanPrefix(txn, dbs.expiry, "", [&](std::string_view k, std::string_view) {
              if (k.size() != 24 || static_cast<UnixSeconds>(ReadBigEndian(k)) > now) return false;
              if (expired.size() >= kShredBatch) {
                more = true;
                return false;
              }
              KeyId id;
              std::memcpy(id.data(), k.data() + 8, 16);
              expired.emplace_back(id, std::string(k));
              return true;
            }));
        std::uint64_t held = 0;
        for (const auto& [id, ekey] : expired) {
          auto kv = Get(txn, dbs.keys, Bytes(id));
          KeyRow row;
          if (kv && DecodeKeyRow(*kv, &row) && row.scope.size() >= 16) {
            Uid uid;
            std::memcpy(uid.data(), row.scope.data(), 16);
            if (ops.HasActiveHold(txn, uid)) {  // a hold suspends retention, visibly
              ++held;
              continue;
            }
            VAULT_RETURN_IF_ERROR(ops.Audit(txn, actor, "retention.shred", &uid,
                                            row.scope.substr(16, row.scope.find('\0', 16) - 16),
                                            "ok"));
          }
          VAULT_RETURN_IF_ERROR(ops.DestroyKey(txn, id));
          VAULT_RETURN_IF_ERROR(Del(txn, dbs.expiry, ekey));
          ++result.scopes_shredded;
        }
        if (held > 0 && held == expired.size()) more = false;
        return Status::Ok();
      }));
    }
    // 3. Collect ciphertext whose key is gone.
    VAULT_RETURN_IF_ERROR(v.store->Txn([&](MDB_txn* txn) -> Status {
      std::vector<std::string> marks;
      VAULT_RETURN_IF_ERROR(
          ScanPrefix(txn, dbs.meta, kGcPrefix, [&](std::string_view k, std::string_view) {
            marks.emplace_back(k);
            return true;
          }));
      for (const auto& mark : marks) {
        std::vector<std::string> dead;
        VAULT_RETURN_IF_ERROR(
            ScanPrefix(txn, dbs.records, std::string_view(mark).substr(kGcPrefix.size()),
                       [&](std::string_view k, std::string_view val) {
                         RecordRow row;
                         if (DecodeRecord(val, &row) && !Get(txn, dbs.keys, Bytes(row.key_id))) {
                           dead.emplace_back(k);
                         }
                         return true;
                       }));
        for (const auto& k : dead) VAULT_RETURN_IF_ERROR(Del(txn, dbs.records, k));
        result.records_collected += dead.size();
        VAULT_RETURN_IF_ERROR(Del(txn, dbs.meta, mark));
      }
      return Status::Ok();
    }));
    return Status::Ok();
  }));
  // 4. Epochs: rotate when the current one is older than the policy's epoch length, and
  // destroy KEKs past the horizon. Outside the exclusive section: a rotation takes turns
  // with ordinary writes.
  {
    std::lock_guard lock(v.rotation_mu);
    RotationResult rot;
    const UnixSeconds now = v.clock->Now();
    UnixSeconds current_created = now;
    for (const auto& e : v.keyring->Epochs()) {
      if (e.id == v.keyring->current_epoch()) current_created = e.created_at;
    }
    const bool pending = RewrapPending(v);
    if (pending || v.policy.epoch.AddTo(current_created) <= now) {
      VAULT_RETURN_IF_ERROR(RotateSteps(v, actor, {}, !pending, &rot));
      result.epoch_rotated = !pending;
    } else {
      VAULT_RETURN_IF_ERROR(DestroyExpiredEpochs(v, actor, &rot.destroyed_epochs));
    }
    result.destroyed_epochs = rot.destroyed_epochs;
  }
  VAULT_RETURN_IF_ERROR(v.store->Exclusive([&v] { return ZeroFreedSlots(v); }));
  return result;
}

// --- Tokens -----------------------------------------------------------------------------------

StatusOr<NewToken> Vault::CreateToken(const Actor& actor, Role role,
                                      const std::vector<std::string>& purposes,
                                      const std::string& name) {
  if (role == Role::kApp && purposes.empty()) {
    return InvalidArgument("an app token needs at least one purpose");
  }
  if (role != Role::kApp && !purposes.empty()) {
    return InvalidArgument("only app tokens carry purposes");
  }
  if (purposes.size() > 32) return InvalidArgument("at most 32 purposes");
  for (const auto& p : purposes) {
    if (p.empty() || p.size() > 64 || !std::all_of(p.begin(), p.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        })) {
      return InvalidArgument("purposes must match [a-z0-9_-]{1,64}");
    }
  }
  if (name.size() > 256) return InvalidArgument("name is longer than 256 bytes");
  NewToken t;
  t.info.token_id = Hex(crypto::RandomArray<8>());
  t.info.role = role;
  t.info.purposes = purposes;
  t.info.name = name;
  t.info.created_at = impl_->clock->Now();
  t.secret = "vt_" + t.info.token_id + "_" + crypto::ToBase64Url(crypto::RandomArray<32>());
  Ops ops(*impl_);
  TokenRow row{role, purposes, ops.SealMeta("token", t.info.token_id, name), t.info.created_at,
               crypto::Sha256(t.secret)};
  VAULT_RETURN_IF_ERROR(impl_->store->Write([&](MDB_txn* txn) -> Status {
    VAULT_RETURN_IF_ERROR(Put(txn, impl_->store->dbs().tokens, t.info.token_id, EncodeToken(row)));
    return ops.Audit(txn, actor, std::string("token.create.") + RoleName(role), nullptr, "", "ok");
  }));
  return t;
}

StatusOr<TokenInfo> Vault::Authenticate(const std::string& bearer) const {
  Status denied(Code::kUnauthenticated, "the bearer token is not valid");
  // vt_<16 hex>_<43 base64url>
  if (bearer.size() != 3 + 16 + 1 + 43 || bearer.compare(0, 3, "vt_") != 0 || bearer[19] != '_') {
    return denied;
  }
  const std::string id = bearer.substr(3, 16);
  if (!crypto::FromHex(id)) return denied;
  TokenInfo info;
  Ops ops(*impl_);
  Status s = impl_->store->Read([&](MDB_txn* txn) -> Status {
    auto v = Get(txn, impl_->store->dbs().tokens, id);
    if (!v) return denied;
    TokenRow row;
    if (!DecodeToken(*v, &row)) return DataLoss("a token row is corrupt");
    const auto h = crypto::Sha256(bearer);
    if (!crypto::ConstantTimeEquals(h, row.secret_hash)) return denied;
    info.token_id = id;
    info.role = row.role;
    info.purposes = row.purposes;
    info.created_at = row.created_at;  // the name is not decrypted on this hot path
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return info;
}

Status Vault::RevokeToken(const Actor& actor, const std::string& token_id) {
  if (token_id.size() != 16 || !crypto::FromHex(token_id)) return NotFound("no such token");
  Ops ops(*impl_);
  return impl_->store->Write([&](MDB_txn* txn) -> Status {
    if (!Get(txn, impl_->store->dbs().tokens, token_id)) return NotFound("no such token");
    VAULT_RETURN_IF_ERROR(Del(txn, impl_->store->dbs().tokens, token_id));
    return ops.Audit(txn, actor, "token.revoke", nullptr, "", "ok");
  });
}

// --- Operations ---------------------------------------------------------------------------

StatusOr<VaultStats> Vault::Stats() const {
  VaultStats st;
  VAULT_RETURN_IF_ERROR(impl_->store->Read([&](MDB_txn* txn) {
    const Dbs& dbs = impl_->store->dbs();
    st.subjects = CountEntries(txn, dbs.subjects);
    st.records = CountEntries(txn, dbs.records);
    st.pending_erasures = CountEntries(txn, dbs.erasure_due);
    st.keys_live = CountEntries(txn, dbs.keys);
    st.keys_shredded = MetaU64(txn, dbs, kMetaShredded);
    return Status::Ok();
  }));
  st.epoch = impl_->keyring->current_epoch();
  return st;
}

namespace {

// One page of the audit log as committed (ListAudit flushes queued entries first).
StatusOr<std::vector<AuditEntry>> ReadAuditPage(Vault::Impl& impl, std::uint64_t after_seq,
                                                std::size_t limit) {
  std::vector<AuditEntry> out;
  limit = std::min<std::size_t>(limit == 0 ? 100 : limit, 1000);
  VAULT_RETURN_IF_ERROR(impl.store->Read([&](MDB_txn* txn) -> Status {
    MDB_cursor* c = nullptr;
    if (mdb_cursor_open(txn, impl.store->dbs().audit, &c) != 0) return Internal("cursor");
    std::string start = U64Bytes(after_seq + 1);
    MDB_val k{start.size(), start.data()}, v;
    int rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    Status st;
    while (rc == 0 && out.size() < limit) {
      AuditEntry e;
      e.seq = ReadBigEndian({static_cast<const char*>(k.mv_data), k.mv_size});
      RowReader r(std::string_view(static_cast<const char*>(v.mv_data), v.mv_size));
      crypto::Digest hash{};
      if (!r.I64(&e.at) || !r.Str(&e.actor) || !r.Str(&e.action) || !r.Str(&e.subject_ref) ||
          !r.Str(&e.category) || !r.Str(&e.outcome) || !r.Fixed(&hash)) {
        st = DataLoss("an audit entry is corrupt");
        break;
      }
      e.hash = Hex(hash);
      out.push_back(std::move(e));
      rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    return st;
  }));
  return out;
}

}  // namespace

StatusOr<std::vector<AuditEntry>> Vault::ListAudit(std::uint64_t after_seq,
                                                   std::size_t limit) const {
  // Entries of reads are committed asynchronously; an auditor sees every read this process
  // made before the call.
  VAULT_RETURN_IF_ERROR(impl_->store->Flush());
  return ReadAuditPage(*impl_, after_seq, limit);
}

StatusOr<AuditVerifyResult> Vault::VerifyAudit() const {
  AuditVerifyResult res;
  Ops ops(*impl_);
  std::string prev(32, '\0');
  std::uint64_t after = 0;
  VAULT_RETURN_IF_ERROR(impl_->store->Flush());
  for (;;) {
    VAULT_ASSIGN_OR_RETURN(auto page, ReadAuditPage(*impl_, after, 1000));
    if (page.empty()) break;
    for (const auto& e : page) {
      const auto want = ops.ChainHash(prev, e);
      if (e.seq != res.entries + 1 || Hex(want) != e.hash) {
        res.ok = false;
        res.first_bad_seq = e.seq;
        res.head = e.hash;
        return res;
      }
      prev = Bytes(want);
      res.head = e.hash;
      ++res.entries;
      after = e.seq;
    }
  }
  res.ok = true;
  return res;
}

}  // namespace vault
