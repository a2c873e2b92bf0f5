// Policy::RenderMarkdown: the published policy, stating only what this vault enforces, with the
// figures the engine really keeps (epochs.cc, backup.cc, records.cc) and no default passed off
// as a company's promise.
#include <sstream>
#include <string>
#include <vector>

#include "vault/policy.h"

namespace vault {
namespace {

// Consent withdrawal: the consents part shreds the categories whose legal basis is the
// withdrawn consent, and those kept `or_until: consent_withdrawn`, after on_consent_withdrawal
// (Policy::ConsentCategories), so both are published.
constexpr bool kConsentWithdrawalEnforced = true;
constexpr bool kOrUntilConsentWithdrawnEnforced = true;

const char kDefaultMark[] = " (vault default: this policy does not state it)";

std::string Words(std::string s) {
  for (char& c : s) {
    if (c == '_') c = ' ';
  }
  return s;
}

std::string Bases(const Category& c) {
  std::string out;
  for (const LegalBasis b : c.legal_bases) {
    out += (out.empty() ? "" : " + ") + Words(LegalBasisName(b));
  }
  return out.empty() ? Words(LegalBasisName(c.legal_basis)) : out;
}

// The sum of durations as one figure when they are all hours or days ("31d", "36h"), or
// written as a sum when months or years take part (their length depends on the date).
std::string Sum(const std::vector<Duration>& parts) {
  std::int64_t hours = 0;
  std::string written;
  bool exact = true;
  for (const Duration& d : parts) {
    written += (written.empty() ? "" : " + ") + d.ToString();
    if (d.unit == Duration::Unit::kHours) {
      hours += d.count;
    } else if (d.unit == Duration::Unit::kDays) {
      hours += d.count * 24;
    } else {
      exact = false;
    }
  }
  if (!exact) return written;
  return hours % 24 == 0 ? std::to_string(hours / 24) + "d" : std::to_string(hours) + "h";
}

std::string Kept(const Category& c) {
  const Retention& r = c.retention;
  const std::string period = r.period.ToString();
  std::string out;
  switch (r.kind) {
    case Retention::Kind::kUntilErasure:
      return "until an erasure request for the subject is carried out";
    case Retention::Kind::kAfterEvent:
      out = period + " after the " + (r.event.empty() ? "event" : Words(r.event)) +
            " (the event_time of the write; the write itself when it gives none)";
      break;
    case Retention::Kind::kAfterCollection:
      out = period + " after the record's latest write (an update restarts the period)";
      break;
    case Retention::Kind::kAfterLastActivity:
      out = period + " of inactivity (each write of the record restarts the period)";
      break;
    case Retention::Kind::kAfterFirstCollection:
      out = period + " after the record was first written (updates do not extend it)";
      break;
  }
  out += ", then shredded by the end of that UTC day";
  if (kOrUntilConsentWithdrawnEnforced && r.or_until_consent_withdrawn) {
    out += ", or earlier when consent is withdrawn";
  }
  return out;
}

void RenderCategories(const Policy& p, std::ostringstream& o) {
  o << "| Category | Legal basis | Purposes | Kept | After an erasure request |\n"
    << "|---|---|---|---|---|\n";
  for (const auto& [name, c] : p.categories) {
    std::string purposes;
    for (const auto& pu : c.purposes) purposes += (purposes.empty() ? "" : ", ") + pu;
    std::string kept = Kept(c);
    if (kConsentWithdrawalEnforced && c.on_consent_withdrawal) {
      kept += "; deleted within " + c.on_consent_withdrawal->ToString() + " of consent withdrawal";
    }
    o << "| " << name << " | " << Bases(c) << " | " << purposes << " | " << kept << " | "
      << (c.survives_erasure ? "kept until its own retention ends" : "destroyed") << " |\n";
  }
  if (p.Stated("consents.proof_retention")) {
    o << "\nRecords of a consent (when and how it was given and withdrawn) are kept as proof for "
      << p.consent_proof_retention.ToString() << " after it is withdrawn, then destroyed.\n";
  }
  if (p.Stated("requests.respond_within")) {
    o << "\nEach request to exercise a data-protection right is logged with its due date, "
      << p.request_response.ToString()
      << " after it is received (and never later than one calendar month); an extension by two "
         "further months, with its reason, is made within that time. A request still open "
         "after its due date is reported as overdue.\n";
  }
}

void RenderWriteRules(const Policy& p, std::ostringstream& o) {
  std::ostringstream rules;
  for (const auto& [name, c] : p.categories) {
    for (const auto& [field, t] : c.transforms) {
      if (t == FieldTransform::kTruncateIp) {
        rules << "- " << name << "." << field
              << ": IP addresses are shortened before they are stored (IPv4: last octet set to "
                 "0; IPv6: only the first 48 bits kept).\n";
      }
    }
    for (const ForbiddenData f : c.forbid) {
      rules << "- " << name << ": "
            << (f == ForbiddenData::kPaymentCardNumber
                    ? "a full payment card number (recognised by its Luhn check) in any field"
                    : "a card security code (a field named cvv, cvc or csc)")
            << " is refused, never stored.\n";
    }
  }
  if (!rules.str().empty()) o << "\n## On every write\n\n" << rules.str();
}

// "31d", marked when the value is the vault's default rather than the policy's.
std::string Setting(const Policy& p, const char* key, const Duration& d) {
  return d.ToString() + (p.Stated(key) ? "" : kDefaultMark);
}

void RenderErasure(const Policy& p, bool with_defaults, std::ostringstream& o) {
  const bool grace = p.Stated("erasure.grace") || with_defaults;
  const bool keys = p.Stated("keys.horizon") || with_defaults;
  if (!grace && !keys) return;
  o << "\n## Erasure and backups\n\n";
  if (grace) {
    o << "- A deletion request is carried out " << Setting(p, "erasure.grace", p.erasure_grace)
      << " after it is made and can be cancelled until then; an immediate erasure is carried "
         "out at once. A legal hold delays either until it is released.\n";
  }
  if (!keys) return;
  const std::string life = Sum({p.horizon, p.epoch});
  o << "- Every backup is unreadable at most " << life << " after it is taken (shred horizon "
    << Setting(p, "keys.horizon", p.horizon) << " + key epoch " << Setting(p, "keys.epoch", p.epoch)
    << ").\n";
  if (grace) {
    o << "- Erased data is unrecoverable from every copy, backups included, at most "
      << Sum({p.erasure_grace, p.horizon, p.epoch})
      << " after a deletion request (grace + horizon + epoch), or " << life
      << " after an immediate erasure.\n";
  } else {
    o << "- Erased data is unrecoverable from every copy, backups included, at most " << life
      << " after the erasure is carried out.\n";
  }
  o << "- Data whose retention ends is unrecoverable from every copy at most " << life
    << " after it is shredded.\n"
    << "\nThese times assume the sweeper runs (every 60 seconds by default), which rotates key "
       "epochs and destroys retired ones.\n";
}

}  // namespace

std::string Policy::RenderMarkdown(bool with_defaults) const {
  std::ostringstream o;
  RenderCategories(*this, o);
  RenderWriteRules(*this, o);
  RenderErasure(*this, with_defaults, o);
  return o.str();
}

}  // namespace vault
