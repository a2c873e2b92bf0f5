// Vault: the embeddable engine. Stores personal data encrypted under per-subject keys,
// enforces the policy's retention, and erases by destroying keys.
//
// Thread safety: a Vault is safe to use from any number of threads at once. Writes from
// concurrent callers share LMDB commits (group commit); each call returns after its own
// write is durable.
// Lifetime: one Vault per data directory per process (LMDB's rule); destroy it before
// the data directory goes away. A Vault is not copyable.
#pragma once

#include <atomic>
#include <chrono>
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
#include "vault/rights.h"
#include "vault/root_key.h"
#include "vault/rules.h"
#include "vault/status.h"

namespace vault {

// Who performs an operation; recorded in the audit log by token id, never by secret.
struct Actor {
  std::string id;  // token id, "cli" or "sweeper"
  Role role = Role::kAdmin;
  // An app token's purposes; the audit log records those the action used (the token's
  // purposes the entry's category lists, or all of them for actions without a category).
  std::vector<std::string> purposes;
};

struct Options {
  std::string data_dir;
  // Where the rows live: "" for LMDB in data_dir/store (the default), or a PostgreSQL
  // connection string (postgresql://...; docs/design.md "Storage backends"). The keyring
  // stays in data_dir either way.
  std::string store;
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
  // The audit log's head is signed (a checkpoint) once this many entries follow the last
  // checkpoint, or, by the sweeper and on close, once this long has passed since it with
  // entries written. 0 disables that trigger.
  std::uint64_t audit_checkpoint_entries = 1000;
  std::chrono::seconds audit_checkpoint_interval{300};
  // Password hashing (docs/design.md "Passwords"): how many hashes are computed at once
  // (0: the cores, within the memory budget at the policy's Argon2 memory cost), the memory
  // they may take together, and how many verify calls may wait for a turn before further
  // ones are refused with kUnavailable (so callers on a shared worker pool cannot all block).
  std::size_t password_concurrency = 0;
  std::uint64_t password_memory_kib = std::uint64_t{256} * 1024;
  std::size_t password_max_waiting = 16;
  // With the root key in a PKCS#11 token the epoch KEKs are token objects and each DEK
  // unwrap is a token operation; unwrapped DEKs are cached this long (0: no cache), which
  // receipts add to unrecoverable_after (docs/design.md "Keys in a PKCS#11 token").
  std::chrono::seconds dek_cache_ttl{30};
  // Audit entries of reads queued for the writer and not yet committed, at most; past it a
  // read waits for the writer (docs/design.md "Group commit").
  std::size_t audit_queue_limit = 10000;
  // Shutdown (lethe serve after SIGTERM): once set, from any thread at any time, calls
  // waiting on a PostgreSQL store that stopped answering fail with kUnavailable instead of
  // waiting on, and new ones fail at once (docs/operations.md "Stopping"). Null: never.
  std::shared_ptr<std::atomic<bool>> abandon_store;
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

// An objection to processing for one purpose (GDPR Art. 21; vault/objections.h).
struct ObjectionView {
  std::string purpose;
  UnixSeconds since = 0;
  std::string reason;  // dpo/admin only; empty once the subject is erased
};

struct SubjectSummary {
  std::string subject_id;
  SubjectState state = SubjectState::kActive;
  std::map<std::string, std::uint64_t> records_by_category;  // every policy category
  bool restricted = false;
  // When restricted, for dpo/admin (privileged) summaries only: since when and why.
  std::optional<UnixSeconds> restricted_since;
  std::string restriction_reason;
  std::vector<HoldView> legal_holds;
  std::optional<ErasureView> erasure;
  // Purposes the subject objects to (an app sees those of its own purposes, without reason).
  std::vector<ObjectionView> objections;
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
  std::uint64_t records_collected = 0;             // ciphertext rows of shredded keys removed
  std::uint64_t consent_withdrawals_executed = 0;  // categories shredded after a withdrawal
  std::uint64_t consent_proofs_shredded = 0;       // consent histories past proof retention
  bool epoch_rotated = false;
  std::vector<std::uint64_t> destroyed_epochs;
  std::uint64_t audit_entries_trimmed = 0;  // audit entries past audit.retention removed
};

struct VaultStats {
  std::uint64_t subjects = 0;
  std::uint64_t records = 0;
  std::uint64_t pending_erasures = 0;
  std::uint64_t keys_live = 0;
  std::uint64_t keys_shredded = 0;
  std::uint64_t epoch = 0;
  std::uint64_t audit_queued = 0;  // read audit entries queued, not yet committed
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
  // When the first of those epoch KEKs is due to be destroyed: restore refuses the copy from
  // then on (it needs every one of them).
  UnixSeconds readable_until = 0;
  // When the last of them is due to be destroyed: from then on nothing in the copy can be
  // decrypted by anyone, root key or not. At most epoch + horizon after created_at.
  UnixSeconds unreadable_after = 0;
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
  std::string purpose;  // the app token's purposes used, comma-separated; empty for others
};

struct AuditVerifyResult {
  bool ok = false;
  std::uint64_t entries = 0;  // entries verified (those retention has not trimmed)
  std::string head;           // hash of the last entry
  std::optional<std::uint64_t> first_bad_seq;
  std::string problem;            // what is wrong at first_bad_seq; empty when ok
  std::uint64_t from_seq = 1;     // the first retained entry (after the anchor checkpoint)
  std::uint64_t checkpoints = 0;  // signed checkpoints checked against the chain
};

struct RestoreResult {
  BackupManifest manifest;
  std::string data_dir;
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
  // KEKs past the horizon. What the background sweeper runs. progress: steps done of the
  // sweep's steps (sweeper.h).
  StatusOr<SweepResult> Sweep(const Actor& actor, const ProgressFn& progress = {});

