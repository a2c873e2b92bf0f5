// Records: a subject's data, one row per (subject, category, record id), each sealed under
// the DEK of its retention bucket's scope. Owns the records table. A version an overwrite, a
// bucket move or a delete removes takes its DEK with it (rekeys.h).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/aead.h"
#include "vault/audit_log.h"
#include "vault/blind_index.h"
#include "vault/consents.h"
#include "vault/dek_table.h"
#include "vault/index_keys.h"
#include "vault/legal_holds.h"
#include "vault/objections.h"
#include "vault/policy.h"
#include "vault/rekeys.h"
#include "vault/storage_quota.h"
#include "vault/store.h"
#include "vault/subjects.h"
#include "vault/vault.h"

namespace vault {

class Records {
 public:
  struct Parts {
    Store& store;
    const Policy& policy;
    const Clock& clock;
    const IndexKeys& keys;
    Subjects& subjects;
    DekTable& deks;
    BlindIndex& blind;
    LegalHolds& holds;
    AuditLog& audit;
    Rekeys& rekeys;
    Consents& consents;  // a write to a category resting on consent needs it granted
    const Objections& objections;  // an objection stops an app of that purpose
  };
  // quota_bytes: the most record bytes one writer may have stored (0: no limit).
  Records(Parts parts, crypto::Aead cipher, std::size_t max_record_bytes,
          std::uint64_t quota_bytes = 0)
      : p_(parts), cipher_(cipher), max_record_bytes_(max_record_bytes), quota_(quota_bytes) {}

  StatusOr<PutResult> Put(const Actor& actor, const std::string& subject_id,
                          const std::string& category, const std::string& record_id,
                          const nlohmann::json& data, std::optional<UnixSeconds> event_time);
  StatusOr<RecordView> Get(const Actor& actor, const std::string& subject_id,
                           const std::string& category, const std::string& record_id,
                           const ReadOptions& opts);
  StatusOr<std::vector<RecordView>> List(const Actor& actor, const std::string& subject_id,
                                         const std::string& category, const ReadOptions& opts);
  // One bounded page in row-key order; the cursor is the last row's record mac (base64url).
  StatusOr<RecordPage> ListPage(const Actor& actor, const std::string& subject_id,
                                const std::string& category, const PageRequest& page,
                                const ReadOptions& opts);
  // Deletes one record and retires its DEK: the survivors move to a new DEK and the old one
  // is destroyed.
  Status Delete(const Actor& actor, const std::string& subject_id, const std::string& category,
                const std::string& record_id);

  // For the exporter: at most limit live records of the subject's category after the cursor
  // `after` (a RecordPage::next this call handed out; empty: the first page), read in txn;
  // neither audited nor access-checked (the caller does both).
  Status PageOf(const Txn& txn, const Uid& uid, const std::string& category,
                const std::string& after, std::size_t limit, RecordPage* page) const;
  // Records of a subject's category whose key is alive.
  StatusOr<std::uint64_t> CountLive(const Txn& txn, const Uid& uid,
                                    const std::string& category) const;
  // Whether the record under record_key exists and its key is alive (not shredded).
  bool IsLive(const Txn& txn, std::string_view record_key) const;
  // Removes the ciphertext under prefix whose key was destroyed, and its blind-index
  // entries; returns how many rows.
  StatusOr<std::uint64_t> CollectShredded(Txn& txn, std::string_view prefix);

 private:
  struct Write {
    const Category& cat;
    const std::string& category;
    const std::string& record_id;
    const nlohmann::json& data;
    std::optional<UnixSeconds> event_time;
    UnixSeconds retain_until;
  };
  StatusOr<const Category*> FindCategory(const std::string& category) const;
  StatusOr<std::vector<std::uint8_t>> EncodePlaintext(const std::string& record_id,
                                                      const nlohmann::json& data) const;
  StatusOr<UnixSeconds> RetainUntil(const Category& cat, std::optional<UnixSeconds> event_time,
                                    UnixSeconds now) const;
  Status KeepFirstReceipt(const Category& cat, const RecordRow& old, UnixSeconds now,
                          UnixSeconds* retain_until) const;
  Status WriteRow(Txn& txn, const Actor& actor, const std::string& pseudonym,
                  const std::string& subject_id, const Write& w,
                  const std::vector<std::uint8_t>& plaintext, PutResult* result,
                  Rekeys::Removal* removal);
  // Retires the DEK of a version about to be removed; the key row when it was retired now
  // (then Settle once the version is gone), nullopt when it is destroyed or already retiring.
  StatusOr<std::optional<KeyRow>> RetireKeyOf(Txn& txn, const RecordRow& removed);
  // After a write that removed versions: zeroes destroyed slots, finishes pending rekeys.
  Status AfterRemoval(const Rekeys::Removal& removal);
  Status Decrypt(const Txn& txn, const std::string& rkey, const RecordRow& row,
                 RecordView* view) const;
  StatusOr<std::vector<std::pair<std::string, RecordRow>>> Rows(const Txn& txn,
                                                                std::string_view prefix) const;
  // The rows of prefix from `from` on, decrypted into page (at most page_limit; shredded rows
  // skipped); sets page->next when a further row exists.
  Status ReadPage(const Txn& txn, const std::string& prefix, const std::string& from,
                  std::size_t page_limit, RecordPage* page) const;
  Status DeleteRow(Txn& txn, const Actor& actor, const SubjectRow& subject,
                   const std::string& category, const std::string& rkey,
                   Rekeys::Removal* removal);

  Parts p_;
  const crypto::Aead cipher_;
  const std::size_t max_record_bytes_;
  const StorageQuota quota_;
};

}  // namespace vault
