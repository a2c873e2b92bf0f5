// Lookup: POST /v1/lookup finds subjects by a blind-indexed value (the value travels only in
// the body, never in a URL or a log line).
#include <optional>
#include <string>

#include "api/json_codec.h"
#include "api/routes.h"

namespace vault::api {
namespace {

using nlohmann::json;

const std::vector<Role> kLookupRoles = {Role::kApp, Role::kAdmin};
constexpr std::size_t kMaxValueBytes = 1024;
constexpr std::size_t kMaxNameBytes = 64;

StatusOr<Reply> PostLookup(Vault* vault, RequestContext& ctx) {
  const Principal& caller = ctx.Caller();
  VAULT_RETURN_IF_ERROR(RejectUnknownFields(ctx.body, {"field", "value", "category"}));
  std::optional<std::string> field, value, category;
  VAULT_RETURN_IF_ERROR(ReadString(ctx.body, "field", true, kMaxNameBytes, &field));
  VAULT_RETURN_IF_ERROR(ReadString(ctx.body, "value", true, kMaxValueBytes, &value));
  VAULT_RETURN_IF_ERROR(ReadString(ctx.body, "category", false, kMaxNameBytes, &category));
  Vault::LookupQuery query{*field, *value, category.value_or(""), caller.token.purposes};
  VAULT_ASSIGN_OR_RETURN(Vault::LookupResult found, vault->Lookup(caller.actor, query));
  json body = {{"subject_id", nullptr},
               {"subject_ids", found.subject_ids},
               {"category", found.category},
               {"truncated", found.truncated}};
  if (found.subject_ids.size() == 1) body["subject_id"] = found.subject_ids.front();
  return Reply::Json(200, body);
}

}  // namespace

void AddLookupRoutes(Router& router, Vault* vault) {
  router.Add({"POST", "/v1/lookup", Access::Roles(kLookupRoles), BodyKind::kJsonObject,
              [vault](RequestContext& ctx) { return PostLookup(vault, ctx); }});
}

}  // namespace vault::api