  // --- Tokens.
  StatusOr<NewToken> CreateToken(const Actor& actor, Role role,
                                 const std::vector<std::string>& purposes, const std::string& name);
  // kUnauthenticated for any bad or revoked token. Runs on every request, so it leaves
  // TokenInfo::name empty (the name is sealed and not needed to authorise).
  StatusOr<TokenInfo> Authenticate(const std::string& bearer) const;
  Status RevokeToken(const Actor& actor, const std::string& token_id);

  // --- Audit proof.
  // Checkpoints after after_seq, oldest first, at most limit (1..1000; 0: 100).
  StatusOr<std::vector<AuditCheckpoint>> ListAuditCheckpoints(std::uint64_t after_seq,
                                                              std::size_t limit) const;
  // Signs the current head now if entries follow the last checkpoint (what close does).
  Status CheckpointAudit();
  // The checkpoint's canonical signed text and its signature check, with the public key alone.
  static std::string AuditCheckpointMessage(const AuditCheckpoint& cp);
  static bool VerifyAuditCheckpoint(const AuditCheckpoint& cp,
                                    const std::string& public_key_base64);
  // Checks a receipt's fields (present, well-typed, RFC 3339 times), that key_id names the
  // public key, and its signature; says which field fails.
  static ReceiptCheck CheckReceipt(const nlohmann::json& receipt,
                                   const std::string& public_key_base64);

