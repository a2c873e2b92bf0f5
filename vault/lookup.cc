// Lookup by a blind-indexed value (lookup.h).
#include "vault/lookup.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "vault/index_keys.h"
#include "vault/index_value.h"

namespace vault {
namespace {

constexpr std::string_view kAction = "lookup";
// Entries read for one value: beyond this many the answer says it is truncated.
constexpr std::size_t kMaxEntries = 10 * Vault::kMaxLookupMatches;

const IndexedField* FieldOf(const Category& c, const std::string& name) {
  for (const auto& f : c.index) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

}  // namespace

StatusOr<std::pair<const Category*, const IndexedField*>> Lookups::Resolve(
    const Vault::LookupQuery& query) const {
  if (!query.category.empty()) {
    const Category* cat = p_.policy.Find(query.category);
    if (cat == nullptr) return PolicyViolation("the category is not declared in the policy");
    const IndexedField* f = FieldOf(*cat, query.field);
    if (f == nullptr) {
      return PolicyViolation("the field is not blind-indexed in category '" + cat->name + "'");
    }
    return std::pair{cat, f};
  }
  std::vector<std::pair<const Category*, const IndexedField*>> hits;
  std::string indexed;  // what the policy indexes, for the error message
  for (const auto& [name, c] : p_.policy.categories) {
    for (const auto& f : c.index) indexed += (indexed.empty() ? "" : ", ") + name + "." + f.name;
    if (const IndexedField* f = FieldOf(c, query.field)) hits.emplace_back(&c, f);
  }
  if (hits.empty()) {
    return PolicyViolation("the field is not blind-indexed by the policy (indexed: " +
                           (indexed.empty() ? "none" : indexed) + ")");
  }
  if (hits.size() > 1) {
    std::string names;
    for (const auto& h : hits) names += (names.empty() ? "" : ", ") + h.first->name;
    return PolicyViolation("field '" + query.field + "' is indexed in several categories (" +
                           names + "): name one in 'category'");
  }
  return hits.front();
}

StatusOr<std::optional<Lookups::Match>> Lookups::MatchOf(const Txn& txn, const Actor& actor,
                                                         const Category& cat,
                                                         const BlindIndex::Entry& e) const {
  std::string pseudonym = e.pseudonym;
  if (pseudonym.empty()) {  // an entry written before entries carried the pseudonym
    VAULT_ASSIGN_OR_RETURN(auto found, p_.subjects.PseudonymOfUid(txn, e.uid));
    if (!found) return DataLoss("a blind-index entry names a subject that does not exist");
    pseudonym = std::move(*found);
  }
  VAULT_ASSIGN_OR_RETURN(auto row, p_.subjects.Find(txn, pseudonym));
  if (!row || row->uid != e.uid) {
    return DataLoss("a blind-index entry names a subject that does not exist");
  }
  Match m;
  m.uid = e.uid;
  // Restriction stops an app, not the admin; a pending erasure stops everyone.
  m.refused = CheckAccess(*row, actor, Access{false, actor.role != Role::kApp});
  if (m.refused.ok()) m.refused = p_.objections.Check(txn, e.uid, actor, cat);
  if (m.refused.ok()) {
    VAULT_ASSIGN_OR_RETURN(m.subject_id, p_.subjects.OpenSubjectId(txn, *row));
  }
  return std::optional<Match>(std::move(m));
}

StatusOr<Lookups::Found> Lookups::Matches(const Txn& txn, const Actor& actor, const Category& cat,
                                          const IndexedField& field,
                                          const std::string& value) const {
  VAULT_ASSIGN_OR_RETURN(auto entries, p_.blind.Find(txn, field.name, value, kMaxEntries));
  Found out;
  out.more = entries.size() == kMaxEntries;
  std::set<Uid> seen;
  for (const auto& e : entries) {
    if (!e.category.empty() && e.category != cat.name) continue;
    // The record may be gone from under an entry: shredded, awaiting collection.
    if (seen.contains(e.uid) ||
        !p_.records.IsLive(txn, CategoryPrefix(e.uid, cat.name) + e.record_mac)) {
      continue;
    }
    if (out.matches.size() == Vault::kMaxLookupMatches) {
      out.more = true;
      break;
    }
    seen.insert(e.uid);
    VAULT_ASSIGN_OR_RETURN(auto m, MatchOf(txn, actor, cat, e));
    if (m) out.matches.push_back(std::move(*m));
  }
  return out;
}

Status Lookups::Audit(const Actor& actor, const std::string& category,
                      const std::vector<Match>& found, Status s) const {
  bool any = false;
  for (const auto& m : found) {
    if (!m.refused.ok() || !s.ok()) continue;
    p_.audit.AppendAsync(actor, std::string(kAction), m.uid, category, Code::kOk);
    any = true;
  }
  if (!any) {
    std::optional<Uid> uid;
    for (const auto& m : found) {
      if (m.refused.code() == s.code()) uid = m.uid;
    }
    p_.audit.AppendAsync(actor, std::string(kAction), uid, category, s.code());
  }
  return s;
}

StatusOr<Vault::LookupResult> Lookups::Find(const Actor& actor, const Vault::LookupQuery& query) {
  auto resolved = Resolve(query);
  if (!resolved.ok()) {  // the category is named only when it is one of the policy's
    const bool known = p_.policy.Find(query.category) != nullptr;
    return Audit(actor, known ? query.category : "", {}, resolved.status());
  }
  const Category* cat = resolved->first;
  const IndexedField* field = resolved->second;
  if (actor.role == Role::kApp && !p_.policy.PurposeAllows(*cat, query.purposes)) {
    return Audit(
        actor, cat->name, {},
        Status(Code::kPermissionDenied, "none of the token's purposes is a purpose of category '" +
                                            cat->name + "', whose index holds this field"));
  }
  auto normal = NormaliseIndexValue(*field, nlohmann::json(query.value));
  if (!normal.ok()) return Audit(actor, cat->name, {}, normal.status());
  if (!*normal) return Audit(actor, cat->name, {}, PolicyViolation("the value is empty"));
  Found found;
  Status s = p_.store.Read([&](Txn& txn) -> Status {
    VAULT_ASSIGN_OR_RETURN(found, Matches(txn, actor, *cat, *field, **normal));
    return Status::Ok();
  });
  Vault::LookupResult result{cat->name, {}, found.more};
  Status refusal;
  for (const auto& m : found.matches) {
    if (m.refused.ok()) {
      result.subject_ids.push_back(m.subject_id);
    } else if (refusal.ok()) {
      refusal = m.refused;
    }
  }
  if (s.ok() && result.subject_ids.empty()) {
    s = refusal.ok() ? NotFound("no subject holds this value in category '" + cat->name + "'")
                     : refusal;
  }
  VAULT_RETURN_IF_ERROR(Audit(actor, cat->name, found.matches, s));
  std::sort(result.subject_ids.begin(), result.subject_ids.end());
  return result;
}

}  // namespace vault
