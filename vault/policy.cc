// Policy YAML parsing and validation: every error names its line (defaults and names:
// policy_defaults.cc; the render: policy_render.cc).
#include "vault/policy.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "crypto/primitives.h"

namespace vault {
namespace {

class PolicyError {
 public:
  PolicyError(const YAML::Node& n, std::string msg)
      : line_(n.Mark().line + 1), msg_(std::move(msg)) {}
  PolicyError(int line, std::string msg) : line_(line), msg_(std::move(msg)) {}
  Status ToStatus() const {
    return InvalidArgument("policy line " + std::to_string(line_) + ": " + msg_);
  }

 private:
  int line_;
  std::string msg_;
};

// Every problem ParseRoot found, one line each ("policy line N: ...").
struct PolicyProblems {
  std::string lines;
};

void CheckKeys(const YAML::Node& map, const std::string& where,
               std::initializer_list<const char*> allowed) {
  if (!map.IsMap()) throw PolicyError(map, where + " must be a mapping");
  for (const auto& kv : map) {
    const std::string k = kv.first.as<std::string>();
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return k == a; })) {
      std::string list;
      for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
      throw PolicyError(kv.first,
                        "unknown key '" + k + "' in " + where + " (expected one of: " + list + ")");
    }
  }
}

std::string Scalar(const YAML::Node& n, const std::string& what) {
  if (!n.IsScalar()) throw PolicyError(n, what + " must be a scalar value");
  return n.Scalar();
}

Duration ParseDurationNode(const YAML::Node& n, const std::string& what) {
  auto d = Duration::Parse(Scalar(n, what));
  if (!d) {
    throw PolicyError(
        n, what + " must be a duration like 31d, 12m, 7y or 24h (got '" + n.Scalar() + "')");
  }
  return *d;
}

std::uint32_t ParseUint(const YAML::Node& n, const std::string& what, std::uint32_t lo,
                        std::uint32_t hi) {
  const std::string s = Scalar(n, what);
  if (s.empty() || s.size() > 9 || !std::all_of(s.begin(), s.end(), ::isdigit)) {
    throw PolicyError(n, what + " must be a whole number");
  }
  const auto v = static_cast<std::uint32_t>(std::stoul(s));
  if (v < lo || v > hi) {
    throw PolicyError(
        n, what + " must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  }
  return v;
}

bool ParseBool(const YAML::Node& n, const std::string& what) {
  const std::string s = Scalar(n, what);
  if (s == "true") return true;
  if (s == "false") return false;
  throw PolicyError(n, what + " must be true or false");
}

bool ValidFieldName(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
  });
}