  // --- Passwords (docs/design.md "Passwords"). The encoded hash is sealed under the key of the
  // subject's own scope, so erasure destroys it; it never leaves the engine.
  struct PasswordVerdict {
    bool valid = false;
    // > 0: the attempt was throttled (not checked); seconds until the subject may try again.
    std::int64_t retry_after_seconds = 0;
  };
  struct PasswordInfo {
    bool set = false;
    std::string algorithm;  // "argon2id", "argon2i", "bcrypt", "sha512crypt", "pbkdf2_sha256"
  };
  // Hashes password with Argon2id at the policy's cost (creating the subject when new).
  // kPolicyViolation naming the rule (never the password) when the policy refuses it;
  // kUnavailable when too many hashes are queued.
  Status SetPassword(const Actor& actor, const std::string& subject_id,
                     const std::string& password);
  // Stores a hash exported by another system; kPolicyViolation naming the format problem.
  Status ImportPasswordHash(const Actor& actor, const std::string& subject_id,
                            const std::string& encoded_hash);
  // Checks a password; an unknown or erased subject costs the same and is never valid. A
  // correct password under a legacy or weaker hash replaces it with Argon2id at the policy's
  // cost. kUnavailable when too many checks are queued.
  StatusOr<PasswordVerdict> VerifyPassword(const Actor& actor, const std::string& subject_id,
                                           const std::string& password);
  // Whether a password is set, and its algorithm (for exports and operators).
  StatusOr<PasswordInfo> PasswordStatus(const Actor& actor, const std::string& subject_id) const;

  // --- Consents and restriction.
  // Appends an entry to the consent history of (subject, purpose) and returns the consent.
  // The purpose must be a consent_purpose of the policy (kPolicyViolation). A new subject
  // is created. Withdrawal schedules the shredding of the categories that rest on this
  // consent (their on_consent_withdrawal delay later, done by Sweep) and the shredding of
  // the history itself (consents.proof_retention later); a grant cancels both. Erased
  // subject: kGone. Restricted subject: an app may withdraw, not grant (kRestricted).
  StatusOr<ConsentView> RecordConsent(const Actor& actor, const std::string& subject_id,
                                      const std::string& purpose, const ConsentChange& change);
  // Every consent of the subject with its history, by purpose (audited as consent.list).
  // dpo/admin (query.privileged) also read those of an erased subject kept as proof.
  StatusOr<std::vector<ConsentView>> ListConsents(const Actor& actor, const std::string& subject_id,
                                                  const ConsentQuery& query = {});
  // Restricts processing: app reads and writes of the subject's records get kRestricted;
  // dpo/admin reads work and are audited as reads of a restricted subject. Placing it again
  // replaces the reason and keeps `since`. reason: 1..kMaxReasonBytes, sealed under the
  // subject's own key.
  StatusOr<RestrictionView> RestrictProcessing(const Actor& actor, const std::string& subject_id,
                                               const std::string& reason);
  // kNotFound when the subject is not restricted.
  Status LiftRestriction(const Actor& actor, const std::string& subject_id);
  // The subject's restriction state, reason included (audited as restriction.get).
  StatusOr<RestrictionView> GetRestriction(const Actor& actor, const std::string& subject_id);

  // --- Lookup.
  // Finds subjects by a blind-indexed value (docs/design.md "Lookup"). The category is the
  // one whose policy `index:` names the field; `category` must name it when several do. An
  // app actor needs one of the category's purposes (`purposes`: its token's).
  struct LookupQuery {
    std::string field;
    std::string value;     // as the client sent it; normalised as the field's kind says
    std::string category;  // empty: the one category that indexes field
    std::vector<std::string> purposes;
  };
  static constexpr std::size_t kMaxLookupMatches = 100;
  struct LookupResult {
    std::string category;
    std::vector<std::string> subject_ids;  // sorted; more than one only for a non-unique field
    bool truncated = false;                // more than kMaxLookupMatches subjects matched
  };
  // kPolicyViolation: a field no (or more than one, without `category`) category indexes, or
  // a value the field's kind refuses (never echoed); kPermissionDenied: purpose; kNotFound;
  // kGone / kLocked when the only subjects holding the value are pending erasure / restricted
  // (restriction does not stop dpo and admin). Every lookup is audited, without the value.
  StatusOr<LookupResult> Lookup(const Actor& actor, const LookupQuery& query);

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

