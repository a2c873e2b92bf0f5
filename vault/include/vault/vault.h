// Vault: the embeddable engine. Stores personal data encrypted under per-subject keys,
// enforces the policy's retention, and erases by destroying keys.
//
// Thread safety: a Vault is safe to use from any number of threads at once. Writes from
// concurrent callers share LMDB commits (group commit); each call returns after its own
// write is durable.
// Lifetime: one Vault per data directory per process (LMDB's rule); destroy it before
// the data directory goes away. A Vault is not copyable.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "vault/clock.h"
#include "vault/policy.h"
#include "vault/root_key.h"
#include "vault/rules.h"
#include "vault/status.h"

namespace vault {

// Who performs an operation; recorded in the audit log by token id, never by secret.
struct Actor {
  std::string id;  // token id, "cli" or "sweeper"
  Role role = Role::kAdmin;
};

struct Options {
  std::string data_dir;
  // Policy YAML file; empty means the built-in default policy.
  std::string policy_path;
  // Where the root key comes from. REQUIRES: non-null.
  std::shared_ptr<RootKeyProvider> root_key;
  // Defaults to SystemClock.
  std::shared_ptr<Clock> clock;
  // Create the data directory, store and keyring if missing (lethe init).
  bool create_if_missing = false;
  // Largest the LMDB map may grow to.
  std::uint64_t map_size_bytes = 64ull << 30;
  // Keys rewrapped per step of an epoch rotation; ordinary writes run between steps.
  std::size_t rewrap_batch = 10000;
  // Expired keys destroyed per transaction of a retention sweep.
  std::size_t shred_batch = 10000;
  // Records re-encrypted per step when a removed version's key is retired (overwrite,
  // bucket move, delete) in a large scope; ordinary writes run between steps.
  std::size_t rekey_batch = 1000;
  // Told the number of steps done after each step of such a rekey commits (tests observe
  // the steps with it); called on the thread that runs the rekey, outside the writer.
  std::function<void(std::uint64_t steps)> on_rekey_step;
  // Largest serialized record data accepted.
  std::size_t max_record_bytes = std::size_t{256} * 1024;
  // Storage quota: the most bytes of stored record rows one actor (token id) may have
  // written; a PUT past it fails with kThrottled and stores nothing. 0: no quota. A PUT
  // is charged the growth of the row it writes, a DELETE credits its caller; erasure and
  // retention do not credit anyone.
  std::uint64_t quota_bytes = 0;
};

struct PutResult {
  bool created = false;
  std::uint64_t version = 0;
  UnixSeconds retain_until = 0;  // 0: until erasure
};

struct RecordView {
  std::string subject_id;
  std::string category;
  std::string record_id;
  std::uint64_t version = 0;
  std::string data_json;  // the data: a JSON object, as the compact text it was stored as
  UnixSeconds created_at = 0;
  UnixSeconds updated_at = 0;
  std::optional<UnixSeconds> event_time;
  UnixSeconds retain_until = 0;  // 0: until erasure
};

// Which page of a category's records to list (Vault::ListRecords with a PageRequest).
inline constexpr std::size_t kDefaultPageLimit = 100;
inline constexpr std::size_t kMaxPageLimit = 1000;
struct PageRequest {
  std::size_t limit = kDefaultPageLimit;  // 1..kMaxPageLimit
  std::string after;  // the previous page's RecordPage::next; empty: the first page
};

// One page of records, in row-key order: a keyed hash of the record id, stable across pages
// and calls but not alphabetical.
struct RecordPage {
  std::vector<RecordView> records;
  std::optional<std::string> next;  // opaque cursor for the following page; none: last page
};

enum class SubjectState { kActive, kErasurePending, kErased };
const char* SubjectStateName(SubjectState s);

struct HoldView {
  std::string hold_id;
  std::string reason;
  UnixSeconds placed_at = 0;
  std::optional<UnixSeconds> until;
};

struct ErasureView {
  std::string erasure_id;
  std::string state;  // "scheduled", "completed", "cancelled"
  std::string mode;   // "grace" or "immediate"
  UnixSeconds requested_at = 0;
  UnixSeconds execute_at = 0;
  std::optional<UnixSeconds> completed_at;
  bool blocked_by_hold = false;  // due, but a legal hold keeps it from running
  std::string receipt_json;      // the signed receipt as JSON text; empty until completed
};

struct SubjectSummary {
  std::string subject_id;
  SubjectState state = SubjectState::kActive;
  std::map<std::string, std::uint64_t> records_by_category;  // every policy category
  bool restricted = false;
  std::vector<HoldView> legal_holds;
  std::optional<ErasureView> erasure;
};

// What a subject summary shows. dpo/admin (privileged) see everything; an app sees the
// categories of its purposes only, holds without their reasons, and an erasure without its
// receipt (whose subject_ref links the subject to the audit log).
struct SummaryOptions {
  bool privileged = true;
  std::vector<std::string> purposes;  // when not privileged: whose categories are shown
};

struct TokenInfo {
  std::string token_id;
  Role role = Role::kApp;
  std::vector<std::string> purposes;  // app tokens only
  std::string name;
  UnixSeconds created_at = 0;
};

struct NewToken {
  TokenInfo info;
  std::string secret;  // the bearer token; shown once, stored only as a hash
};

struct RotationResult {
  std::uint64_t epoch = 0;
  std::uint64_t rewrapped = 0;
  std::vector<std::uint64_t> destroyed_epochs;
};

struct SweepResult {
  std::uint64_t erasures_executed = 0;
  std::uint64_t scopes_shredded = 0;
  std::uint64_t records_collected = 0;  // ciphertext rows of shredded keys removed
  bool epoch_rotated = false;
  std::vector<std::uint64_t> destroyed_epochs;
};

struct VaultStats {
  std::uint64_t subjects = 0;
  std::uint64_t records = 0;
  std::uint64_t pending_erasures = 0;
  std::uint64_t keys_live = 0;
  std::uint64_t keys_shredded = 0;
  std::uint64_t epoch = 0;
};

struct ReceiptPublicKey {
  std::string key_id;
  std::string public_key_base64;
};

// Progress of a long operation: done out of total (total may be 0 when unknown).
using ProgressFn = std::function<void(std::uint64_t done, std::uint64_t total)>;

struct ReadOptions {
  // dpo/admin reading retained categories of an erased subject, or a restricted subject
  // (export). Ordinary app reads leave this false.
  bool privileged = false;
};

struct BackupManifest {
  std::string path;
  std::uint64_t epoch = 0;                   // the current epoch when the copy was taken
  std::vector<std::uint64_t> epochs_needed;  // epochs whose KEKs wrap DEKs in the copy
  UnixSeconds created_at = 0;
  UnixSeconds readable_until = 0;  // when the last of those epoch KEKs is due to be destroyed
  std::string policy_sha256;
  std::string sha256;        // of the data file
  std::string slots_sha256;  // of the key slot file
};

struct AuditEntry {
  std::uint64_t seq = 0;
  UnixSeconds at = 0;
  std::string actor;        // token id, "cli", "sweeper"
  std::string action;       // "record.put", "erasure.execute", ...
  std::string subject_ref;  // subject_uid in hex, never the subject id
  std::string category;
  std::string outcome;  // "ok" or an error code name
  std::string hash;     // hex HMAC chaining this entry to the previous one
};

struct AuditVerifyResult {
  bool ok = false;
  std::uint64_t entries = 0;
  std::string head;  // hash of the last entry
  std::optional<std::uint64_t> first_bad_seq;
};

struct RestoreResult {
  BackupManifest manifest;
  std::string data_dir;
};

// --- Export and compliance report (structs; the calls are in Vault below).
// Art. 15 and 20: everything held on a subject, as one document (docs/design.md "Export").
enum class ExportFormat { kJson, kCsv, kXml };
// "json", "csv", "xml"; nullopt for anything else.
std::optional<ExportFormat> ParseExportFormat(const std::string& name);
// The media type ("text/csv; ...") and file extension ("csv") of a format.
const char* ExportMediaType(ExportFormat format);
const char* ExportExtension(ExportFormat format);

// A subject's export produced piece by piece, so memory stays bounded whatever the number of
// records: each Next reads at most one page of records, in a read transaction of its own.
// Not thread-safe; one caller at a time. May outlive nothing: REQUIRES the Vault to outlive it.
class ExportStream {
 public:
  virtual ~ExportStream() = default;
  // Appends the next piece of the document to *out; false once the document is complete (and
  // nothing was appended). An error ends the export (it is audited); the document is then
  // incomplete and must not be used.
  virtual StatusOr<bool> Next(std::string* out) = 0;
};

// Figures of one policy category in the compliance report.
struct CategoryFigures {
  std::uint64_t subjects = 0;        // subjects with a live key in the category
  std::uint64_t keys_alive = 0;      // live DEKs (retiring ones included)
  std::uint64_t shreds_overdue = 0;  // keys past their retain_until, not held, not shredded
  std::uint64_t shreds_held = 0;     // keys past their retain_until kept by a legal hold
};

// An erasure request not yet executed, against its statutory deadline (Art. 12(3): one month
// from the request).
struct PendingErasureFigures {
  std::string erasure_id;
  UnixSeconds requested_at = 0;
  UnixSeconds execute_at = 0;
  UnixSeconds deadline = 0;      // requested_at + 1 calendar month
  bool overdue = false;          // the report's time is past the deadline
  bool scheduled_late = false;   // execute_at is after the deadline (a grace longer than a month)
  bool blocked_by_hold = false;  // due, but a legal hold keeps it from running
};

// A queue of promised actions another part owns (consent withdrawals, ...), as it reports it.
struct PendingFigures {
  std::uint64_t pending = 0;
  std::uint64_t overdue = 0;
};

struct ComplianceReport {
  UnixSeconds generated_at = 0;                         // the time the figures are for
  std::map<std::string, CategoryFigures> categories;    // every policy category
  std::uint64_t legal_holds = 0;                        // holds in force
  std::uint64_t subjects_held = 0;                      // subjects with a hold in force
  std::vector<PendingErasureFigures> erasures_pending;  // by execute_at
  // Further queues by name ("consent_withdrawals" once the consents part reports it).
  std::map<std::string, PendingFigures> pending;
  // The oldest epoch whose KEK is alive: a backup may still need it (older ones are gone).
  std::uint64_t oldest_epoch = 0;
  UnixSeconds oldest_epoch_dies_at = 0;  // when that KEK is due to be destroyed
  std::uint64_t epochs_overdue = 0;      // retired KEKs past their destruction time, alive

