// Restriction of processing (GDPR Art. 18): PUT, GET and DELETE
// /v1/subjects/{sid}/restriction, for dpo and admin.
#include <optional>
#include <string>

#include "api/json_codec.h"
#include "api/routes.h"
#include "vault/rules.h"

namespace vault::api {
namespace {

StatusOr<Reply> PutRestriction(Vault* vault, RequestContext& ctx) {
  const Principal& caller = ctx.Caller();
  std::optional<std::string> reason;
  Status s = ReadReasonBody(ctx.body, kMaxReasonBytes, &reason);
  if (!s.ok()) {
    vault->AuditRefusal(caller.actor, "restriction.place", ctx.Param("sid"), "", s.code());
    return s;
  }
  VAULT_ASSIGN_OR_RETURN(RestrictionView view,
                         vault->RestrictProcessing(caller.actor, ctx.Param("sid"), *reason));
  return Reply::Json(200, RestrictionJson(view));
}

StatusOr<Reply> GetRestriction(Vault* vault, RequestContext& ctx) {
  VAULT_ASSIGN_OR_RETURN(RestrictionView view,
                         vault->GetRestriction(ctx.Caller().actor, ctx.Param("sid")));
  return Reply::Json(200, RestrictionJson(view));
}

StatusOr<Reply> LiftRestriction(Vault* vault, RequestContext& ctx) {
  VAULT_RETURN_IF_ERROR(vault->LiftRestriction(ctx.Caller().actor, ctx.Param("sid")));
  return Reply::NoContent();
}

}  // namespace

void AddRestrictionRoutes(Router& router, Vault* vault) {
  const Access rights = Access::Roles({Role::kDpo, Role::kAdmin});
  const std::string path = "/v1/subjects/{sid}/restriction";
  router.Add({"PUT", path, rights, BodyKind::kJsonObject,
              [vault](RequestContext& ctx) { return PutRestriction(vault, ctx); }});
  router.Add({"GET", path, rights, BodyKind::kNone,
              [vault](RequestContext& ctx) { return GetRestriction(vault, ctx); }});
  router.Add({"DELETE", path, rights, BodyKind::kNone,
              [vault](RequestContext& ctx) { return LiftRestriction(vault, ctx); }});
}

}  // namespace vault::api
