// The public types of the rights and proof calls of Vault (vault.h): audit checkpoints and
// receipt checks, consents, restriction, export streams and the compliance report.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vault/clock.h"
#include "vault/status.h"

namespace vault {

// --- Audit proof: signed checkpoints of the audit log's head, and receipt checks.
// A checkpoint signs, with the receipt signing key (Vault::ReceiptKey), the RFC 8785 form of
// {"type":"lethe.audit.checkpoint","seq","at","head","key_id"}.
struct AuditCheckpoint {
  std::uint64_t seq = 0;  // the last entry it covers
  UnixSeconds at = 0;
  std::string head;  // hex hash of entry seq
  std::string key_id;
  std::string signature;  // base64 Ed25519
};

// Why a receipt is or is not valid: field names the first part that fails ("signature",
// "key_id", "completed_at", "shredded[0].category", ...).
struct ReceiptCheck {
  bool ok = false;
  std::string field;
  std::string problem;
};

// --- Consents and restriction (vault/consents.h, vault/restriction.h).
// Free text of a consent entry: where it was given ("signup form v3") and the version of
// the published policy it was given under (default: the active policy's sha256).
inline constexpr std::size_t kMaxConsentSourceBytes = 256;
inline constexpr std::size_t kMaxPolicyVersionBytes = 128;

// One entry of a consent's append-only history.
struct ConsentEntry {
  UnixSeconds at = 0;
  bool granted = false;
  std::string source;          // may be empty; "erasure" for the entry an erasure appends
  std::string policy_version;  // as given, or the policy's sha256 when none was
  std::string recorded_by;     // token id, "cli" or "sweeper"
};

// A subject's consent for one purpose: its current state (the last entry) and history.
struct ConsentView {
  std::string purpose;
  bool granted = false;
  UnixSeconds at = 0;                 // of the last entry
  std::vector<ConsentEntry> history;  // oldest first
  // Withdrawn consents: when the history itself is shredded (the policy's
  // consents.proof_retention after the withdrawal).
  std::optional<UnixSeconds> proof_until;
};

struct ConsentChange {
  bool granted = false;
  std::string source;                         // 0..kMaxConsentSourceBytes
  std::optional<std::string> policy_version;  // 1..kMaxPolicyVersionBytes when given
};

// Which consents a listing shows: all (dpo/admin), or those of the app's purposes.
struct ConsentQuery {
  bool privileged = true;
  std::vector<std::string> purposes;  // when not privileged
};

// Restriction of processing (GDPR Art. 18) of one subject.
struct RestrictionView {
  bool restricted = false;
  std::optional<UnixSeconds> since;
  std::string reason;  // empty once the subject is erased (it was sealed under its key)
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
  std::vector<std::string> overdue_ids;  // the overdue items, when the queue names them
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

}  // namespace vault