  // --- Objection to processing (GDPR Art. 21; docs/design.md "Objection").
  // While a subject objects to a purpose, app tokens get kRestricted on its records in the
  // categories they would reach through that purpose (reads, lists, writes, deletes, lookup);
  // other purposes continue; dpo/admin are not affected. The purpose must be a purpose of a
  // policy category (kPolicyViolation). Objecting again replaces the reason and keeps
  // `since`. reason: 1..kMaxReasonBytes, sealed under the subject's own key. dpo/admin.
  StatusOr<ObjectionView> Object(const Actor& actor, const std::string& subject_id,
                                 const std::string& purpose, const std::string& reason);
  // kNotFound when the subject does not object to the purpose.
  Status LiftObjection(const Actor& actor, const std::string& subject_id,
                       const std::string& purpose);
  // The subject's objections with reasons (audited as objection.list).
  StatusOr<std::vector<ObjectionView>> ListObjections(const Actor& actor,
                                                      const std::string& subject_id);

  // --- Data-subject request log (GDPR Art. 12(3); docs/design.md "Request log"). dpo/admin.
  // kinds: access, rectification, erasure, restriction, objection, portability. States:
  // received, extended (open), done, refused (closed). due_at: one calendar month after
  // received_at, three once extended. overdue: open and past due_at at the time of reading.
  struct SubjectRequest {
    std::string request_id;
    std::string subject_id;  // empty once the subject is erased
    std::string kind;
    std::string state;
    UnixSeconds received_at = 0;
    UnixSeconds due_at = 0;
    bool overdue = false;
    std::optional<UnixSeconds> closed_at;
    std::string closed_by;         // the token id, or "erasure" / "export" / "restriction" ...
    std::string extension_reason;  // sealed at rest
    std::string close_reason;      // sealed at rest; required for refused
  };
  // The subject must be known to the vault (kNotFound); received_at defaults to now and may
  // not be in the future.
  StatusOr<SubjectRequest> LogRequest(const Actor& actor, const std::string& subject_id,
                                      const std::string& kind,
                                      std::optional<UnixSeconds> received_at = std::nullopt);
  // Once, while open and within the first month (kConflict otherwise); reason 1..kMaxReasonBytes.
  StatusOr<SubjectRequest> ExtendRequest(const Actor& actor, const std::string& request_id,
                                         const std::string& reason);
  // done (reason optional) or refused (reason required); kConflict when already closed.
  StatusOr<SubjectRequest> CloseRequest(const Actor& actor, const std::string& request_id,
                                        bool refused, const std::string& reason);
  StatusOr<SubjectRequest> GetRequest(const Actor& actor, const std::string& request_id) const;
  StatusOr<std::vector<SubjectRequest>> ListRequests(const Actor& actor, bool open_only) const;
  // Closes the subject's open requests of kind once the vault has carried the right out.
  void CompleteRequests(const std::string& subject_id, const std::string& kind);

  // --- Operations.
  // A consistent, compacted copy of the store (no keyring) into out_dir, safe while serving.
  // progress: bytes written of the bytes expected (an upper bound until the copy ends).
  StatusOr<BackupManifest> Backup(const std::string& out_dir, const ProgressFn& progress = {});
  StatusOr<VaultStats> Stats() const;
  // Restores a backup made by Backup() into an empty data_dir, against a live keyring file
  // (keyring_file empty with a PKCS#11 root key: against the token's epochs).
  // Refuses when the backup's epochs have been destroyed in that keyring (naming them and
  // when) or when its checksum does not match.
  static StatusOr<RestoreResult> Restore(const std::string& from_dir, const std::string& data_dir,
                                         const std::string& keyring_file,
                                         std::shared_ptr<RootKeyProvider> root_key,
                                         const ProgressFn& progress = {});

  // --- Audit log: every read, write and rights action, chained with an HMAC.
  StatusOr<std::vector<AuditEntry>> ListAudit(std::uint64_t after_seq, std::size_t limit) const;
  // Walks the chain and checks it ends at the stored head (entry count and last hash), so
  // removed trailing entries are found too. progress: entries checked of the stored count.
  StatusOr<AuditVerifyResult> VerifyAudit(const ProgressFn& progress = {}) const;
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
