// Records (records.h): put, get, list, delete with rekeying, counting and collection.
#include "vault/records.h"

#include <algorithm>
#include <cstring>

#include "crypto/primitives.h"
#include "vault/codec.h"
#include "vault/record_plaintext.h"
#include "vault/write_rules.h"

namespace vault {
namespace {

using crypto::SecretBytes;
using nlohmann::json;

// 9999-12-31T23:59:59Z: the last time RFC 3339 can write.
constexpr UnixSeconds kLastWritableTime = 253402300799;

// A page cursor: the record mac that ends a record key (RecordMac).
constexpr std::size_t kRecordMacBytes = 16;

UnixSeconds EndOfUtcDay(UnixSeconds t) {
  const std::int64_t day = t >= 0 ? t / 86400 : (t - 86399) / 86400;
  return t % 86400 == 0 ? t : (day + 1) * 86400;
}

}  // namespace

StatusOr<const Category*> Records::FindCategory(const std::string& category) const {
  const Category* cat = p_.policy.Find(category);
  if (cat == nullptr) return PolicyViolation("unknown category '" + category + "'");
  return cat;
}

StatusOr<std::vector<std::uint8_t>> Records::EncodePlaintext(const std::string& record_id,
                                                             const json& data) const {
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
  if (limited_bytes > max_record_bytes_) {
    crypto::WipeBytes(plaintext);
    return Status(Code::kTooLarge,
                  "record data exceeds " + std::to_string(max_record_bytes_) + " bytes");
  }
  return plaintext;
}

StatusOr<UnixSeconds> Records::RetainUntil(const Category& cat,
                                           std::optional<UnixSeconds> event_time,
                                           UnixSeconds now) const {
  UnixSeconds retain_until = 0;
  switch (cat.retention.kind) {
    case Retention::Kind::kUntilErasure:
      break;
    case Retention::Kind::kAfterEvent:
      retain_until = EndOfUtcDay(cat.retention.period.AddTo(event_time.value_or(now)));
      break;
    case Retention::Kind::kAfterCollection:
    case Retention::Kind::kAfterLastActivity:
    case Retention::Kind::kAfterFirstCollection:  // an update keeps the first (KeepFirstReceipt)
      retain_until = EndOfUtcDay(cat.retention.period.AddTo(now));
      break;
  }
  if (retain_until > kLastWritableTime) {
    return InvalidArgument("event_time is too far in the future");
  }
  if (retain_until != 0 && retain_until <= now) {
    return PolicyViolation("the event is older than category '" + cat.name +
                           "' may be kept; nothing was stored");
  }
  return retain_until;
}

// Retention from the first receipt ({after_first_collection: P}): an update keeps the deadline
// the record's first write set; a record whose deadline has passed takes no update.
Status Records::KeepFirstReceipt(const Category& cat, const RecordRow& old, UnixSeconds now,
                                 UnixSeconds* retain_until) const {
  if (cat.retention.kind != Retention::Kind::kAfterFirstCollection) return Status::Ok();
  *retain_until = EndOfUtcDay(cat.retention.period.AddTo(old.created_at));
  if (*retain_until <= now) {
    return PolicyViolation("the record's retention in category '" + cat.name +
                           "' ended; an update cannot extend it and nothing was stored");
  }
  return Status::Ok();
}

StatusOr<PutResult> Records::Put(const Actor& actor, const std::string& subject_id,
                                 const std::string& category, const std::string& record_id,
                                 const json& data, std::optional<UnixSeconds> event_time) {
  VAULT_RETURN_IF_ERROR(CheckId("subject id", subject_id));
  VAULT_RETURN_IF_ERROR(CheckId("record id", record_id));
  VAULT_ASSIGN_OR_RETURN(const Category* cat, FindCategory(category));
  VAULT_RETURN_IF_ERROR(CheckForbidden(*cat, data));
  // The data as stored: transformed (a copy) only when the category declares transforms.
  std::optional<json> transformed;
  if (!cat->transforms.empty()) {
    VAULT_ASSIGN_OR_RETURN(transformed, ApplyTransforms(*cat, data));
  }
  const json& stored = transformed ? *transformed : data;
  VAULT_ASSIGN_OR_RETURN(std::vector<std::uint8_t> plaintext, EncodePlaintext(record_id, stored));
  auto retain_until = RetainUntil(*cat, event_time, p_.clock.Now());
  if (!retain_until.ok()) {
    crypto::WipeBytes(plaintext);
    return retain_until.status();
  }
  const std::string pseudonym = p_.subjects.Pseudonym(subject_id);
  const Write w{*cat, category, record_id, stored, event_time, *retain_until};
  PutResult result;
  Rekeys::Removal removal;
  Status s = p_.store.Write([&](Txn& txn) {
    return WriteRow(txn, actor, pseudonym, subject_id, w, plaintext, &result, &removal);
  });
  crypto::WipeBytes(plaintext);
  if (!s.ok()) {
    p_.audit.AppendAsync(actor, "record.put", std::nullopt, category, s.code());
    return s;
  }
  VAULT_RETURN_IF_ERROR(AfterRemoval(removal));
  return result;
}

Status Records::WriteRow(Txn& txn, const Actor& actor, const std::string& pseudonym,
                         const std::string& subject_id, const Write& w,
                         const std::vector<std::uint8_t>& plaintext, PutResult* result,
                         Rekeys::Removal* removal) {
  *removal = {};
  const UnixSeconds now = p_.clock.Now();
  VAULT_ASSIGN_OR_RETURN(SubjectRow subject,
                         p_.subjects.GetOrCreateForWrite(txn, pseudonym, subject_id, actor));
  VAULT_RETURN_IF_ERROR(p_.objections.Check(txn, subject.uid, actor, w.cat));
  if (w.cat.legal_basis == LegalBasis::kConsent) {
    VAULT_RETURN_IF_ERROR(p_.consents.CheckGranted(txn, subject.uid, w.cat));
  }
  const std::string rkey = p_.keys.RecordKey(subject.uid, w.category, w.record_id);
  RecordRow row;
  row.version = 1;
  row.created_at = now;
  row.retain_until = w.retain_until;
  RecordRow old;
  std::optional<KeyRow> retired;  // the previous version's DEK, retired by this write
  std::uint64_t old_bytes = 0;
  if (auto existing = txn.Get(Table::kRecords, rkey)) {
    old_bytes = existing->size();
    if (!DecodeRecord(*existing, &old)) return DataLoss("a record row is corrupt");
    row.version = old.version + 1;
    row.created_at = old.created_at;
    VAULT_RETURN_IF_ERROR(KeepFirstReceipt(w.cat, old, now, &row.retain_until));
    VAULT_ASSIGN_OR_RETURN(retired, RetireKeyOf(txn, old));
  }
  result->created = row.version == 1;
  row.updated_at = now;
  row.has_event_time = w.event_time.has_value();
  row.event_time = w.event_time.value_or(0);
  SecretBytes dek;
  VAULT_RETURN_IF_ERROR(p_.deks.FindOrCreate(txn,
                                             ScopeKey(subject.uid, w.category, row.retain_until),
                                             row.retain_until, &row.key_id, &dek));
  row.envelope = crypto::Seal(crypto::EnvelopeKind::kRecord, cipher_, dek, row.key_id, plaintext,
                              RecordContext(rkey, row));
  const std::string encoded = EncodeRecord(row);
  VAULT_RETURN_IF_ERROR(quota_.Charge(txn, actor, old_bytes, encoded.size()));
  VAULT_RETURN_IF_ERROR(txn.Put(Table::kRecords, rkey, encoded));
  if (retired) VAULT_RETURN_IF_ERROR(p_.rekeys.Settle(txn, old.key_id, *retired, removal));
  if (!w.cat.index.empty()) {
    VAULT_RETURN_IF_ERROR(p_.blind.IndexRecord(txn, w.cat, subject.uid, pseudonym, rkey, w.data));
  }
  result->version = row.version;
  result->retain_until = row.retain_until;
  return p_.audit.Append(txn, actor, "record.put", &subject.uid, w.category, "ok");
}

// Reads one decrypted record; shared by get and list.
Status Records::Decrypt(const Txn& txn, const std::string& rkey, const RecordRow& row,
                        RecordView* view) const {
  SecretBytes dek;
  VAULT_RETURN_IF_ERROR(p_.deks.Load(txn, row.key_id, &dek));
  std::vector<std::uint8_t> plain;
  if (!crypto::Open(crypto::EnvelopeKind::kRecord, dek, row.envelope, RecordContext(rkey, row),
                    &plain)) {
    return DataLoss("a record failed authentication (corrupted or tampered)");
  }
  const bool ok = DecodeRecordPlaintext(plain, view);
  crypto::WipeBytes(plain);
  if (!ok) return DataLoss("a record's plaintext is malformed");
  view->version = row.version;
  view->created_at = row.created_at;
  view->updated_at = row.updated_at;
  if (row.has_event_time) view->event_time = row.event_time;
  view->retain_until = row.retain_until;
  return Status::Ok();
}

StatusOr<RecordView> Records::Get(const Actor& actor, const std::string& subject_id,
                                  const std::string& category, const std::string& record_id,
                                  const ReadOptions& opts) {
  VAULT_RETURN_IF_ERROR(CheckId("subject id", subject_id));
  VAULT_RETURN_IF_ERROR(CheckId("record id", record_id));
  VAULT_ASSIGN_OR_RETURN(const Category* cat, FindCategory(category));
  const std::string pseudonym = p_.subjects.Pseudonym(subject_id);
  const Access access{opts.privileged && cat->survives_erasure, opts.privileged};
  RecordView view;
  std::optional<Uid> uid;
  bool restricted = false;  // a dpo/admin read of a restricted subject, audited as such
  Status s = p_.store.Read([&](Txn& txn) -> Status {
    VAULT_ASSIGN_OR_RETURN(SubjectRow subject, p_.subjects.GetFor(txn, pseudonym, actor, access));
    VAULT_RETURN_IF_ERROR(p_.objections.Check(txn, subject.uid, actor, *cat));
    uid = subject.uid;
    restricted = subject.restricted;
    const std::string rkey = p_.keys.RecordKey(subject.uid, category, record_id);
    auto v = txn.Get(Table::kRecords, rkey);
    if (!v) return NotFound("no such record");
    RecordRow row;
    if (!DecodeRecord(*v, &row)) return DataLoss("a record row is corrupt");
    Status d = Decrypt(txn, rkey, row, &view);
    if (d.code() == Code::kGone) return NotFound("the record's retention has ended");
    return d;
  });
  p_.audit.AppendAsync(actor, restricted ? "record.get.restricted" : "record.get", uid, category,
                       s.code());
  if (!s.ok()) return s;
  view.subject_id = subject_id;
  view.category = category;
  return view;
}

StatusOr<std::vector<std::pair<std::string, RecordRow>>> Records::Rows(
    const Txn& txn, std::string_view prefix) const {
  std::vector<std::pair<std::string, RecordRow>> rows;
  Status corrupt;
  VAULT_RETURN_IF_ERROR(
      txn.ScanPrefix(Table::kRecords, prefix, [&](std::string_view k, std::string_view v) {
        RecordRow row;
        if (!DecodeRecord(v, &row)) {
          corrupt = DataLoss("a record row is corrupt");
          return false;
        }
        rows.emplace_back(std::string(k), std::move(row));
        return true;
      }));
  VAULT_RETURN_IF_ERROR(corrupt);
  return rows;
}

StatusOr<std::vector<RecordView>> Records::List(const Actor& actor, const std::string& subject_id,
                                                const std::string& category,
                                                const ReadOptions& opts) {
  VAULT_RETURN_IF_ERROR(CheckId("subject id", subject_id));
  VAULT_ASSIGN_OR_RETURN(const Category* cat, FindCategory(category));
  const std::string pseudonym = p_.subjects.Pseudonym(subject_id);
  const Access access{opts.privileged && cat->survives_erasure, opts.privileged};
  std::vector<RecordView> out;
  std::optional<Uid> uid;
  bool restricted = false;  // a dpo/admin read of a restricted subject, audited as such
  Status s = p_.store.Read([&](Txn& txn) -> Status {
    VAULT_ASSIGN_OR_RETURN(SubjectRow subject, p_.subjects.GetFor(txn, pseudonym, actor, access));
    VAULT_RETURN_IF_ERROR(p_.objections.Check(txn, subject.uid, actor, *cat));
    uid = subject.uid;
    restricted = subject.restricted;
    VAULT_ASSIGN_OR_RETURN(auto rows, Rows(txn, CategoryPrefix(subject.uid, category)));
    for (const auto& [k, row] : rows) {
      RecordView view;
      Status d = Decrypt(txn, k, row, &view);
      if (d.code() == Code::kGone) continue;  // shredded, awaiting collection
      VAULT_RETURN_IF_ERROR(d);
      view.subject_id = subject_id;
      view.category = category;
      out.push_back(std::move(view));
    }
    return Status::Ok();
  });
  p_.audit.AppendAsync(actor, restricted ? "record.list.restricted" : "record.list", uid, category,
                       s.code());
  if (!s.ok()) return s;
  std::sort(out.begin(), out.end(),
            [](const RecordView& a, const RecordView& b) { return a.record_id < b.record_id; });
  return out;
}

Status Records::ReadPage(const Txn& txn, const std::string& prefix, const std::string& from,
                         std::size_t page_limit, RecordPage* page) const {
  Status failed;
  std::string last_key;
  VAULT_RETURN_IF_ERROR(
      txn.ScanFrom(Table::kRecords, from, [&](std::string_view k, std::string_view v) {
        if (!k.starts_with(prefix)) return false;
        if (page->records.size() == page_limit) {
          page->next = crypto::ToBase64Url(crypto::AsBytes(RecordMac(last_key)));
          return false;
        }
        RecordRow row;
        if (!DecodeRecord(v, &row)) {
          failed = DataLoss("a record row is corrupt");
          return false;
        }
        RecordView view;
        const std::string key(k);
        Status d = Decrypt(txn, key, row, &view);
        if (d.code() == Code::kGone) return true;  // shredded, awaiting collection
        if (!d.ok()) {
          failed = d;
          return false;
        }
        page->records.push_back(std::move(view));
        last_key = key;
        return true;
      }));
  return failed;
}

StatusOr<RecordPage> Records::ListPage(const Actor& actor, const std::string& subject_id,
                                       const std::string& category, const PageRequest& page,
                                       const ReadOptions& opts) {
  VAULT_RETURN_IF_ERROR(CheckId("subject id", subject_id));
  VAULT_ASSIGN_OR_RETURN(const Category* cat, FindCategory(category));
  if (page.limit == 0 || page.limit > kMaxPageLimit) {
    return InvalidArgument("the page limit must be 1.." + std::to_string(kMaxPageLimit));
  }
  std::optional<std::vector<std::uint8_t>> after;
  if (!page.after.empty()) {
    after = crypto::FromBase64Url(page.after);
    if (!after || after->size() != kRecordMacBytes) {
      return InvalidArgument("the page cursor (after) is not one this list handed out");
    }
  }
  const std::string pseudonym = p_.subjects.Pseudonym(subject_id);
  const Access access{opts.privileged && cat->survives_erasure, opts.privileged};
  RecordPage out;
  std::optional<Uid> uid;
  bool restricted = false;  // a dpo/admin read of a restricted subject, audited as such
  Status s = p_.store.Read([&](Txn& txn) -> Status {
    VAULT_ASSIGN_OR_RETURN(SubjectRow subject, p_.subjects.GetFor(txn, pseudonym, actor, access));
    VAULT_RETURN_IF_ERROR(p_.objections.Check(txn, subject.uid, actor, *cat));
    uid = subject.uid;
    restricted = subject.restricted;
    const std::string prefix = CategoryPrefix(subject.uid, category);
    // A cursor is only ever appended to this subject's own prefix: it cannot leave it.
    const std::string from = after ? KeyAfter(prefix + std::string(AsView(*after))) : prefix;
    return ReadPage(txn, prefix, from, page.limit, &out);
  });
  p_.audit.AppendAsync(actor, restricted ? "record.list.restricted" : "record.list", uid, category,
                       s.code());
  if (!s.ok()) return s;
  for (RecordView& view : out.records) {
    view.subject_id = subject_id;
    view.category = category;
  }
  return out;
}

Status Records::PageOf(const Txn& txn, const Uid& uid, const std::string& category,
                       const std::string& after, std::size_t limit, RecordPage* page) const {
  const std::string prefix = CategoryPrefix(uid, category);
  std::string from = prefix;
  if (!after.empty()) {
    const auto mac = crypto::FromBase64Url(after);
    if (!mac || mac->size() != kRecordMacBytes) return InvalidArgument("bad export cursor");
    from = KeyAfter(prefix + std::string(AsView(*mac)));
  }
  VAULT_RETURN_IF_ERROR(ReadPage(txn, prefix, from, limit, page));
  for (RecordView& view : page->records) view.category = category;
  return Status::Ok();
}

Status Records::Delete(const Actor& actor, const std::string& subject_id,
                       const std::string& category, const std::string& record_id) {
  VAULT_RETURN_IF_ERROR(CheckId("subject id", subject_id));
  VAULT_RETURN_IF_ERROR(CheckId("record id", record_id));
  VAULT_ASSIGN_OR_RETURN(const Category* cat, FindCategory(category));
  const std::string pseudonym = p_.subjects.Pseudonym(subject_id);
  // A record that survives erasure is the dpo's and admin's to delete, as it is theirs to read.
  const Access access{cat->survives_erasure && actor.role != Role::kApp};
  Rekeys::Removal removal;
  Status s = p_.store.Write([&](Txn& txn) -> Status {
    removal = {};
    VAULT_ASSIGN_OR_RETURN(SubjectRow subject, p_.subjects.GetFor(txn, pseudonym, actor, access));
    VAULT_RETURN_IF_ERROR(p_.objections.Check(txn, subject.uid, actor, *cat));
    VAULT_ASSIGN_OR_RETURN(bool held, p_.holds.IsHeld(txn, subject.uid));
    if (held) return Status(Code::kLocked, "a legal hold suspends deletion of this subject's data");
    return DeleteRow(txn, actor, subject, category,
                     p_.keys.RecordKey(subject.uid, category, record_id), &removal);
  });
  if (!s.ok()) {
    p_.audit.AppendAsync(actor, "record.delete", p_.subjects.UidOf(p_.store, subject_id), category,
                         s.code());
    return s;
  }
  return AfterRemoval(removal);
}

Status Records::DeleteRow(Txn& txn, const Actor& actor, const SubjectRow& subject,
                          const std::string& category, const std::string& rkey,
                          Rekeys::Removal* removal) {
  auto v = txn.Get(Table::kRecords, rkey);
  if (!v) return NotFound("no such record");
  RecordRow victim;
  if (!DecodeRecord(*v, &victim)) return DataLoss("a record row is corrupt");
  VAULT_RETURN_IF_ERROR(quota_.Charge(txn, actor, v->size(), 0));
  VAULT_ASSIGN_OR_RETURN(auto retired, RetireKeyOf(txn, victim));
  VAULT_RETURN_IF_ERROR(txn.Del(Table::kRecords, rkey));
  VAULT_RETURN_IF_ERROR(p_.blind.RemoveRecord(txn, subject.uid, rkey));
  if (retired) VAULT_RETURN_IF_ERROR(p_.rekeys.Settle(txn, victim.key_id, *retired, removal));
  return p_.audit.Append(txn, actor, "record.delete", &subject.uid, category, "ok");
}

StatusOr<std::optional<KeyRow>> Records::RetireKeyOf(Txn& txn, const RecordRow& removed) {
  VAULT_ASSIGN_OR_RETURN(auto key, p_.deks.Row(txn, removed.key_id));
  if (!key) return key;  // shredded already: only ciphertext was left
  VAULT_ASSIGN_OR_RETURN(bool now, p_.rekeys.Retire(txn, removed.key_id, *key));
  if (!now) return std::optional<KeyRow>();  // a pending rekey destroys it when it ends
  return key;
}

Status Records::AfterRemoval(const Rekeys::Removal& removal) {
  if (removal.pending) return p_.rekeys.Finish();  // zeroes each step's freed slots
  if (removal.destroyed) return p_.deks.ZeroFreedSlotsNow();
  return Status::Ok();
}

StatusOr<std::uint64_t> Records::CountLive(const Txn& txn, const Uid& uid,
                                           const std::string& category) const {
  std::uint64_t n = 0;
  VAULT_RETURN_IF_ERROR(txn.ScanPrefix(
      Table::kRecords, CategoryPrefix(uid, category), [&](std::string_view, std::string_view v) {
        RecordRow row;
        if (DecodeRecord(v, &row) && txn.Get(Table::kKeys, Bytes(row.key_id))) {
          ++n;
        }
        return true;
      }));
  return n;
}

bool Records::IsLive(const Txn& txn, std::string_view record_key) const {
  auto v = txn.Get(Table::kRecords, record_key);
  RecordRow row;
  return v && DecodeRecord(*v, &row) && txn.Get(Table::kKeys, Bytes(row.key_id));
}

StatusOr<std::uint64_t> Records::CollectShredded(Txn& txn, std::string_view prefix) {
  std::vector<std::string> dead;
  VAULT_RETURN_IF_ERROR(
      txn.ScanPrefix(Table::kRecords, prefix, [&](std::string_view k, std::string_view v) {
        RecordRow row;
        if (DecodeRecord(v, &row) && !txn.Get(Table::kKeys, Bytes(row.key_id))) {
          dead.emplace_back(k);
        }
        return true;
      }));
  for (const auto& k : dead) {
    VAULT_RETURN_IF_ERROR(txn.Del(Table::kRecords, k));
    // A shredded record is found by its indexed values no more (nor holds a unique one).
    Uid uid;
    std::memcpy(uid.data(), k.data(), uid.size());
    VAULT_RETURN_IF_ERROR(p_.blind.RemoveRecord(txn, uid, k));
  }
  return static_cast<std::uint64_t>(dead.size());
}

}  // namespace vault