  std::uint64_t ShredsOverdue() const;
  std::uint64_t ErasuresOverdue() const;
  // Anything overdue: a shred, an erasure past its deadline, an epoch KEK, a plugged queue.
  bool AnythingOverdue() const;
};

class Vault {
 public:
  // Opens (or with create_if_missing, creates) the store in options.data_dir.
  static StatusOr<std::unique_ptr<Vault>> Open(const Options& options);
  ~Vault();
  Vault(const Vault&) = delete;
  Vault& operator=(const Vault&) = delete;

  const Policy& policy() const;

  // --- Records. Ids: 1..128 chars of [A-Za-z0-9._:@+-]. data must be a JSON object.
  StatusOr<PutResult> PutRecord(const Actor& actor, const std::string& subject_id,
                                const std::string& category, const std::string& record_id,
                                const nlohmann::json& data,
                                std::optional<UnixSeconds> event_time = std::nullopt);
  StatusOr<RecordView> GetRecord(const Actor& actor, const std::string& subject_id,
                                 const std::string& category, const std::string& record_id,
                                 ReadOptions opts = {});
  // Every record of the category, sorted by record id; memory grows with the scope (tools and
  // tests; the HTTP API lists pages).
  StatusOr<std::vector<RecordView>> ListRecords(const Actor& actor, const std::string& subject_id,
                                                const std::string& category, ReadOptions opts = {});
  // One page: at most page.limit records after the cursor page.after, reading no more rows
  // than that (plus one to learn whether more follow). kInvalidArgument for a limit outside
  // 1..kMaxPageLimit or a cursor this call did not hand out; a cursor only ever positions
  // within this subject's category.
  StatusOr<RecordPage> ListRecords(const Actor& actor, const std::string& subject_id,
                                   const std::string& category, const PageRequest& page,
                                   ReadOptions opts = {});
  // Deletes one record and rekeys its scope: the old DEK is destroyed.
  // An app may not delete a record of an erased subject, even in a category that survives
  // erasure (kGone, as its read); dpo/admin may.
  Status DeleteRecord(const Actor& actor, const std::string& subject_id,
                      const std::string& category, const std::string& record_id);
  StatusOr<SubjectSummary> GetSubject(const Actor& actor, const std::string& subject_id,
                                      const SummaryOptions& opts = {});

