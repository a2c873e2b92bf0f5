// `lethe report`: the compliance report, as text or (--json) as GET /v1/admin/report prints
// it; exit code 4 (kExitOverdue) when anything is overdue, for alerting.
#include <iomanip>
#include <iostream>

#include "api/cli/common.h"
#include "api/report_json.h"

namespace vault::cli {
namespace {

void PrintCategories(const ComplianceReport& r) {
  std::cout << std::left << std::setw(16) << "category" << std::right << std::setw(10) << "subjects"
            << std::setw(12) << "keys alive" << std::setw(16) << "shreds overdue" << std::setw(14)
            << "shreds held"
            << "\n";
  for (const auto& [name, c] : r.categories) {
    std::cout << std::left << std::setw(16) << name << std::right << std::setw(10) << c.subjects
              << std::setw(12) << c.keys_alive << std::setw(16) << c.shreds_overdue << std::setw(14)
              << c.shreds_held << "\n";
  }
}

void PrintText(const ComplianceReport& r) {
  std::cout << "Compliance report at " << FormatRfc3339(r.generated_at) << "\n\n";
  PrintCategories(r);
  std::cout << "\nLegal holds in force: " << r.legal_holds << " (on " << r.subjects_held
            << " subjects)\n";
  std::cout << "Erasures pending: " << r.erasures_pending.size() << ", overdue "
            << r.ErasuresOverdue() << "\n";
  for (const PendingErasureFigures& e : r.erasures_pending) {
    std::cout << "  " << e.erasure_id << "  requested " << FormatRfc3339(e.requested_at)
              << "  executes " << FormatRfc3339(e.execute_at) << "  deadline "
              << FormatRfc3339(e.deadline) << (e.overdue ? "  OVERDUE" : "")
              << (e.scheduled_late ? "  scheduled after its deadline" : "")
              << (e.blocked_by_hold ? "  held" : "") << "\n";
  }
  for (const auto& [queue, p] : r.pending) {
    std::cout << "Pending " << queue << ": " << p.pending << ", overdue " << p.overdue << "\n";
    for (const std::string& id : p.overdue_ids) std::cout << "  " << id << "  OVERDUE\n";
  }
  std::cout << "Oldest epoch a backup may need: " << r.oldest_epoch << " (its key is destroyed at "
            << FormatRfc3339(r.oldest_epoch_dies_at) << ")";
  if (r.epochs_overdue > 0) std::cout << "; " << r.epochs_overdue << " epoch keys OVERDUE";
  std::cout << "\n\n" << (r.AnythingOverdue() ? "OVERDUE: see above\n" : "Nothing is overdue.\n");
}

int RunReport(const Command& cmd, const Flags& flags) {
  std::optional<UnixSeconds> at;
  if (flags.Has("at")) {
    at = ParseRfc3339(flags.Get("at"));
    if (!at) return UsageError(cmd, "--at must be an RFC 3339 time such as 2027-01-01T00:00:00Z");
  }
  int rc = 0;
  std::unique_ptr<Vault> vault = OpenExisting(cmd, flags, &rc);
  if (vault == nullptr) return rc;
  StatusOr<ComplianceReport> r = vault->Report(at);
  if (!r.ok()) return FailStatus("the report failed", r.status(), "check the store; retry");
  if (flags.Has("json")) {
    PrintJson(api::ComplianceReportJson(*r));
  } else {
    PrintText(*r);
  }
  return r->AnythingOverdue() ? kExitOverdue : kExitOk;
}

}  // namespace

std::vector<Command> ReportCommands() {
  return {
      {"report", "",
       "compliance report: per category subjects and keys, overdue shreds and erasures; exit 4 "
       "when anything is overdue",
       VaultFlags({{"at", "TIME",
                    "figures as of TIME (RFC 3339): what is overdue by then if nothing runs"}}),
       0, RunReport},
  };
}

}  // namespace vault::cli
