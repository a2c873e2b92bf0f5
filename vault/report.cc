// The compliance report's figures (report.h), read in one snapshot.
#include "vault/report.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "vault/codec.h"
#include "vault/index_keys.h"
#include "vault/rows.h"

namespace vault {

std::uint64_t ComplianceReport::ShredsOverdue() const {
  std::uint64_t n = 0;
  for (const auto& [name, c] : categories) n += c.shreds_overdue;
  return n;
}

std::uint64_t ComplianceReport::ErasuresOverdue() const {
  return static_cast<std::uint64_t>(
      std::count_if(erasures_pending.begin(), erasures_pending.end(),
                    [](const PendingErasureFigures& e) { return e.overdue; }));
}

bool ComplianceReport::AnythingOverdue() const {
  if (ShredsOverdue() > 0 || ErasuresOverdue() > 0 || epochs_overdue > 0) return true;
  return std::any_of(pending.begin(), pending.end(),
                     [](const auto& kv) { return kv.second.overdue > 0; });
}

namespace {

// One calendar month: the statutory time to answer a data-subject request (GDPR Art. 12(3)).
constexpr Duration kStatutoryMonth{1, Duration::Unit::kMonths};

}  // namespace

StatusOr<ComplianceReport> Reporter::Build(std::optional<UnixSeconds> at) const {
  ComplianceReport r;
  r.generated_at = at.value_or(clock_.Now());
  for (const auto& [name, cat] : policy_.categories) r.categories[name] = CategoryFigures{};
  VAULT_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    VAULT_RETURN_IF_ERROR(CountKeys(txn, r.generated_at, &r));
    VAULT_RETURN_IF_ERROR(CountSubjects(txn, &r));
    VAULT_RETURN_IF_ERROR(ListErasures(txn, r.generated_at, &r));
    for (const ReportSource* source : sources_) {
      VAULT_RETURN_IF_ERROR(source->AddToReport(txn, r.generated_at, &r));
    }
    return Status::Ok();
  }));
  CheckEpochs(r.generated_at, &r);
  return r;
}

// Live keys per category; the expired ones are overdue unless a hold in force keeps them.
Status Reporter::CountKeys(const Txn& txn, UnixSeconds now, ComplianceReport* r) const {
  VAULT_ASSIGN_OR_RETURN(std::vector<Uid> held_list, CountHolds(txn, now, r));
  const std::set<Uid> held(held_list.begin(), held_list.end());
  Status corrupt;
  VAULT_RETURN_IF_ERROR(txn.ScanFrom(Table::kKeys, "", [&](std::string_view, std::string_view v) {
    KeyRow row;
    ScopeName scope;
    if (!DecodeKeyRow(v, &row) || !ParseScope(row.scope, &scope)) {
      corrupt = DataLoss("a key row is corrupt");
      return false;
    }
    auto it = r->categories.find(scope.category);
    if (it == r->categories.end()) return true;  // the subject-id scope, or a retired category
    ++it->second.keys_alive;
    if (row.expires_at != 0 && row.expires_at <= now) {
      ++(held.contains(scope.uid) ? it->second.shreds_held : it->second.shreds_overdue);
    }
    return true;
  }));
  return corrupt;
}

// Subjects per category: scopes sort by uid then category, so each pair is one run.
Status Reporter::CountSubjects(const Txn& txn, ComplianceReport* r) const {
  std::string last;  // uid | category of the previous scope
  return txn.ScanFrom(Table::kScopes, "", [&](std::string_view k, std::string_view) {
    ScopeName scope;
    if (!ParseScope(k, &scope)) return true;
    const std::string_view pair = k.substr(0, k.size() - 8);
    if (pair == last) return true;
    last = std::string(pair);
    auto it = r->categories.find(scope.category);
    if (it != r->categories.end()) ++it->second.subjects;
    return true;
  });
}

// Holds in force at now (a row that cannot be read counts as in force, as in LegalHolds);
// returns the subjects they hold.
StatusOr<std::vector<Uid>> Reporter::CountHolds(const Txn& txn, UnixSeconds now,
                                                ComplianceReport* r) const {
  std::vector<Uid> held;
  VAULT_RETURN_IF_ERROR(
      txn.ScanFrom(Table::kHolds, "", [&](std::string_view k, std::string_view v) {
        HoldRow h;
        const bool in_force = !DecodeHold(v, &h) || !h.has_until || h.until > now;
        if (!in_force || k.size() < 16) return true;
        ++r->legal_holds;
        Uid uid;
        std::memcpy(uid.data(), k.data(), uid.size());
        if (held.empty() || held.back() != uid) held.push_back(uid);  // holds sort by uid
        return true;
      }));
  r->subjects_held = held.size();
  return held;
}

// Scheduled erasures, by execute_at, against their statutory deadline.
Status Reporter::ListErasures(const Txn& txn, UnixSeconds now, ComplianceReport* r) const {
  Status corrupt;
  VAULT_RETURN_IF_ERROR(
      txn.ScanFrom(Table::kErasureDue, "", [&](std::string_view k, std::string_view) {
        if (k.size() != 24) return true;
        const std::string_view id = TimedKeyId(k);
        auto v = txn.Get(Table::kErasures, id);
        ErasureRow row;
        if (!v || !DecodeErasure(*v, &row)) {
          corrupt = DataLoss("an erasure row is missing or corrupt");
          return false;
        }
        if (row.state != "scheduled") return true;
        PendingErasureFigures e;
        e.erasure_id = crypto::ToHex(crypto::AsBytes(id));
        e.requested_at = row.requested_at;
        e.execute_at = row.execute_at;
        e.deadline = kStatutoryMonth.AddTo(row.requested_at);
        e.overdue = now > e.deadline;
        e.scheduled_late = row.execute_at > e.deadline;
        e.blocked_by_hold = row.blocked_by_hold;
        r->erasures_pending.push_back(std::move(e));
        return true;
      }));
  return corrupt;
}

void Reporter::CheckEpochs(UnixSeconds now, ComplianceReport* r) const {
  for (const EpochInfo& e : keyring_.Epochs()) {
    if (e.destroyed) continue;
    if (r->oldest_epoch == 0 || e.id < r->oldest_epoch) {
      r->oldest_epoch = e.id;
      r->oldest_epoch_dies_at = schedule_.KekDiesAt(e, now);
    }
    if (e.retired_at != 0 && schedule_.KekDiesAt(e, now) <= now) ++r->epochs_overdue;
  }
}

}  // namespace vault
