// Row codecs: the formats rows.h documents.
#include "vault/rows.h"

#include <algorithm>
#include <cstring>

#include "vault/codec.h"

namespace vault {

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
  if (r.format != kRecordFormatKeyOnly) w.U8(r.format);
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
  r->format = kRecordFormatKeyOnly;
  if (rd.AtEnd()) return true;
  return rd.U8(&r->format) && r->format == kRecordFormatBound && rd.AtEnd();
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

std::string EncodeAudit(const AuditEntry& e, const crypto::Digest& hash) {
  RowWriter w;
  w.I64(e.at)
      .Str(e.actor)
      .Str(e.action)
      .Str(e.subject_ref)
      .Str(e.category)
      .Str(e.outcome)
      .Fixed(hash);
  if (!e.purpose.empty()) w.Str(e.purpose);
  return Bytes(w.bytes());
}

bool DecodeAudit(std::string_view key, std::string_view v, AuditEntry* e) {
  e->seq = ReadBigEndian(key);
  RowReader r(v);
  crypto::Digest hash{};
  if (!r.I64(&e->at) || !r.Str(&e->actor) || !r.Str(&e->action) || !r.Str(&e->subject_ref) ||
      !r.Str(&e->category) || !r.Str(&e->outcome) || !r.Fixed(&hash)) {
    return false;
  }
  e->purpose.clear();
  if (!r.AtEnd() && (!r.Str(&e->purpose) || e->purpose.empty())) return false;
  e->hash = crypto::ToHex(hash);
  return r.AtEnd();
}

std::string EncodeCheckpoint(const AuditCheckpoint& cp) {
  crypto::Digest head{};
  std::array<std::uint8_t, crypto::kSignatureBytes> sig{};
  const auto h = crypto::FromHex(cp.head);
  const auto s = crypto::FromBase64(cp.signature);
  if (h && h->size() == head.size()) std::copy(h->begin(), h->end(), head.begin());
  if (s && s->size() == sig.size()) std::copy(s->begin(), s->end(), sig.begin());
  RowWriter w;
  w.I64(cp.at).Fixed(head).Str(cp.key_id).Fixed(sig);
  return Bytes(w.bytes());
}

bool DecodeCheckpoint(std::string_view key, std::string_view v, AuditCheckpoint* cp) {
  if (key.size() != 8) return false;
  cp->seq = ReadBigEndian(key);
  RowReader r(v);
  crypto::Digest head{};
  std::array<std::uint8_t, crypto::kSignatureBytes> sig{};
  if (!r.I64(&cp->at) || !r.Fixed(&head) || !r.Str(&cp->key_id) || !r.Fixed(&sig) || !r.AtEnd()) {
    return false;
  }
  cp->head = crypto::ToHex(head);
  cp->signature = crypto::ToBase64(sig);
  return true;
}

std::vector<std::uint8_t> RecordContext(std::string_view record_key, const RecordRow& row) {
  RowWriter w;
  if (row.format == kRecordFormatKeyOnly) {
    w.Str("record").Str(record_key);
    return w.Take();
  }
  w.Str("record/2")
      .Str(record_key)
      .U64(row.version)
      .I64(row.created_at)
      .I64(row.updated_at)
      .U8(row.has_event_time ? 1 : 0)
      .I64(row.event_time)
      .I64(row.retain_until)
      .Fixed(row.key_id);
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

std::uint64_t MetaU64(const Txn& txn, std::string_view key) {
  auto v = txn.Get(Table::kMeta, key);
  return v && v->size() == 8 ? ReadBigEndian(*v) : 0;
}

Status SetMetaU64(Txn& txn, std::string_view key, std::uint64_t v) {
  return txn.Put(Table::kMeta, key, BigEndianKey(v));
}

}  // namespace vault
