// Policy as code: the machine-readable twin of the published privacy policy.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "vault/clock.h"
#include "vault/status.h"

namespace vault {

enum class LegalBasis {
  kContract,
  kLegalObligation,
  kLegitimateInterest,
  kConsent,
  kVitalInterest,
  kPublicTask
};
const char* LegalBasisName(LegalBasis b);

struct Retention {
  // kAfterCollection and kAfterLastActivity count from the record's latest write (an update
  // extends them); kAfterFirstCollection counts from its first write (an update cannot).
  enum class Kind {
    kUntilErasure,
    kAfterEvent,
    kAfterCollection,
    kAfterLastActivity,
    kAfterFirstCollection
  };
  Kind kind = Kind::kUntilErasure;
  Duration period;    // unused for kUntilErasure
  std::string event;  // kAfterEvent: the event's name ("transaction"); empty when unnamed
  // Compound rule: the data also ends when its consent is withdrawn. Parsed and published in
  // GET /v1/policy; enforced by the consents part (not by records).
  bool or_until_consent_withdrawn = false;
  std::string ToString() const;  // "until_erasure", "after_event: 7y", ...
};

// A rewrite of one field's value, applied before anything is stored.
enum class FieldTransform {
  kTruncateIp  // IPv4: last octet zeroed (/24); IPv6: first 48 bits kept (/48)
};
const char* FieldTransformName(FieldTransform t);

// Data minimisation: what a category's records must never hold (refused with 422).
enum class ForbiddenData {
  kPaymentCardNumber,  // a 13..19-digit number passing the Luhn check, in any field
  kCvv                 // a field named cvv, cvc, cvv2, cvc2 or csc, at any depth
};
const char* ForbiddenDataName(ForbiddenData f);
// How a blind-indexed field's values are normalised before they are hashed (docs/design.md
// "Lookup"): an e-mail address, a phone number (E.164 digits), or any other text.
enum class IndexKind { kText, kEmail, kPhone };
const char* IndexKindName(IndexKind k);

struct IndexedField {
  std::string name;
  bool unique = false;
  IndexKind kind = IndexKind::kText;  // policy `normalize:`; by default from the name
};

struct Category {
  std::string name;
  LegalBasis legal_basis = LegalBasis::kContract;
  std::vector<std::string> purposes;
  Retention retention;
  bool survives_erasure = false;
  std::optional<std::string> consent_purpose;
  std::optional<Duration> on_consent_withdrawal;
  std::vector<IndexedField> index;
  std::string description;
  std::vector<LegalBasis> legal_bases;               // every basis; legal_basis is the first
  std::map<std::string, FieldTransform> transforms;  // top-level field -> rewrite on write
  std::vector<ForbiddenData> forbid;                 // refused on write
  // Who the category's data is disclosed to (Art. 15(1)(c)); shown in exports.
  std::vector<std::string> recipients;
};

struct Argon2Params {
  std::uint32_t memory_kib = 19456;  // OWASP minimum for Argon2id (19 MiB, t=2, p=1)
  std::uint32_t iterations = 2;
  std::uint32_t parallelism = 1;
};

// passwords: min_length, pepper and category (docs/policy.md).
struct PasswordRules {
  std::uint32_t min_length = 8;  // characters (code points); NIST SP 800-63B: at least 8
  bool pepper = false;           // HMAC the password with the keyring's pepper before Argon2
  // The category whose purposes an app token needs to set or verify passwords; when the policy
  // declares no such category (the default names `account`), any app token may.
  std::string category = "account";
};

// Immutable after Parse; safe to share between threads.
struct Policy {
  int version = 1;
  Duration erasure_grace{31, Duration::Unit::kDays};
  Duration epoch{1, Duration::Unit::kDays};
  Duration horizon{31, Duration::Unit::kDays};
  Argon2Params argon2;
  PasswordRules passwords;
  Duration audit_retention{90, Duration::Unit::kDays};
  // consents: {proof_retention: ...}: how long a consent's history is kept as proof after
  // the consent is withdrawn (or ends with an erasure), then shredded. Default 3y.
  Duration consent_proof_retention{3, Duration::Unit::kYears};
  // requests: {respond_within: ...}: the time the controller promises to answer a data-subject
  // request in; the request log's due date is the earlier of it and one calendar month (GDPR
  // Art. 12(3)). Default 1 month.
  Duration request_response{1, Duration::Unit::kMonths};
  std::string cipher = "xchacha20poly1305";  // or "aes256gcm" for AES-only regimes
  std::map<std::string, Category> categories;
  std::string source_sha256;  // hex digest of the YAML text it was parsed from
  // The settings the file states ("erasure.grace", "keys.epoch", "keys.horizon",
  // "audit.retention"); the others hold the vault's defaults, which the render does not
  // publish as the company's promises.
  std::set<std::string> stated;

  // Parses and validates YAML text. Errors name the line ("line 12: ...") and the problem.
  static StatusOr<Policy> Parse(const std::string& yaml_text);
  static StatusOr<Policy> LoadFile(const std::string& path);
  static const std::string& DefaultYaml();
  static const Policy& Default();

  const Category* Find(const std::string& category) const;
  // True if any of the purposes is one the category lists (purpose limitation).
  bool PurposeAllows(const Category& c, const std::vector<std::string>& purposes) const;
  bool Stated(const std::string& setting) const { return stated.count(setting) != 0; }
  // The published policy in Markdown: only what this vault enforces, with the true figures
  // (policy_render.cc). with_defaults adds the settings the file leaves to the vault's
  // defaults, each marked as such; without it they are not mentioned.
  std::string RenderMarkdown(bool with_defaults = false) const;
  // Whether some category rests on consent for this purpose (its consent_purpose).
  bool IsConsentPurpose(const std::string& purpose) const;
  // The categories a withdrawal of this purpose's consent ends: those whose legal basis is
  // consent for it, and those kept `or_until: consent_withdrawn` under its consent_purpose.
  std::vector<const Category*> ConsentCategories(const std::string& purpose) const;
};

}  // namespace vault
