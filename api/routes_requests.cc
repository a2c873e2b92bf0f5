// The data-subject request log (GDPR Art. 12(3)), for dpo and admin: POST /v1/requests (log
// one), GET /v1/requests[?open=true], GET /v1/requests/{request_id}, and POST
// /v1/requests/{request_id}/extension and /v1/requests/{request_id}/closure.
#include <optional>
#include <string>

#include "api/json_codec.h"
#include "api/routes.h"
#include "vault/rules.h"

namespace vault::api {
namespace {

using nlohmann::json;

json RequestJson(const Vault::SubjectRequest& r) {
  json j = {{"request_id", r.request_id},
            {"subject_id", r.subject_id.empty() ? json(nullptr) : json(r.subject_id)},
            {"kind", r.kind},
            {"state", r.state},
            {"received_at", TimeJson(r.received_at)},
            {"due_at", TimeJson(r.due_at)},
            {"overdue", r.overdue},
            {"closed_at", OptionalTimeJson(r.closed_at)},
            {"closed_by", r.closed_by.empty() ? json(nullptr) : json(r.closed_by)}};
  j["extension_reason"] = r.extension_reason.empty() ? json(nullptr) : json(r.extension_reason);
  j["close_reason"] = r.close_reason.empty() ? json(nullptr) : json(r.close_reason);
  return j;
}

// A refused request body is audited here; the engine audits the rest.
Status Refuse(Vault* vault, const Principal& caller, const char* action, const Status& s) {
  vault->AuditRefusal(caller.actor, action, "", "", s.code());
  return s;
}

StatusOr<Reply> LogRequest(Vault* vault, RequestContext& ctx) {
  std::optional<std::string> sid, kind;
  std::optional<UnixSeconds> received;
  Status s = RejectUnknownFields(ctx.body, {"subject_id", "kind", "received_at"});
  if (s.ok()) s = ReadString(ctx.body, "subject_id", true, kMaxIdBytes, &sid);
  if (s.ok()) s = ReadString(ctx.body, "kind", true, 32, &kind);
  if (s.ok()) s = ReadTime(ctx.body, "received_at", false, &received);
  if (!s.ok()) return Refuse(vault, ctx.Caller(), "request.log", s);
  VAULT_ASSIGN_OR_RETURN(Vault::SubjectRequest r,
                         vault->LogRequest(ctx.Caller().actor, *sid, *kind, received));
  return Reply::Json(201, RequestJson(r));
}

StatusOr<Reply> ListRequests(Vault* vault, RequestContext& ctx) {
  bool open_only = false;
  if (ctx.http.has_param("open")) {
    const std::string v = ctx.http.get_param_value("open");
    if (v != "true" && v != "false") {
      return Refuse(vault, ctx.Caller(), "request.list",
                    InvalidArgument("query parameter 'open' must be true or false"));
    }
    open_only = v == "true";
  }
  VAULT_ASSIGN_OR_RETURN(auto list, vault->ListRequests(ctx.Caller().actor, open_only));
  json items = json::array();
  for (const auto& r : list) items.push_back(RequestJson(r));
  return Reply::Json(200, {{"requests", std::move(items)}});
}

StatusOr<Reply> GetRequest(Vault* vault, RequestContext& ctx) {
  VAULT_ASSIGN_OR_RETURN(Vault::SubjectRequest r,
                         vault->GetRequest(ctx.Caller().actor, ctx.Param("request_id")));
  return Reply::Json(200, RequestJson(r));
}

StatusOr<Reply> ExtendRequest(Vault* vault, RequestContext& ctx) {
  std::optional<std::string> reason;
  Status s = ReadReasonBody(ctx.body, kMaxReasonBytes, &reason);
  if (!s.ok()) return Refuse(vault, ctx.Caller(), "request.extend", s);
  VAULT_ASSIGN_OR_RETURN(
      Vault::SubjectRequest r,
      vault->ExtendRequest(ctx.Caller().actor, ctx.Param("request_id"), *reason));
  return Reply::Json(200, RequestJson(r));
}

StatusOr<Reply> CloseRequest(Vault* vault, RequestContext& ctx) {
  std::optional<std::string> state, reason;
  Status s = RejectUnknownFields(ctx.body, {"state", "reason"});
  if (s.ok()) s = ReadString(ctx.body, "state", true, 16, &state);
  if (s.ok() && *state != "done" && *state != "refused") {
    s = InvalidArgument("field 'state' must be \"done\" or \"refused\"");
  }
  if (s.ok()) s = ReadString(ctx.body, "reason", false, kMaxReasonBytes, &reason);
  if (s.ok() && *state == "refused" && reason.value_or("").empty()) {
    s = InvalidArgument("a refusal needs a 'reason' (GDPR Art. 12(4))");
  }
  if (!s.ok()) return Refuse(vault, ctx.Caller(), "request.close", s);
  VAULT_ASSIGN_OR_RETURN(Vault::SubjectRequest r,
                         vault->CloseRequest(ctx.Caller().actor, ctx.Param("request_id"),
                                             *state == "refused", reason.value_or("")));
  return Reply::Json(200, RequestJson(r));
}

}  // namespace

void AddRequestRoutes(Router& router, Vault* vault) {
  const Access dpo = Access::Roles({Role::kDpo, Role::kAdmin});
  router.Add({"POST", "/v1/requests", dpo, BodyKind::kJsonObject,
              [vault](RequestContext& ctx) { return LogRequest(vault, ctx); }});
  router.Add({"GET", "/v1/requests", dpo, BodyKind::kNone,
              [vault](RequestContext& ctx) { return ListRequests(vault, ctx); }});
  router.Add({"GET", "/v1/requests/{request_id}", dpo, BodyKind::kNone,
              [vault](RequestContext& ctx) { return GetRequest(vault, ctx); }});
  router.Add({"POST", "/v1/requests/{request_id}/extension", dpo, BodyKind::kJsonObject,
              [vault](RequestContext& ctx) { return ExtendRequest(vault, ctx); }});
  router.Add({"POST", "/v1/requests/{request_id}/closure", dpo, BodyKind::kJsonObject,
              [vault](RequestContext& ctx) { return CloseRequest(vault, ctx); }});
}

}  // namespace vault::api
