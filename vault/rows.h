// Row formats: the bytes of every table's keys and values, and their codecs.
//
// Values are written with the row codec (codec.h):
//   u8        one byte
//   u64, i64  8 bytes little-endian
//   str, bytes  u64 length, then that many bytes
//   fixed[N]  N bytes
// Keys that must sort by number use be64 (8 bytes big-endian). uid is a subject's random
// 16-byte id, never its subject id; "0" below is one zero byte.
//
//   table        key                                   value
//   meta         "keyring_seq" "audit_seq" "slot_hwm"  be64
//                "keys_shredded" "rewrap_pending"
//                "backup_until"
//                "audit_head"                          fixed[32] hash of the last entry
//                "audit_base_seq" "audit_cp_seq"       be64  retention's anchor checkpoint
//                                                      (0: none, the chain starts at 1); the
//                                                      last checkpoint (audit_checkpoints.h)
//                "canary"                              meta-sealed "vault" (meta_sealer.h)
//                "gc/" uid category 0                  ""  ciphertext awaiting collection
//                "quota/" token_id                     be64  record bytes charged (storage_quota.h)
//   subjects     pseudonym: fixed[32]                  SubjectRow
//   records      uid category 0 mac: fixed[16]         RecordRow
//   scopes       uid category 0 bucket: be64           key_id: fixed[16], the live DEK
//   keys         key_id: fixed[16]                     KeyRow
//   expiry       expires_at: be64 key_id               ""
//   holds        uid hold_id: 16 hex chars             HoldRow
//   erasures     erasure_id: fixed[16]                 ErasureRow
//                erasure_id "/reason"                  meta-sealed reason
//                erasure_id "/holds"                   holds that delayed it (erasure_delays.cc)
//   erasure_due  execute_at: be64 erasure_id           ""
//   tokens       token_id: 16 hex chars                TokenRow
//   audit        seq: be64                             AuditRow
//   blind        'f' field 0 mac: fixed[32] uid rk     pseudonym: fixed[32] category: the
//                                                      lookup entry (rk: the record key's mac;
//                                                      value "" in entries written before lookup)
//                'u' uid rk field 0 mac: fixed[32]     ""  the same entry, found by record
//   slots_free   slot: be64                            ""  zeroed, reusable
//   slots_freed  slot: be64                            ""  freed; zeroed after commit
//   rekeys       scope key_id: fixed[16]               str cursor: a retired DEK whose
//                                                      records still move (rekeys.h)
//   audit_checkpoints  seq: be64                       CheckpointRow
//   passwords    uid                                   PasswordRow (passwords.h)
//   consents     uid purpose 0 seq: be64               entry sealed under the DEK of scope
//                                                      uid "_consent:"purpose 0 0 (consents.h)
//   consent_due  at: be64 kind uid name                ""  'c' category / 'p' proof (consents.h)
//   restrictions uid                                   i64 since | bytes reason sealed under
//                                                      the _subject DEK (restriction.h)
//   key_slots    slot: be64                            Slot (below); PostgreSQL stores only
//                                                      (TableSlots), LMDB keeps the slot file
//
//   SubjectRow = fixed[16] uid | u8 state (0 active, 1 erasure pending, 2 erased) |
//                i64 created_at | u8 restricted | str erasure_id (hex) | bytes sealed subject id
//   KeyRow     = str scope | u64 epoch | u64 slot | i64 expires_at | i64 created_at
//   RecordRow  = u64 version | i64 created_at | i64 updated_at | u8 has_event_time |
//                i64 event_time | i64 retain_until | fixed[16] key_id | bytes envelope |
//                u8 format (2; absent in rows written before it: format 1). The envelope's
//                associated data is RecordContext(row key, row): format 2 binds every field
//                before the envelope, format 1 only the row key.
//   ErasureRow = fixed[16] uid | str pseudonym | str state | str mode | i64 requested_at |
//                i64 execute_at | i64 completed_at | u8 blocked_by_hold | str receipt_json
//   HoldRow    = i64 placed_at | u8 has_until | i64 until | bytes sealed reason
//   TokenRow   = u8 role | u64 n | n x str purpose | bytes sealed name | i64 created_at |
//                fixed[32] sha256(secret)
//   AuditRow   = i64 at | str actor | str action | str subject_ref | str category |
//                str outcome | fixed[32] hash | str purpose (only when not empty; rows
//                written before purposes were recorded end at the hash)
//   CheckpointRow = i64 at | fixed[32] head | str key_id | fixed[64] signature
//
// Key slot file (keyslots.h), 128 bytes a slot:
//   Slot = 'S' | u64 epoch | u8 n | n bytes: wrapped DEK envelope | zeros
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/aead.h"
#include "crypto/primitives.h"
#include "vault/keyslots.h"
#include "vault/rules.h"
#include "vault/store.h"
#include "vault/vault.h"

