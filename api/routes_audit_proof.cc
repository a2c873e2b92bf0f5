// Audit proof: the signed checkpoints of the audit log's head (GET /v1/audit/checkpoints).
#include <optional>
#include <string>

#include "api/json_codec.h"
#include "api/routes.h"

namespace vault::api {
namespace {

using nlohmann::json;

constexpr std::size_t kDefaultCheckpointLimit = 100;
constexpr std::size_t kMaxCheckpointLimit = 1000;

// ?after=<seq>&limit=<n>, as GET /v1/audit pages.
StatusOr<Reply> ListCheckpoints(Vault* vault, RequestContext& ctx) {
  VAULT_ASSIGN_OR_RETURN(std::optional<std::uint64_t> after, QueryNumber(ctx.http, "after"));
  VAULT_ASSIGN_OR_RETURN(std::optional<std::uint64_t> limit, QueryNumber(ctx.http, "limit"));
  if (limit && (*limit == 0 || *limit > kMaxCheckpointLimit)) {
    return InvalidArgument("query parameter 'limit' must be 1.." +
                           std::to_string(kMaxCheckpointLimit));
  }
  VAULT_ASSIGN_OR_RETURN(
      std::vector<AuditCheckpoint> checkpoints,
      vault->ListAuditCheckpoints(
          after.value_or(0), static_cast<std::size_t>(limit.value_or(kDefaultCheckpointLimit))));
  json list = json::array();
  for (const AuditCheckpoint& cp : checkpoints) list.push_back(AuditCheckpointJson(cp));
  return Reply::Json(200, {{"checkpoints", std::move(list)}});
}

}  // namespace

void AddAuditProofRoutes(Router& router, Vault* vault) {
  router.Add({"GET", "/v1/audit/checkpoints", Access::Roles({Role::kAuditor, Role::kAdmin}),
              BodyKind::kNone,
              [vault](RequestContext& ctx) { return ListCheckpoints(vault, ctx); }});
}

}  // namespace vault::api