  // --- Rights.
  // mode "immediate" executes now (unless a legal hold blocks it); "grace" schedules it at
  // now + policy grace.
  StatusOr<ErasureView> RequestErasure(const Actor& actor, const std::string& subject_id,
                                       const std::string& mode, const std::string& reason);
  StatusOr<ErasureView> CancelErasure(const Actor& actor, const std::string& subject_id);
  // An audited read: the erasure may carry the receipt.
  StatusOr<ErasureView> GetErasure(const Actor& actor, const std::string& erasure_id);
  StatusOr<HoldView> PlaceLegalHold(const Actor& actor, const std::string& subject_id,
                                    const std::string& reason, std::optional<UnixSeconds> until);
  Status ReleaseLegalHold(const Actor& actor, const std::string& subject_id,
                          const std::string& hold_id);
  ReceiptPublicKey ReceiptKey() const;
  // Verifies a receipt's Ed25519 signature over its RFC 8785 form, with the public key alone.
  static bool VerifyReceipt(const nlohmann::json& receipt, const std::string& public_key_base64);

  // --- Keys and retention.
  StatusOr<RotationResult> RotateEpoch(const Actor& actor, const ProgressFn& progress = {});
  // Executes due erasures, shreds expired buckets, collects ciphertext of shredded keys,
  // rotates the epoch when it is older than the policy's epoch length, and destroys epoch
  // KEKs past the horizon. What the background sweeper runs.
  StatusOr<SweepResult> Sweep(const Actor& actor);