bool ValidName(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

std::optional<LegalBasis> ParseBasis(const std::string& s) {
  static const std::pair<const char*, LegalBasis> kBases[] = {
      {"contract", LegalBasis::kContract},
      {"legal_obligation", LegalBasis::kLegalObligation},
      {"legitimate_interest", LegalBasis::kLegitimateInterest},
      {"consent", LegalBasis::kConsent},
      {"vital_interest", LegalBasis::kVitalInterest},
      {"public_task", LegalBasis::kPublicTask}};
  for (const auto& [name, b] : kBases) {
    if (s == name) return b;
  }
  return std::nullopt;
}

std::vector<std::string> ParsePurposes(const YAML::Node& n, const std::string& where) {
  const YAML::Node purposes = n["purposes"];
  if (!purposes || !purposes.IsSequence() || purposes.size() == 0) {
    throw PolicyError(purposes ? purposes : n, where + " needs a non-empty list of purposes");
  }
  std::vector<std::string> out;
  for (const auto& p : purposes) {
    std::string s = Scalar(p, "purpose");
    if (!ValidName(s)) throw PolicyError(p, "purpose '" + s + "' must match [a-z0-9_-]{1,64}");
    out.push_back(s);
  }
  return out;
}

// The period keys of a retention mapping, in the order the error message lists them.
constexpr std::pair<const char*, Retention::Kind> kPeriodKinds[] = {
    {"after_event", Retention::Kind::kAfterEvent},
    {"after_collection", Retention::Kind::kAfterCollection},
    {"after_last_activity", Retention::Kind::kAfterLastActivity},
    {"after_first_collection", Retention::Kind::kAfterFirstCollection}};

Retention ParseRetention(const YAML::Node& n, const std::string& where) {
  const YAML::Node r = n["retention"];
  if (!r) throw PolicyError(n, where + " needs retention");
  Retention out;
  if (r.IsScalar()) {
    if (r.Scalar() != "until_erasure") {
      throw PolicyError(r,
                        "retention must be until_erasure or a mapping with one of "
                        "after_event, after_collection, after_last_activity, "
                        "after_first_collection");
    }
    out.kind = Retention::Kind::kUntilErasure;
    return out;
  }
  CheckKeys(r, "retention",
            {"after_event", "after_collection", "after_last_activity", "after_first_collection",
             "event", "or_until"});
  int periods = 0;
  for (const auto& [key, kind] : kPeriodKinds) {
    if (!r[key]) continue;
    ++periods;
    out.kind = kind;
    out.period = ParseDurationNode(r[key], std::string("retention.") + key);
  }
  if (periods != 1) {
    throw PolicyError(r,
                      "retention takes exactly one of after_event, after_collection, "
                      "after_last_activity, after_first_collection");
  }
  if (const YAML::Node e = r["event"]) {
    if (out.kind != Retention::Kind::kAfterEvent) {
      throw PolicyError(e, "retention.event names the event of after_event; it needs after_event");
    }
    out.event = Scalar(e, "retention.event");
    if (!ValidName(out.event)) throw PolicyError(e, "retention.event must match [a-z0-9_-]{1,64}");
  }
  if (const YAML::Node u = r["or_until"]) {
    if (Scalar(u, "retention.or_until") != "consent_withdrawn") {
      throw PolicyError(u, "retention.or_until must be consent_withdrawn");
    }
    out.or_until_consent_withdrawn = true;
  }
  return out;
}

// legal_basis: one basis, or a list of them ([contract, legal_obligation]).
std::vector<LegalBasis> ParseBases(const YAML::Node& n, const std::string& where) {
  const YAML::Node b = n["legal_basis"];
  if (!b) throw PolicyError(n, where + " needs legal_basis");
  std::vector<YAML::Node> items;
  if (b.IsSequence()) {
    if (b.size() == 0) throw PolicyError(b, "legal_basis must not be an empty list");
    for (const auto& item : b) items.push_back(item);
  } else {
    items.push_back(b);
  }
  std::vector<LegalBasis> out;
  for (const auto& item : items) {
    auto basis = ParseBasis(Scalar(item, "legal_basis"));
    if (!basis) {
      throw PolicyError(item,
                        "legal_basis must be one of contract, legal_obligation, "
                        "legitimate_interest, consent, vital_interest, public_task");
    }
    if (std::find(out.begin(), out.end(), *basis) != out.end()) {
      throw PolicyError(item, "legal_basis lists " + item.Scalar() + " twice");
    }
    out.push_back(*basis);
  }
  return out;
}

bool HasBasis(const Category& c, LegalBasis b) {
  return std::find(c.legal_bases.begin(), c.legal_bases.end(), b) != c.legal_bases.end();
}

// consent_purpose and on_consent_withdrawal, and the rule that consent needs a purpose.
void ParseConsent(const YAML::Node& n, const std::string& where, Category* c) {
  if (n["consent_purpose"]) {
    c->consent_purpose = Scalar(n["consent_purpose"], "consent_purpose");
    if (!ValidName(*c->consent_purpose)) {
      throw PolicyError(n["consent_purpose"], "consent_purpose must match [a-z0-9_-]{1,64}");
    }
  }
  if (HasBasis(*c, LegalBasis::kConsent) && !c->consent_purpose) {
    throw PolicyError(n, where + " rests on consent and needs consent_purpose");
  }
  if (n["on_consent_withdrawal"]) {
    if (!c->consent_purpose) {
      throw PolicyError(n["on_consent_withdrawal"], "on_consent_withdrawal needs consent_purpose");
    }
    c->on_consent_withdrawal =
        ParseDurationNode(n["on_consent_withdrawal"], "on_consent_withdrawal");
  }
  if (c->retention.or_until_consent_withdrawn && !c->consent_purpose) {
    throw PolicyError(n["retention"],
                      "retention.or_until: consent_withdrawn needs consent_purpose");
  }
}

// email, *_email -> email; phone, mobile, *_phone -> phone; anything else -> text.
IndexKind DefaultIndexKind(const std::string& name) {
  auto ends = [&](std::string_view suffix) { return name.ends_with(suffix); };
  if (name == "email" || ends("_email")) return IndexKind::kEmail;
  if (name == "phone" || name == "mobile" || ends("_phone")) return IndexKind::kPhone;
  return IndexKind::kText;
}

IndexKind ParseIndexKind(const YAML::Node& n) {
  const std::string v = Scalar(n, "normalize");
  for (IndexKind k : {IndexKind::kText, IndexKind::kEmail, IndexKind::kPhone}) {
    if (v == IndexKindName(k)) return k;
  }
  throw PolicyError(n, "normalize must be one of email, phone, text");
}

std::vector<IndexedField> ParseIndex(const YAML::Node& idx) {
  if (!idx.IsMap()) throw PolicyError(idx, "index must map field names to {unique: bool}");
  std::vector<IndexedField> out;
  for (const auto& kv : idx) {
    IndexedField f;
    f.name = kv.first.as<std::string>();
    if (!ValidName(f.name)) throw PolicyError(kv.first, "index field must match [a-z0-9_-]{1,64}");
    f.kind = DefaultIndexKind(f.name);
    if (kv.second.IsMap()) {
      CheckKeys(kv.second, "index." + f.name, {"unique", "normalize"});
      if (kv.second["unique"]) f.unique = ParseBool(kv.second["unique"], "unique");
      if (kv.second["normalize"]) f.kind = ParseIndexKind(kv.second["normalize"]);
    } else if (!kv.second.IsNull()) {
      throw PolicyError(kv.second, "index." + f.name + " must be {unique: true|false}");
    }
    out.push_back(f);
  }
  return out;
}

// transforms: {field: truncate_ip}; fields are top-level keys of the record's data.
std::map<std::string, FieldTransform> ParseTransforms(const YAML::Node& t) {
  if (!t.IsMap()) throw PolicyError(t, "transforms must map field names to a transform");
  std::map<std::string, FieldTransform> out;
  for (const auto& kv : t) {
    const std::string field = kv.first.as<std::string>();
    if (!ValidFieldName(field)) {
      throw PolicyError(kv.first, "transforms field must match [A-Za-z0-9_-]{1,64}");
    }
    if (Scalar(kv.second, "transforms." + field) != "truncate_ip") {
      throw PolicyError(kv.second, "transforms." + field + " must be truncate_ip");
    }
    out[field] = FieldTransform::kTruncateIp;
  }
  return out;
}

// forbid: [payment_card_number, cvv].
std::vector<ForbiddenData> ParseForbid(const YAML::Node& f) {
  if (!f.IsSequence() || f.size() == 0) {
    throw PolicyError(f, "forbid must be a non-empty list (payment_card_number, cvv)");
  }
  std::vector<ForbiddenData> out;
  for (const auto& item : f) {
    const std::string s = Scalar(item, "forbid");
    ForbiddenData d;
    if (s == "payment_card_number") {
      d = ForbiddenData::kPaymentCardNumber;
    } else if (s == "cvv") {
      d = ForbiddenData::kCvv;
    } else {
      throw PolicyError(item, "forbid entries must be payment_card_number or cvv");
    }
    if (std::find(out.begin(), out.end(), d) != out.end()) {
      throw PolicyError(item, "forbid lists " + s + " twice");
    }
    out.push_back(d);
  }
  return out;
}

// recipients: a list of who receives the data, free text (1..200 bytes, no control bytes).
std::vector<std::string> ParseRecipients(const YAML::Node& n, const std::string& where) {
  if (!n.IsSequence()) throw PolicyError(n, where + " recipients must be a list of names");
  std::vector<std::string> out;
  for (const auto& r : n) {
    std::string s = Scalar(r, "recipient");
    const bool control = std::any_of(s.begin(), s.end(),
                                     [](char ch) { return static_cast<unsigned char>(ch) < 0x20; });
    if (s.empty() || s.size() > 200 || control) {
      throw PolicyError(r, "a recipient must be 1..200 bytes of text without control characters");
    }
    out.push_back(std::move(s));
  }
  return out;
}

Category ParseCategory(const std::string& name, const YAML::Node& n) {
  const std::string where = "category '" + name + "'";
  CheckKeys(
      n, where,
      {"description", "legal_basis", "purposes", "retention", "survives_erasure", "consent_purpose",
       "on_consent_withdrawal", "index", "transforms", "forbid", "recipients"});
  Category c;
  c.name = name;
  c.legal_bases = ParseBases(n, where);
  c.legal_basis = c.legal_bases.front();
  if (n["description"]) c.description = Scalar(n["description"], "description");
  c.purposes = ParsePurposes(n, where);
  c.retention = ParseRetention(n, where);
  if (n["survives_erasure"])
    c.survives_erasure = ParseBool(n["survives_erasure"], "survives_erasure");
  if (c.survives_erasure && c.retention.kind == Retention::Kind::kUntilErasure) {
    throw PolicyError(n["survives_erasure"],
                      where +
                          " survives erasure but is retained until erasure: give it a "
                          "time-bound retention such as {after_event: 7y}");
  }
  ParseConsent(n, where, &c);
  if (n["index"]) c.index = ParseIndex(n["index"]);
  if (n["transforms"]) c.transforms = ParseTransforms(n["transforms"]);
  if (n["forbid"]) c.forbid = ParseForbid(n["forbid"]);
  if (n["recipients"]) c.recipients = ParseRecipients(n["recipients"], where);
  return c;
}

// Runs one section's parse; a problem in it is recorded and the next section still runs, so a
// check names every broken section at once (the first problem of each).
class ProblemList {
 public:
  template <typename Fn>
  void Section(Fn&& fn) {
    try {
      fn();
    } catch (const PolicyError& e) {
      problems_.push_back(e.ToStatus().message());
    }
  }
  bool empty() const { return problems_.empty(); }
  // One line per problem, in file order of the sections.
  std::string Joined() const {
    std::string out;
    for (const auto& p : problems_) out += (out.empty() ? "" : "\n") + p;
    return out;
  }

 private:
  std::vector<std::string> problems_;
};

void ParseKeys(const YAML::Node& k, Policy* p) {
  CheckKeys(k, "keys", {"epoch", "horizon", "cipher"});
  if (k["epoch"]) p->epoch = ParseDurationNode(k["epoch"], "keys.epoch");
  if (k["horizon"]) p->horizon = ParseDurationNode(k["horizon"], "keys.horizon");
  if (k["epoch"]) p->stated.insert("keys.epoch");
  if (k["horizon"]) p->stated.insert("keys.horizon");
  if (k["cipher"]) {
    p->cipher = Scalar(k["cipher"], "keys.cipher");
    if (p->cipher != "xchacha20poly1305" && p->cipher != "aes256gcm") {
      throw PolicyError(k["cipher"], "keys.cipher must be xchacha20poly1305 or aes256gcm");
    }
  }
  if (p->epoch.ApproxSeconds() < 3600) {
    throw PolicyError(k["epoch"] ? k["epoch"] : k, "keys.epoch must be at least 1h");
  }
}

void ParsePasswords(const YAML::Node& pw, Policy* p) {
  CheckKeys(pw, "passwords", {"argon2id", "min_length", "pepper", "category"});
  // NIST SP 800-63B: at least 8, and a password of 64 characters must always be accepted.
  if (pw["min_length"]) p->passwords.min_length = ParseUint(pw["min_length"], "min_length", 8, 64);
  if (pw["pepper"]) p->passwords.pepper = ParseBool(pw["pepper"], "passwords.pepper");
  if (pw["category"]) p->passwords.category = Scalar(pw["category"], "passwords.category");
  if (const auto a = pw["argon2id"]) {
    CheckKeys(a, "passwords.argon2id", {"memory_kib", "iterations", "parallelism"});
    // Floors are OWASP's Argon2id minimum (m=19 MiB, t=2, p=1); ceilings keep memory bounded.
    if (a["memory_kib"])
      p->argon2.memory_kib = ParseUint(a["memory_kib"], "memory_kib", 19456, 4 << 20);
    if (a["iterations"]) p->argon2.iterations = ParseUint(a["iterations"], "iterations", 2, 100);
    if (a["parallelism"]) p->argon2.parallelism = ParseUint(a["parallelism"], "parallelism", 1, 16);
  }
}

void ParseCategories(const YAML::Node& root, Policy* p, ProblemList* problems) {
  const YAML::Node cats = root["categories"];
  if (!cats || !cats.IsMap() || cats.size() == 0) {
    throw PolicyError(cats ? cats : root, "categories must be a non-empty mapping");
  }
  for (const auto& kv : cats) {
    problems->Section([&] {
      const std::string name = kv.first.as<std::string>();
      if (!ValidName(name)) {
        throw PolicyError(kv.first, "category name must match [a-z0-9_-]{1,64}");
      }
      if (p->categories.count(name)) {
        throw PolicyError(kv.first, "category '" + name + "' is declared twice");
      }
      p->categories.emplace(name, ParseCategory(name, kv.second));
    });
  }
}

Policy ParseRoot(const YAML::Node& root) {
  if (!root.IsMap()) throw PolicyError(root, "the policy must be a YAML mapping");
  Policy p;
  ProblemList problems;
  problems.Section([&] {
    CheckKeys(
        root, "the policy",
        {"version", "erasure", "keys", "passwords", "audit", "consents", "requests", "categories"});
  });
  problems.Section([&] {
    if (!root["version"]) throw PolicyError(root, "version is required (version: 1)");
    if (Scalar(root["version"], "version") != "1") {
      throw PolicyError(root["version"], "unsupported policy version (this vault reads version 1)");
    }
  });
  if (const auto e = root["erasure"]) {
    problems.Section([&] {
      CheckKeys(e, "erasure", {"grace"});
      if (e["grace"]) p.erasure_grace = ParseDurationNode(e["grace"], "erasure.grace");
      if (e["grace"]) p.stated.insert("erasure.grace");
    });
  }
  if (const auto k = root["keys"]) problems.Section([&] { ParseKeys(k, &p); });
  if (const auto pw = root["passwords"]) problems.Section([&] { ParsePasswords(pw, &p); });
  if (const auto au = root["audit"]) {
    problems.Section([&] {
      CheckKeys(au, "audit", {"retention"});
      if (au["retention"]) {
        p.audit_retention = ParseDurationNode(au["retention"], "audit.retention");
        p.stated.insert("audit.retention");
      }
    });
  }
  if (const auto c = root["consents"]) {
    problems.Section([&] {
      CheckKeys(c, "consents", {"proof_retention"});
      if (c["proof_retention"]) {
        p.consent_proof_retention =
            ParseDurationNode(c["proof_retention"], "consents.proof_retention");
        p.stated.insert("consents.proof_retention");
      }
    });
  }
  if (const auto rq = root["requests"]) {
    problems.Section([&] {
      CheckKeys(rq, "requests", {"respond_within"});
      if (rq["respond_within"]) {
        p.request_response = ParseDurationNode(rq["respond_within"], "requests.respond_within");
        p.stated.insert("requests.respond_within");
      }
    });
  }
  problems.Section([&] { ParseCategories(root, &p, &problems); });
  if (const auto pw = root["passwords"]; pw && pw.IsMap() && pw["category"]) {
    problems.Section([&] {
      if (p.Find(p.passwords.category) == nullptr) {
        throw PolicyError(pw["category"], "passwords.category names no category of the policy");
      }
    });
  }
  if (!problems.empty()) throw PolicyProblems{problems.Joined()};
  return p;
}

}  // namespace

StatusOr<Policy> Policy::Parse(const std::string& yaml_text) {
  try {
    YAML::Node root = YAML::Load(yaml_text);
    Policy p = ParseRoot(root);
    p.source_sha256 = crypto::ToHex(crypto::Sha256(yaml_text));
    return p;
  } catch (const PolicyError& e) {
    return e.ToStatus();
  } catch (const PolicyProblems& e) {
    return InvalidArgument(e.lines);
  } catch (const YAML::Exception& e) {
    // yaml-cpp's message describes syntax only (no values), so it is safe to show.
    return InvalidArgument("policy line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("policy: ") + e.what());
  }
}

StatusOr<Policy> Policy::LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument("cannot read policy file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  if (ss.str().size() > (1 << 20)) return InvalidArgument("policy file is larger than 1 MiB");
  auto p = Parse(ss.str());
  if (!p.ok()) {
    // Every problem on its own line, each naming the file.
    const Status status = p.status();
    const std::string& message = status.message();
    std::string lines = path + ": ";
    for (const char c : message) {
      lines.push_back(c);
      if (c == '\n') lines += path + ": ";
    }
    return Status(status.code(), lines);
  }
  return p;
}

}  // namespace vault
