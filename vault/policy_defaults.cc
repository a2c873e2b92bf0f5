// The built-in default policy, the names of the policy's enums, and lookups on a parsed policy
// (the parser is policy.cc).
#include <algorithm>
#include <cstdlib>

#include "vault/policy.h"

namespace vault {
namespace {

const char kDefaultPolicy[] = R"(# Built-in default policy: mirrors a typical SaaS privacy policy.
version: 1
erasure: {grace: 31d}                  # deletion requests can be cancelled for 31 days
keys: {epoch: 1d, horizon: 31d, cipher: xchacha20poly1305}  # horizon = backup retention
passwords: {argon2id: {memory_kib: 19456, iterations: 2, parallelism: 1}}
audit: {retention: 90d}
categories:
  account:
    description: Profile and login data needed to provide the service.
    legal_basis: contract
    purposes: [service, support]
    retention: until_erasure
    survives_erasure: false
    index: {email: {unique: true}, phone: {unique: false}}
  billing:
    description: Invoices and payments, kept for tax law.
    legal_basis: legal_obligation
    purposes: [billing]
    retention: {after_event: 7y}
    survives_erasure: true
    recipients: [payment processor, tax authority]
  usage:
    description: Product usage events.
    legal_basis: legitimate_interest
    purposes: [analytics, service]
    retention: {after_collection: 12m}
    survives_erasure: false
  support:
    description: Support tickets and correspondence.
    legal_basis: legitimate_interest
    purposes: [support]
    retention: {after_collection: 3y}
    survives_erasure: false
  marketing:
    description: Newsletter and marketing preferences.
    legal_basis: consent
    consent_purpose: marketing
    purposes: [marketing]
    retention: until_erasure
    survives_erasure: false
    on_consent_withdrawal: 30d
)";

}  // namespace

const char* LegalBasisName(LegalBasis b) {
  switch (b) {
    case LegalBasis::kContract:
      return "contract";
    case LegalBasis::kLegalObligation:
      return "legal_obligation";
    case LegalBasis::kLegitimateInterest:
      return "legitimate_interest";
    case LegalBasis::kConsent:
      return "consent";
    case LegalBasis::kVitalInterest:
      return "vital_interest";
    case LegalBasis::kPublicTask:
      return "public_task";
  }
  return "unknown";
}

const char* IndexKindName(IndexKind k) {
  switch (k) {
    case IndexKind::kText:
      return "text";
    case IndexKind::kEmail:
      return "email";
    case IndexKind::kPhone:
      return "phone";
  }
  return "text";
}

std::string Retention::ToString() const {
  std::string out;
  switch (kind) {
    case Kind::kUntilErasure:
      return "until_erasure";
    case Kind::kAfterEvent:
      out = "after_event: " + period.ToString();
      if (!event.empty()) out += ", event: " + event;
      break;
    case Kind::kAfterCollection:
      out = "after_collection: " + period.ToString();
      break;
    case Kind::kAfterLastActivity:
      out = "after_last_activity: " + period.ToString();
      break;
    case Kind::kAfterFirstCollection:
      out = "after_first_collection: " + period.ToString();
      break;
  }
  if (or_until_consent_withdrawn) out += ", or_until: consent_withdrawn";
  return out;
}

const char* FieldTransformName(FieldTransform t) {
  switch (t) {
    case FieldTransform::kTruncateIp:
      return "truncate_ip";
  }
  return "unknown";
}

const char* ForbiddenDataName(ForbiddenData f) {
  switch (f) {
    case ForbiddenData::kPaymentCardNumber:
      return "payment_card_number";
    case ForbiddenData::kCvv:
      return "cvv";
  }
  return "unknown";
}

const std::string& Policy::DefaultYaml() {
  static const std::string s = kDefaultPolicy;
  return s;
}

const Policy& Policy::Default() {
  static const Policy p = [] {
    auto r = Parse(DefaultYaml());
    if (!r.ok()) std::abort();  // the built-in policy is tested; it cannot be invalid
    return std::move(r).value();
  }();
  return p;
}

const Category* Policy::Find(const std::string& category) const {
  auto it = categories.find(category);
  return it == categories.end() ? nullptr : &it->second;
}

bool Policy::PurposeAllows(const Category& c, const std::vector<std::string>& purposes) const {
  for (const auto& p : purposes) {
    if (std::find(c.purposes.begin(), c.purposes.end(), p) != c.purposes.end()) return true;
  }
  return false;
}

bool Policy::IsConsentPurpose(const std::string& purpose) const {
  return !ConsentCategories(purpose).empty();
}

std::vector<const Category*> Policy::ConsentCategories(const std::string& purpose) const {
  std::vector<const Category*> out;
  for (const auto& [name, c] : categories) {
    if (c.consent_purpose == purpose &&
        (c.legal_basis == LegalBasis::kConsent || c.retention.or_until_consent_withdrawn)) {
      out.push_back(&c);
    }
  }
  return out;
}

}  // namespace vault
