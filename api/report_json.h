// The compliance report as JSON: GET /v1/admin/report and `lethe report --json` print this.
#pragma once

#include <nlohmann/json.hpp>

#include "vault/vault.h"

namespace vault::api {

nlohmann::json ComplianceReportJson(const ComplianceReport& r);

}  // namespace vault::api