namespace vault {

using Uid = std::array<std::uint8_t, 16>;

enum class StoredState : std::uint8_t { kActive = 0, kErasurePending = 1, kErased = 2 };

struct SubjectRow {
  Uid uid{};
  StoredState state = StoredState::kActive;
  UnixSeconds created_at = 0;
  bool restricted = false;
  std::string erasure_id;  // hex, empty if none
  std::vector<std::uint8_t> sealed_subject_id;
};

struct KeyRow {
  std::string scope;           // uid | category | 0 | bucket (be64, 0 = live)
  std::uint64_t epoch = 0;     // the epoch whose KEK wraps it (also inside the slot)
  std::uint64_t slot = 0;      // where the wrapped DEK lives in the key slot file
  UnixSeconds expires_at = 0;  // 0: until erasure
  UnixSeconds created_at = 0;
};

// Record row formats: how much of the row its envelope's associated data binds.
inline constexpr std::uint8_t kRecordFormatKeyOnly = 1;  // the row key only (before 2026-11)
inline constexpr std::uint8_t kRecordFormatBound = 2;    // the row key and every field

struct RecordRow {
  std::uint8_t format = kRecordFormatBound;
  std::uint64_t version = 0;
  UnixSeconds created_at = 0, updated_at = 0;
  bool has_event_time = false;
  UnixSeconds event_time = 0;
  UnixSeconds retain_until = 0;
  crypto::KeyId key_id{};
  std::vector<std::uint8_t> envelope;
};

struct ErasureRow {
  Uid uid{};
  std::string pseudonym;  // subjects-table key
  std::string state;      // scheduled | completed | cancelled
  std::string mode;
  UnixSeconds requested_at = 0, execute_at = 0, completed_at = 0;
  bool blocked_by_hold = false;
  std::string receipt_json;
};

struct HoldRow {
  UnixSeconds placed_at = 0;
  bool has_until = false;
  UnixSeconds until = 0;
  std::vector<std::uint8_t> sealed_reason;
};

struct TokenRow {
  Role role = Role::kApp;
  std::vector<std::string> purposes;
  std::vector<std::uint8_t> sealed_name;
  UnixSeconds created_at = 0;
  crypto::Digest secret_hash{};
};

std::string EncodeSubject(const SubjectRow& r);
bool DecodeSubject(std::string_view v, SubjectRow* r);
std::string EncodeKeyRow(const KeyRow& r);
bool DecodeKeyRow(std::string_view v, KeyRow* r);
std::string EncodeRecord(const RecordRow& r);
bool DecodeRecord(std::string_view v, RecordRow* r);
std::string EncodeErasure(const ErasureRow& r);
bool DecodeErasure(std::string_view v, ErasureRow* r);
std::string EncodeHold(const HoldRow& r);
bool DecodeHold(std::string_view v, HoldRow* r);
std::string EncodeToken(const TokenRow& r);
bool DecodeToken(std::string_view v, TokenRow* r);
// An audit entry's row (its seq is the key) and its chain hash.
std::string EncodeAudit(const AuditEntry& e, const crypto::Digest& hash);
// Fills every field of *e, hash in hex.
bool DecodeAudit(std::string_view key, std::string_view v, AuditEntry* e);

// A signed checkpoint's row (its seq is the key).
std::string EncodeCheckpoint(const AuditCheckpoint& cp);
bool DecodeCheckpoint(std::string_view key, std::string_view v, AuditCheckpoint* cp);

// The associated data a record envelope is bound to: its row key (subject uid, category,
// keyed hash of the record id) and, in format 2, the row's version, times, retention and key
// id, so a row edited in place, or put back from an older copy, fails authentication.
std::vector<std::uint8_t> RecordContext(std::string_view record_key, const RecordRow& row);

SlotBytes EncodeSlot(std::uint64_t epoch, std::span<const std::uint8_t> wrapped);
bool DecodeSlot(const SlotBytes& s, std::uint64_t* epoch, std::span<const std::uint8_t>* wrapped);

// be64 counters and flags in the meta table (0 when absent).
std::uint64_t MetaU64(const Txn& txn, std::string_view key);
Status SetMetaU64(Txn& txn, std::string_view key, std::uint64_t v);

}  // namespace vault
