// Policy as code: the machine-readable twin of the published privacy policy.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
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
  enum class Kind { kUntilErasure, kAfterEvent, kAfterCollection };
  Kind kind = Kind::kUntilErasure;
  Duration period;               // unused for kUntilErasure
  std::string ToString() const;  // "until_erasure", "after_event: 7y", ...
};

struct IndexedField {
  std::string name;
  bool unique = false;
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
  // Who the category's data is disclosed to (Art. 15(1)(c)); shown in exports.
  std::vector<std::string> recipients;
};

struct Argon2Params {
  std::uint32_t memory_kib = 19456;  // OWASP minimum for Argon2id (19 MiB, t=2, p=1)
  std::uint32_t iterations = 2;
  std::uint32_t parallelism = 1;
};

// Immutable after Parse; safe to share between threads.
struct Policy {
  int version = 1;
  Duration erasure_grace{31, Duration::Unit::kDays};
  Duration epoch{1, Duration::Unit::kDays};
  Duration horizon{31, Duration::Unit::kDays};
  Argon2Params argon2;
  Duration audit_retention{90, Duration::Unit::kDays};
  std::string cipher = "xchacha20poly1305";  // or "aes256gcm" for AES-only regimes
  std::map<std::string, Category> categories;
  std::string source_sha256;  // hex digest of the YAML text it was parsed from

  // Parses and validates YAML text. Errors name the line ("line 12: ...") and the problem.
  static StatusOr<Policy> Parse(const std::string& yaml_text);
  static StatusOr<Policy> LoadFile(const std::string& path);
  static const std::string& DefaultYaml();
  static const Policy& Default();

  const Category* Find(const std::string& category) const;
  // True if any of the purposes is one the category lists (purpose limitation).
  bool PurposeAllows(const Category& c, const std::vector<std::string>& purposes) const;
  // The retention table in Markdown, for the published policy.
  std::string RenderMarkdown() const;
};

}  // namespace vault
