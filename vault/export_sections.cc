// The export sections and report figures of consents, passwords and objections (export_sections.h).
#include "vault/export_sections.h"

#include <nlohmann/json.hpp>

namespace vault {

Status ConsentsExport::WriteExport(const Txn& txn, const ExportSubject& subject,
                                   ExportWriter& out) const {
  VAULT_ASSIGN_OR_RETURN(std::vector<ConsentView> consents, consents_.ListIn(txn, subject.row.uid));
  out.BeginList("consents");
  for (const ConsentView& c : consents) {
    nlohmann::json history = nlohmann::json::array();
    for (const ConsentEntry& e : c.history) {
      history.push_back({{"at", FormatRfc3339(e.at)},
                         {"granted", e.granted},
                         {"source", e.source},
                         {"policy_version", e.policy_version}});
    }
    nlohmann::json item = {{"purpose", c.purpose},
                           {"granted", c.granted},
                           {"at", FormatRfc3339(c.at)},
                           {"history", std::move(history)}};
    item["proof_until"] = c.proof_until ? nlohmann::json(FormatRfc3339(*c.proof_until)) : nullptr;
    out.Item(c.purpose, item);
  }
  out.EndList();
  return Status::Ok();
}

Status PasswordExport::WriteExport(const Txn& txn, const ExportSubject& subject,
                                   ExportWriter& out) const {
  VAULT_ASSIGN_OR_RETURN(Vault::PasswordInfo info, Passwords::InfoIn(txn, subject.row.uid));
  nlohmann::json j = {{"set", info.set}};
  if (info.set) j["algorithm"] = info.algorithm;
  out.Object("password", j);
  return Status::Ok();
}

Status ConsentReport::AddToReport(const Txn& txn, UnixSeconds now, ComplianceReport* report) const {
  VAULT_ASSIGN_OR_RETURN(report->pending["consent_withdrawals"],
                         consents_.PendingWithdrawals(txn, now));
  return Status::Ok();
}

Status ObjectionsExport::WriteExport(const Txn& txn, const ExportSubject& subject,
                                     ExportWriter& out) const {
  VAULT_ASSIGN_OR_RETURN(std::vector<ObjectionView> objections,
                         objections_.Of(txn, subject.row.uid, true));
  out.BeginList("objections");
  for (const ObjectionView& o : objections) {
    out.Item(o.purpose,
             {{"purpose", o.purpose}, {"since", FormatRfc3339(o.since)}, {"reason", o.reason}});
  }
  out.EndList();
  return Status::Ok();
}

}  // namespace vault
