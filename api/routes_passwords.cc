// Passwords: set or import a subject's password hash, verify a password, and see whether one
// is set (and its algorithm). Neither the password nor the hash ever appears in a response.
#include <optional>
#include <string>

#include "api/json_codec.h"
#include "api/problem.h"
#include "api/routes.h"

namespace vault::api {
namespace {

using nlohmann::json;

// Far above any password the policy accepts: the engine refuses long ones with 422.
constexpr std::size_t kMaxFieldBytes = std::size_t{64} * 1024;

// The password belongs to the account: an app token needs a purpose of the category the
// policy names in passwords.category (default `account`); when the policy declares no such
// category, any app token may. dpo and admin are not limited by purpose.
Status CheckPasswordPurpose(Vault& vault, const RequestContext& ctx, const char* action) {
  const Principal& caller = ctx.Caller();
  const std::string& category = vault.policy().passwords.category;
  if (vault.policy().Find(category) == nullptr) return Status::Ok();
  Status s = CheckCategoryAccess(vault, caller, category);
  if (s.code() == Code::kPermissionDenied) {
    vault.AuditRefusal(caller.actor, action, ctx.Param("sid"), "", s.code());
  }
  return s;
}

// A problem reply with a Retry-After of its own (the shared renderer uses fixed delays).
Reply RetryLater(int status, const std::string& detail, std::int64_t seconds) {
  HttpResponse problem;
  WriteProblem(problem, status, detail);
  Reply r;
  r.status = status;
  r.text = std::move(problem.body);
  r.content_type = kProblemContentType;
  r.headers = {{"Retry-After", std::to_string(seconds)}};
  return r;
}

StatusOr<Reply> PutPassword(Vault* vault, RequestContext& ctx) {
  VAULT_RETURN_IF_ERROR(RejectUnknownFields(ctx.body, {"password", "hash"}));
  std::optional<std::string> password, hash;
  VAULT_RETURN_IF_ERROR(ReadString(ctx.body, "password", false, kMaxFieldBytes, &password));
  VAULT_RETURN_IF_ERROR(ReadString(ctx.body, "hash", false, kMaxFieldBytes, &hash));
  if (password.has_value() == hash.has_value()) {
    return InvalidArgument("give exactly one of the fields 'password' and 'hash'");
  }
  VAULT_RETURN_IF_ERROR(CheckPasswordPurpose(*vault, ctx, "password.set"));
  const Actor& actor = ctx.Caller().actor;
  Status s = password ? vault->SetPassword(actor, ctx.Param("sid"), *password)
                      : vault->ImportPasswordHash(actor, ctx.Param("sid"), *hash);
  if (s.code() == Code::kUnavailable) return RetryLater(503, s.message(), 1);
  VAULT_RETURN_IF_ERROR(s);
  return Reply::NoContent();
}

StatusOr<Reply> VerifyPassword(Vault* vault, RequestContext& ctx) {
  VAULT_RETURN_IF_ERROR(RejectUnknownFields(ctx.body, {"password"}));
  std::optional<std::string> password;
  VAULT_RETURN_IF_ERROR(ReadString(ctx.body, "password", true, kMaxFieldBytes, &password));
  VAULT_RETURN_IF_ERROR(CheckPasswordPurpose(*vault, ctx, "password.verify"));
  auto verdict = vault->VerifyPassword(ctx.Caller().actor, ctx.Param("sid"), *password);
  if (verdict.status().code() == Code::kUnavailable) {
    return RetryLater(503, verdict.status().message(), 1);
  }
  VAULT_RETURN_IF_ERROR(verdict.status());
  if (verdict->retry_after_seconds > 0) {
    return RetryLater(429, "too many failed attempts for this subject; retry after the delay",
                      verdict->retry_after_seconds);
  }
  return Reply::Json(200, {{"valid", verdict->valid}});
}

StatusOr<Reply> GetPasswordStatus(Vault* vault, RequestContext& ctx) {
  VAULT_RETURN_IF_ERROR(CheckPasswordPurpose(*vault, ctx, "password.status"));
  VAULT_ASSIGN_OR_RETURN(Vault::PasswordInfo info,
                         vault->PasswordStatus(ctx.Caller().actor, ctx.Param("sid")));
  json body = {{"set", info.set}, {"algorithm", nullptr}};
  if (info.set) body["algorithm"] = info.algorithm;
  return Reply::Json(200, body);
}

}  // namespace

void AddPasswordRoutes(Router& router, Vault* vault) {
  const Access use = Access::Roles({Role::kApp, Role::kAdmin});
  router.Add({"PUT", "/v1/subjects/{sid}/password", use, BodyKind::kJsonObject,
              [vault](RequestContext& ctx) { return PutPassword(vault, ctx); }});
  router.Add({"POST", "/v1/subjects/{sid}/password/verify", use, BodyKind::kJsonObject,
              [vault](RequestContext& ctx) { return VerifyPassword(vault, ctx); }});
  router.Add({"GET", "/v1/subjects/{sid}/password",
              Access::Roles({Role::kApp, Role::kDpo, Role::kAdmin}), BodyKind::kNone,
              [vault](RequestContext& ctx) { return GetPasswordStatus(vault, ctx); }});
}

}  // namespace vault::api
