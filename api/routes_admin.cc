// Policy, tokens, key epochs, the sweeper on demand, and the audit log.
#include <charconv>
#include <optional>
#include <string>

#include "api/json_codec.h"
#include "api/routes.h"
#include "vault/rules.h"

namespace vault::api {
namespace {

using nlohmann::json;

constexpr std::size_t kDefaultAuditLimit = 100;
constexpr std::size_t kMaxAuditLimit = 1000;

StatusOr<Reply> CreateToken(Vault* vault, RequestContext& ctx) {
  VAULT_RETURN_IF_ERROR(RejectUnknownFields(ctx.body, {"role", "purposes", "name"}));
  std::optional<std::string> role_name;
  VAULT_RETURN_IF_ERROR(ReadString(ctx.body, "role", true, 16, &role_name));
  const std::optional<Role> role = ParseRole(*role_name);
  if (!role) return InvalidArgument("field 'role' must be one of admin, dpo, app, auditor");
  // The fields' types here; their limits are the token rules of vault/rules.h, as in the CLI.
  std::optional<std::vector<std::string>> purposes;
  VAULT_RETURN_IF_ERROR(
      ReadStringList(ctx.body, "purposes", false, kNoFieldLimit, kNoFieldLimit, &purposes));
  std::optional<std::string> name;
  VAULT_RETURN_IF_ERROR(ReadString(ctx.body, "name", false, kNoFieldLimit, &name));
  const std::vector<std::string> purpose_list = purposes.value_or(std::vector<std::string>{});
  VAULT_RETURN_IF_ERROR(CheckTokenSpec(*role, purpose_list, name.value_or("")));
  VAULT_ASSIGN_OR_RETURN(NewToken token, vault->CreateToken(ctx.Caller().actor, *role, purpose_list,
                                                            name.value_or("")));
  json body = NewTokenJson(token);
  body["name"] = token.info.name;
  body["created_at"] = TimeJson(token.info.created_at);
  return Reply::Json(201, std::move(body));
}

StatusOr<Reply> RevokeToken(Vault* vault, RequestContext& ctx) {
  VAULT_RETURN_IF_ERROR(vault->RevokeToken(ctx.Caller().actor, ctx.Param("token_id")));
  return Reply::NoContent();
}

StatusOr<Reply> RotateEpoch(Vault* vault, RequestContext& ctx) {
  VAULT_ASSIGN_OR_RETURN(RotationResult r, vault->RotateEpoch(ctx.Caller().actor));
  return Reply::Json(200, RotationJson(r));
}

StatusOr<Reply> Sweep(Vault* vault, RequestContext& ctx) {
  VAULT_ASSIGN_OR_RETURN(SweepResult r, vault->Sweep(ctx.Caller().actor));
  return Reply::Json(200, SweepJson(r));
}

StatusOr<Reply> ListAudit(Vault* vault, RequestContext& ctx) {
  VAULT_ASSIGN_OR_RETURN(std::optional<std::uint64_t> after, QueryNumber(ctx.http, "after"));
  VAULT_ASSIGN_OR_RETURN(std::optional<std::uint64_t> limit, QueryNumber(ctx.http, "limit"));
  if (limit && (*limit == 0 || *limit > kMaxAuditLimit)) {
    return InvalidArgument("query parameter 'limit' must be 1.." + std::to_string(kMaxAuditLimit));
  }
  VAULT_ASSIGN_OR_RETURN(
      std::vector<AuditEntry> entries,
      vault->ListAudit(after.value_or(0),
                       static_cast<std::size_t>(limit.value_or(kDefaultAuditLimit))));
  json list = json::array();
  for (const AuditEntry& e : entries) list.push_back(AuditEntryJson(e));
  return Reply::Json(200, {{"entries", std::move(list)}});
}

StatusOr<Reply> VerifyAudit(Vault* vault, RequestContext&) {
  VAULT_ASSIGN_OR_RETURN(AuditVerifyResult r, vault->VerifyAudit());
  return Reply::Json(200, AuditVerifyJson(r));
}

}  // namespace

// A query parameter that must be a non-negative decimal integer when present.
StatusOr<std::optional<std::uint64_t>> QueryNumber(const HttpRequest& req, const char* name) {
  if (!req.has_param(name)) return std::optional<std::uint64_t>();
  const std::string text = req.get_param_value(name);
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return InvalidArgument(std::string("query parameter '") + name +
                           "' must be a non-negative integer");
  }
  return std::optional<std::uint64_t>(value);
}

void AddAdminRoutes(Router& router, Vault* vault) {
  const Access anyone = Access::Roles({Role::kAdmin, Role::kDpo, Role::kApp, Role::kAuditor});
  const Access admin = Access::Roles({Role::kAdmin});
  const Access audit = Access::Roles({Role::kAuditor, Role::kAdmin});
  router.Add(
      {"GET", "/v1/policy", anyone, BodyKind::kNone, [vault](RequestContext&) -> StatusOr<Reply> {
         return Reply::Json(200, PolicyJson(vault->policy()));
       }});
  router.Add({"POST", "/v1/tokens", admin, BodyKind::kJsonObject,
              [vault](RequestContext& ctx) { return CreateToken(vault, ctx); }});
  router.Add({"DELETE", "/v1/tokens/{token_id}", admin, BodyKind::kNone,
              [vault](RequestContext& ctx) { return RevokeToken(vault, ctx); }});
  router.Add({"POST", "/v1/admin/epochs/rotate", admin, BodyKind::kNone,
              [vault](RequestContext& ctx) { return RotateEpoch(vault, ctx); }});
  router.Add({"POST", "/v1/admin/sweep", admin, BodyKind::kNone,
              [vault](RequestContext& ctx) { return Sweep(vault, ctx); }});
  router.Add({"GET", "/v1/audit", audit, BodyKind::kNone,
              [vault](RequestContext& ctx) { return ListAudit(vault, ctx); }});
  router.Add({"GET", "/v1/audit/verify", audit, BodyKind::kNone,
              [vault](RequestContext& ctx) { return VerifyAudit(vault, ctx); }});
}

}  // namespace vault::api
