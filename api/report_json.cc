// The compliance report's JSON rendering (report_json.h).
#include "api/report_json.h"

#include "api/json_codec.h"

namespace vault::api {

using nlohmann::json;

namespace {

json ErasureFiguresJson(const PendingErasureFigures& e) {
  return {{"erasure_id", e.erasure_id},
          {"requested_at", TimeJson(e.requested_at)},
          {"execute_at", TimeJson(e.execute_at)},
          {"deadline", TimeJson(e.deadline)},
          {"overdue", e.overdue},
          {"scheduled_late", e.scheduled_late},
          {"blocked_by_hold", e.blocked_by_hold}};
}

}  // namespace

json ComplianceReportJson(const ComplianceReport& r) {
  json categories = json::object();
  for (const auto& [name, c] : r.categories) {
    categories[name] = {{"subjects", c.subjects},
                        {"keys_alive", c.keys_alive},
                        {"shreds_overdue", c.shreds_overdue},
                        {"shreds_held", c.shreds_held}};
  }
  json erasures = json::array();
  for (const PendingErasureFigures& e : r.erasures_pending)
    erasures.push_back(ErasureFiguresJson(e));
  json pending = json::object();
  for (const auto& [name, p] : r.pending) {
    pending[name] = {{"pending", p.pending}, {"overdue", p.overdue}};
    if (!p.overdue_ids.empty()) pending[name]["overdue_ids"] = p.overdue_ids;
  }
  return {
      {"generated_at", TimeJson(r.generated_at)},
      {"overdue", r.AnythingOverdue()},
      {"categories", std::move(categories)},
      {"shreds_overdue", r.ShredsOverdue()},
      {"legal_holds", {{"holds", r.legal_holds}, {"subjects", r.subjects_held}}},
      {"erasures_pending", std::move(erasures)},
      {"erasures_overdue", r.ErasuresOverdue()},
      {"pending", std::move(pending)},
      {"backups",
       {{"oldest_epoch", r.oldest_epoch},
        {"oldest_epoch_destroyed_at", TimeJson(r.oldest_epoch_dies_at)},
        {"epochs_overdue", r.epochs_overdue}}},
  };
}

}  // namespace vault::api
