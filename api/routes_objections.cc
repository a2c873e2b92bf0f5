// Objection to processing for one purpose (GDPR Art. 21), for dpo and admin:
// PUT and DELETE /v1/subjects/{sid}/objections/{purpose}, GET /v1/subjects/{sid}/objections.
#include <optional>
#include <string>

#include "api/json_codec.h"
#include "api/routes.h"
#include "vault/rules.h"

namespace vault::api {
namespace {

StatusOr<Reply> PutObjection(Vault* vault, RequestContext& ctx) {
  const Principal& caller = ctx.Caller();
  std::optional<std::string> reason;
  Status s = ReadReasonBody(ctx.body, kMaxReasonBytes, &reason);
  if (!s.ok()) {
    vault->AuditRefusal(caller.actor, "objection.place", ctx.Param("sid"), "", s.code());
    return s;
  }
  VAULT_ASSIGN_OR_RETURN(ObjectionView view, vault->Object(caller.actor, ctx.Param("sid"),
                                                           ctx.Param("purpose"), *reason));
  return Reply::Json(200, ObjectionJson(view));
}

StatusOr<Reply> ListObjections(Vault* vault, RequestContext& ctx) {
  VAULT_ASSIGN_OR_RETURN(std::vector<ObjectionView> list,
                         vault->ListObjections(ctx.Caller().actor, ctx.Param("sid")));
  nlohmann::json items = nlohmann::json::array();
  for (const ObjectionView& o : list) items.push_back(ObjectionJson(o));
  return Reply::Json(200, {{"objections", std::move(items)}});
}

StatusOr<Reply> LiftObjection(Vault* vault, RequestContext& ctx) {
  VAULT_RETURN_IF_ERROR(
      vault->LiftObjection(ctx.Caller().actor, ctx.Param("sid"), ctx.Param("purpose")));
  return Reply::NoContent();
}

}  // namespace

void AddObjectionRoutes(Router& router, Vault* vault) {
  const Access rights = Access::Roles({Role::kDpo, Role::kAdmin});
  const std::string one = "/v1/subjects/{sid}/objections/{purpose}";
  router.Add({"PUT", one, rights, BodyKind::kJsonObject,
              [vault](RequestContext& ctx) { return PutObjection(vault, ctx); }});
  router.Add({"DELETE", one, rights, BodyKind::kNone,
              [vault](RequestContext& ctx) { return LiftObjection(vault, ctx); }});
  router.Add({"GET", "/v1/subjects/{sid}/objections", rights, BodyKind::kNone,
              [vault](RequestContext& ctx) { return ListObjections(vault, ctx); }});
}

}  // namespace vault::api
