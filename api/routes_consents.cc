// Consents: PUT /v1/subjects/{sid}/consents/{purpose} (record a grant or a withdrawal) and
// GET /v1/subjects/{sid}/consents (every consent with its history).
//
// dpo and admin record and read every purpose. An app token records and reads only the
// consents of its own purposes (403 otherwise): the app that processes for a purpose is the
// one that asks for, and answers to, that consent.
#include <algorithm>
#include <optional>
#include <string>

#include "api/json_codec.h"
#include "api/routes.h"

namespace vault::api {
namespace {

using nlohmann::json;

Status ReadConsentChange(const json& body, ConsentChange* change) {
  VAULT_RETURN_IF_ERROR(RejectUnknownFields(body, {"granted", "source", "policy_version"}));
  auto granted = body.find("granted");
  if (granted == body.end() || !granted->is_boolean()) {
    return InvalidArgument("field 'granted' is required and must be true or false");
  }
  change->granted = granted->get<bool>();
  std::optional<std::string> source;
  VAULT_RETURN_IF_ERROR(ReadString(body, "source", false, kMaxConsentSourceBytes, &source));
  change->source = source.value_or("");
  VAULT_RETURN_IF_ERROR(
      ReadString(body, "policy_version", false, kMaxPolicyVersionBytes, &change->policy_version));
  if (change->policy_version && change->policy_version->empty()) {
    return InvalidArgument("field 'policy_version' must not be empty");
  }
  return Status::Ok();
}

bool HoldsPurpose(const Principal& caller, const std::string& purpose) {
  const auto& own = caller.token.purposes;
  return caller.token.role != Role::kApp || std::find(own.begin(), own.end(), purpose) != own.end();
}

// A refused request is audited: here when its body or purpose is refused, in the engine
// otherwise.
StatusOr<Reply> PutConsent(Vault* vault, RequestContext& ctx) {
  const Principal& caller = ctx.Caller();
  const std::string& purpose = ctx.Param("purpose");
  ConsentChange change;
  Status s = ReadConsentChange(ctx.body, &change);
  if (s.ok() && !HoldsPurpose(caller, purpose)) {
    s = Status(Code::kPermissionDenied, "an app token records consents of its own purposes only");
  }
  if (!s.ok()) {
    vault->AuditRefusal(caller.actor, change.granted ? "consent.grant" : "consent.withdraw",
                        ctx.Param("sid"), "", s.code());
    return s;
  }
  VAULT_ASSIGN_OR_RETURN(ConsentView view,
                         vault->RecordConsent(caller.actor, ctx.Param("sid"), purpose, change));
  return Reply::Json(200, ConsentJson(view));
}

StatusOr<Reply> ListConsents(Vault* vault, RequestContext& ctx) {
  const Principal& caller = ctx.Caller();
  ConsentQuery query;
  query.privileged = ReadOptionsFor(caller).privileged;
  if (!query.privileged) query.purposes = caller.token.purposes;
  VAULT_ASSIGN_OR_RETURN(std::vector<ConsentView> consents,
                         vault->ListConsents(caller.actor, ctx.Param("sid"), query));
  json list = json::array();
  for (const ConsentView& c : consents) list.push_back(ConsentJson(c));
  return Reply::Json(200, {{"consents", std::move(list)}});
}

}  // namespace

void AddConsentRoutes(Router& router, Vault* vault) {
  const Access access = Access::Roles({Role::kApp, Role::kDpo, Role::kAdmin});
  router.Add({"PUT", "/v1/subjects/{sid}/consents/{purpose}", access, BodyKind::kJsonObject,
              [vault](RequestContext& ctx) { return PutConsent(vault, ctx); }});
  router.Add({"GET", "/v1/subjects/{sid}/consents", access, BodyKind::kNone,
              [vault](RequestContext& ctx) { return ListConsents(vault, ctx); }});
}

}  // namespace vault::api
