// Reporter: the compliance report (`lethe report`, GET /v1/admin/report, the lethe_report_*
// gauges): what the vault holds per category and whether it is behind on a promise (a shred
// past retention, an erasure past its statutory deadline, an epoch KEK past its horizon).
// Owns no table; reads keys, scopes, expiry, holds, erasures and the keyring's epochs.
#pragma once

#include <optional>
#include <vector>

#include "vault/epochs.h"
#include "vault/keyring.h"
#include "vault/rows.h"
#include "vault/store.h"
#include "vault/vault.h"

namespace vault {

// A part that owns a queue of promised actions (consent withdrawals) and reports it: adds
// its figures to report->pending under its name. Runs in the report's read transaction.
// Plugged in with one call: Reporter::AddSource, in Vault::Impl::BuildParts.
class ReportSource {
 public:
  virtual ~ReportSource() = default;
  virtual Status AddToReport(const Txn& txn, UnixSeconds now, ComplianceReport* report) const = 0;
};

// Thread-safe after the sources are added.
class Reporter {
 public:
  Reporter(Store& store, const Policy& policy, const Clock& clock, const Keyring& keyring,
           const EpochSchedule& schedule)
      : store_(store), policy_(policy), clock_(clock), keyring_(keyring), schedule_(schedule) {}

  // REQUIRES: before the first Build; the source outlives the Reporter.
  void AddSource(const ReportSource& source) { sources_.push_back(&source); }

  // The figures at `at` (default: now), from one read transaction. O(keys + holds + erasures).
  StatusOr<ComplianceReport> Build(std::optional<UnixSeconds> at) const;

 private:
  Status CountKeys(const Txn& txn, UnixSeconds now, ComplianceReport* r) const;
  Status CountSubjects(const Txn& txn, ComplianceReport* r) const;
  StatusOr<std::vector<Uid>> CountHolds(const Txn& txn, UnixSeconds now, ComplianceReport* r) const;
  Status ListErasures(const Txn& txn, UnixSeconds now, ComplianceReport* r) const;
  void CheckEpochs(UnixSeconds now, ComplianceReport* r) const;

  Store& store_;
  const Policy& policy_;
  const Clock& clock_;
  const Keyring& keyring_;
  const EpochSchedule& schedule_;
  std::vector<const ReportSource*> sources_;
};

}  // namespace vault