  // --- Tokens.
  StatusOr<NewToken> CreateToken(const Actor& actor, Role role,
                                 const std::vector<std::string>& purposes, const std::string& name);
  // kUnauthenticated for any bad or revoked token. Runs on every request, so it leaves
  // TokenInfo::name empty (the name is sealed and not needed to authorise).
  StatusOr<TokenInfo> Authenticate(const std::string& bearer) const;
  Status RevokeToken(const Actor& actor, const std::string& token_id);

  // --- Export and compliance report.
  // Starts the export of everything held on a subject (dpo and admin only: kPermissionDenied
  // for other roles; a restricted or erased subject too). Audited as "subject.export".
  // kNotFound for an unknown subject. The stream reads pages of records as it goes: the
  // subject, holds, erasure and plugged sections come from one snapshot, each page of
  // records from a later one (docs/design.md "Export").
  StatusOr<std::unique_ptr<ExportStream>> Export(const Actor& actor, const std::string& subject_id,
                                                 ExportFormat format);
  // The compliance report, for the time `at` (default: now). One read transaction; O(keys).
  StatusOr<ComplianceReport> Report(std::optional<UnixSeconds> at = std::nullopt) const;

  // --- Operations.
  // A consistent, compacted copy of the store (no keyring) into out_dir, safe while serving.
  StatusOr<BackupManifest> Backup(const std::string& out_dir, const ProgressFn& progress = {});
  StatusOr<VaultStats> Stats() const;
  // Restores a backup made by Backup() into an empty data_dir, against a live keyring file.
  // Refuses when the backup's epochs have been destroyed in that keyring (naming them and
  // when) or when its checksum does not match.
  static StatusOr<RestoreResult> Restore(const std::string& from_dir, const std::string& data_dir,
                                         const std::string& keyring_file,
                                         std::shared_ptr<RootKeyProvider> root_key,
                                         const ProgressFn& progress = {});

  // --- Audit log: every read, write and rights action, chained with an HMAC.
  StatusOr<std::vector<AuditEntry>> ListAudit(std::uint64_t after_seq, std::size_t limit) const;
  // Walks the chain and checks it ends at the stored head (entry count and last hash), so
  // removed trailing entries are found too.
  StatusOr<AuditVerifyResult> VerifyAudit() const;
  // Records an attempt refused before it reached the engine (a purpose denial, a malformed
  // rights request): action as the operation's own entries name it, outcome the refusal's
  // code. The subject is named by its subject_ref when subject_id names a known subject, else
  // not at all; never by the id.
  void AuditRefusal(const Actor& actor, const std::string& action, const std::string& subject_id,
                    const std::string& category, Code outcome);

 private:
  class Impl;
  explicit Vault(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vault
