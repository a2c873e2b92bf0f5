// Route groups of the API; each adds its routes to the router. New groups (passwords,
// lookup, consents, restriction, export) slot in as further Add*Routes functions.
#pragma once

#include "api/router.h"
#include "vault/vault.h"

namespace vault::api {

void AddRecordRoutes(Router& router, Vault* vault);
void AddRightsRoutes(Router& router, Vault* vault);
void AddAdminRoutes(Router& router, Vault* vault);       // policy, tokens, epochs, sweep, audit
void AddAuditProofRoutes(Router& router, Vault* vault);  // audit checkpoints
void AddPasswordRoutes(Router& router, Vault* vault);    // set, import, verify, status
void AddConsentRoutes(Router& router, Vault* vault);
void AddRestrictionRoutes(Router& router, Vault* vault);
void AddObjectionRoutes(Router& router, Vault* vault);  // GDPR Art. 21, per purpose
void AddRequestRoutes(Router& router, Vault* vault);    // /v1/requests: the request log
void AddLookupRoutes(Router& router, Vault* vault);     // POST /v1/lookup
void AddExportRoutes(Router& router, Vault* vault);     // GET /v1/subjects/{sid}/export, streamed
void AddReportRoutes(Router& router, Vault* vault);     // GET /v1/admin/report

// Purpose limitation for an app caller; unknown category -> kPolicyViolation.
Status CheckCategoryAccess(const Vault& vault, const Principal& caller,
                           const std::string& category);
ReadOptions ReadOptionsFor(const Principal& caller);
// A query parameter that must be a non-negative decimal integer when present.
StatusOr<std::optional<std::uint64_t>> QueryNumber(const HttpRequest& req, const char* name);

}  // namespace vault::api
