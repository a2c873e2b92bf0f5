// The compliance report: GET /v1/admin/report (admin), the same JSON as `lethe report --json`.
#include "api/report_json.h"
#include "api/routes.h"

namespace vault::api {

void AddReportRoutes(Router& router, Vault* vault) {
  router.Add({"GET", "/v1/admin/report", Access::Roles({Role::kAdmin}), BodyKind::kNone,
              [vault](RequestContext&) -> StatusOr<Reply> {
                VAULT_ASSIGN_OR_RETURN(ComplianceReport report, vault->Report());
                return Reply::Json(200, ComplianceReportJson(report));
              }});
}

}  // namespace vault::api
