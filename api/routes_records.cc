// Records: PUT/GET/list/DELETE under a subject, and the subject summary.
#include <optional>
#include <string>

#include "api/json_codec.h"
#include "api/routes.h"

namespace vault::api {
namespace {

using nlohmann::json;

const std::vector<Role> kRecordRoles = {Role::kApp, Role::kDpo, Role::kAdmin};

// The category check of a record route. A purpose denial is an audited attempt: an entry
// with the route's action and outcome permission_denied.
Status CheckPurpose(Vault& vault, const RequestContext& ctx, const char* action) {
  const Principal& caller = ctx.Caller();
  const std::string& category = ctx.Param("category");
  Status s = CheckCategoryAccess(vault, caller, category);
  if (s.code() == Code::kPermissionDenied) {
    vault.AuditRefusal(caller.actor, action, ctx.Param("sid"), category, s.code());
  }
  return s;
}

// "event" names what event_time is the time of; it must be the event the category's retention
// counts from ({after_event: 7y, event: transaction}), so a time is never filed under the
// wrong event.
Status CheckEventName(const Policy& policy, const std::string& category,
                      const nlohmann::json& body) {
  auto it = body.find("event");
  if (it == body.end()) return Status::Ok();
  if (!it->is_string()) return InvalidArgument("'event' must be a string");
  const Category* cat = policy.Find(category);
  if (cat == nullptr) return Status::Ok();  // the engine refuses the unknown category
  if (!body.contains("event_time")) return InvalidArgument("'event' needs 'event_time'");
  if (cat->retention.kind != Retention::Kind::kAfterEvent || cat->retention.event.empty()) {
    return PolicyViolation("category '" + category + "' names no retention event");
  }
  if (it->get<std::string>() != cat->retention.event) {
    return PolicyViolation("category '" + category + "' counts retention from event '" +
                           cat->retention.event + "'; event_time must be that event's time");
  }
  return Status::Ok();
}

StatusOr<Reply> PutRecord(Vault* vault, RequestContext& ctx) {
  const Principal& caller = ctx.Caller();
  VAULT_RETURN_IF_ERROR(RejectUnknownFields(ctx.body, {"data", "event_time", "event"}));
  auto data = ctx.body.find("data");
  if (data == ctx.body.end() || data->is_null()) {
    return InvalidArgument("missing required field 'data'");
  }
  std::optional<UnixSeconds> event_time;
  VAULT_RETURN_IF_ERROR(ReadTime(ctx.body, "event_time", false, &event_time));
  const std::string& sid = ctx.Param("sid");
  const std::string& category = ctx.Param("category");
  const std::string& rid = ctx.Param("rid");
  VAULT_RETURN_IF_ERROR(CheckPurpose(*vault, ctx, "record.put"));
  VAULT_RETURN_IF_ERROR(CheckEventName(vault->policy(), category, ctx.body));
  VAULT_ASSIGN_OR_RETURN(PutResult put,
                         vault->PutRecord(caller.actor, sid, category, rid, *data, event_time));
  return Reply::Json(put.created ? 201 : 200, PutResultJson(sid, category, rid, put));
}

StatusOr<Reply> GetRecord(Vault* vault, RequestContext& ctx) {
  const Principal& caller = ctx.Caller();
  const std::string& category = ctx.Param("category");
  VAULT_RETURN_IF_ERROR(CheckPurpose(*vault, ctx, "record.get"));
  const ReadOptions opts = ReadOptionsFor(caller);
  VAULT_ASSIGN_OR_RETURN(RecordView record, vault->GetRecord(caller.actor, ctx.Param("sid"),
                                                             category, ctx.Param("rid"), opts));
  return Reply::JsonText(200, RecordJsonText(record));
}

// ?limit= (1..1000, default 100) and ?after= (the previous page's cursor).
StatusOr<PageRequest> PageFromQuery(const HttpRequest& req) {
  PageRequest page;
  VAULT_ASSIGN_OR_RETURN(std::optional<std::uint64_t> limit, QueryNumber(req, "limit"));
  if (limit && (*limit == 0 || *limit > kMaxPageLimit)) {
    return InvalidArgument("query parameter 'limit' must be 1.." + std::to_string(kMaxPageLimit));
  }
  page.limit = static_cast<std::size_t>(limit.value_or(kDefaultPageLimit));
  if (req.has_param("after")) {
    page.after = req.get_param_value("after");
    if (page.after.empty()) return InvalidArgument("query parameter 'after' must not be empty");
  }
  return page;
}

StatusOr<Reply> ListRecords(Vault* vault, RequestContext& ctx) {
  const Principal& caller = ctx.Caller();
  const std::string& category = ctx.Param("category");
  VAULT_RETURN_IF_ERROR(CheckPurpose(*vault, ctx, "record.list"));
  VAULT_ASSIGN_OR_RETURN(PageRequest page, PageFromQuery(ctx.http));
  const ReadOptions opts = ReadOptionsFor(caller);
  VAULT_ASSIGN_OR_RETURN(RecordPage listed,
                         vault->ListRecords(caller.actor, ctx.Param("sid"), category, page, opts));
  std::string text = "{\"records\":[";
  for (std::size_t i = 0; i < listed.records.size(); ++i) {
    if (i > 0) text += ',';
    text += RecordJsonText(listed.records[i]);
  }
  text += "],\"next\":";
  text += listed.next ? nlohmann::json(*listed.next).dump() : "null";
  text += '}';
  return Reply::JsonText(200, std::move(text));
}

StatusOr<Reply> DeleteRecord(Vault* vault, RequestContext& ctx) {
  const Principal& caller = ctx.Caller();
  const std::string& category = ctx.Param("category");
  VAULT_RETURN_IF_ERROR(CheckPurpose(*vault, ctx, "record.delete"));
  VAULT_RETURN_IF_ERROR(
      vault->DeleteRecord(caller.actor, ctx.Param("sid"), category, ctx.Param("rid")));
  return Reply::NoContent();
}

// An app token sees the categories of its purposes, holds without reasons and no receipt.
StatusOr<Reply> GetSubject(Vault* vault, RequestContext& ctx) {
  const Principal& caller = ctx.Caller();
  SummaryOptions opts;
  opts.privileged = ReadOptionsFor(caller).privileged;
  if (!opts.privileged) opts.purposes = caller.token.purposes;
  VAULT_ASSIGN_OR_RETURN(SubjectSummary summary,
                         vault->GetSubject(caller.actor, ctx.Param("sid"), opts));
  return Reply::Json(200, SubjectJson(summary, opts.privileged));
}

}  // namespace

Status CheckCategoryAccess(const Vault& vault, const Principal& caller,
                           const std::string& category) {
  const Policy& policy = vault.policy();
  const Category* c = policy.Find(category);
  if (c == nullptr) return PolicyViolation("the category is not declared in the policy");
  if (caller.token.role == Role::kApp && !policy.PurposeAllows(*c, caller.token.purposes)) {
    return Status(Code::kPermissionDenied,
                  "none of the token's purposes is a purpose of this category");
  }
  return Status::Ok();
}

ReadOptions ReadOptionsFor(const Principal& caller) {
  ReadOptions opts;
  opts.privileged = caller.token.role == Role::kDpo || caller.token.role == Role::kAdmin;
  return opts;
}

void AddRecordRoutes(Router& router, Vault* vault) {
  const Access access = Access::Roles(kRecordRoles);
  const std::string record = "/v1/subjects/{sid}/records/{category}/{rid}";
  router.Add({"PUT", record, access, BodyKind::kJsonObject,
              [vault](RequestContext& ctx) { return PutRecord(vault, ctx); }});
  router.Add({"GET", record, access, BodyKind::kNone,
              [vault](RequestContext& ctx) { return GetRecord(vault, ctx); }});
  router.Add({"DELETE", record, access, BodyKind::kNone,
              [vault](RequestContext& ctx) { return DeleteRecord(vault, ctx); }});
  router.Add({"GET", "/v1/subjects/{sid}/records/{category}", access, BodyKind::kNone,
              [vault](RequestContext& ctx) { return ListRecords(vault, ctx); }});
  router.Add({"GET", "/v1/subjects/{sid}", access, BodyKind::kNone,
              [vault](RequestContext& ctx) { return GetSubject(vault, ctx); }});
}

}  // namespace vault::api
