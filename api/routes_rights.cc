// Data-subject rights: erasure (grace or immediate), receipts, legal holds.
#include <optional>
#include <string>

#include "api/json_codec.h"
#include "api/routes.h"
#include "vault/rules.h"

namespace vault::api {
namespace {

using nlohmann::json;

Status ReadErasureRequest(const json& body, std::optional<std::string>* mode,
                          std::optional<std::string>* reason) {
  VAULT_RETURN_IF_ERROR(RejectUnknownFields(body, {"mode", "reason"}));
  VAULT_RETURN_IF_ERROR(ReadString(body, "mode", true, 16, mode));
  if (**mode != "grace" && **mode != "immediate") {
    return InvalidArgument("field 'mode' must be \"grace\" or \"immediate\"");
  }
  return ReadString(body, "reason", true, kMaxReasonBytes, reason);
}

// A refused request is audited: here when its body is refused, in the engine otherwise.
StatusOr<Reply> RequestErasure(Vault* vault, RequestContext& ctx) {
  std::optional<std::string> mode, reason;
  if (Status s = ReadErasureRequest(ctx.body, &mode, &reason); !s.ok()) {
    vault->AuditRefusal(ctx.Caller().actor, "erasure.request", ctx.Param("sid"), "", s.code());
    return s;
  }
  VAULT_ASSIGN_OR_RETURN(ErasureView view, vault->RequestErasure(ctx.Caller().actor,
                                                                 ctx.Param("sid"), *mode, *reason));
  // Completed now: 200. Scheduled (grace, or immediate held back by a legal hold): 202.
  return Reply::Json(view.state == "completed" ? 200 : 202, ErasureJson(view));
}

StatusOr<Reply> CancelErasure(Vault* vault, RequestContext& ctx) {
  VAULT_ASSIGN_OR_RETURN(ErasureView view,
                         vault->CancelErasure(ctx.Caller().actor, ctx.Param("sid")));
  return Reply::Json(200, ErasureJson(view));
}

StatusOr<Reply> GetErasure(Vault* vault, RequestContext& ctx) {
  VAULT_ASSIGN_OR_RETURN(ErasureView view,
                         vault->GetErasure(ctx.Caller().actor, ctx.Param("erasure_id")));
  return Reply::Json(200, ErasureJson(view));
}

StatusOr<Reply> PlaceHold(Vault* vault, RequestContext& ctx) {
  VAULT_RETURN_IF_ERROR(RejectUnknownFields(ctx.body, {"reason", "until"}));
  std::optional<std::string> reason;
  VAULT_RETURN_IF_ERROR(ReadString(ctx.body, "reason", true, kMaxReasonBytes, &reason));
  std::optional<UnixSeconds> until;
  VAULT_RETURN_IF_ERROR(ReadTime(ctx.body, "until", false, &until));
  VAULT_ASSIGN_OR_RETURN(
      HoldView hold, vault->PlaceLegalHold(ctx.Caller().actor, ctx.Param("sid"), *reason, until));
  return Reply::Json(201, HoldJson(hold));
}

StatusOr<Reply> ReleaseHold(Vault* vault, RequestContext& ctx) {
  VAULT_RETURN_IF_ERROR(
      vault->ReleaseLegalHold(ctx.Caller().actor, ctx.Param("sid"), ctx.Param("hold_id")));
  return Reply::NoContent();
}

}  // namespace

void AddRightsRoutes(Router& router, Vault* vault) {
  const Access rights = Access::Roles({Role::kDpo, Role::kAdmin});
  router.Add({"POST", "/v1/subjects/{sid}/erasure", rights, BodyKind::kJsonObject,
              [vault](RequestContext& ctx) { return RequestErasure(vault, ctx); }});
  router.Add({"DELETE", "/v1/subjects/{sid}/erasure", rights, BodyKind::kNone,
              [vault](RequestContext& ctx) { return CancelErasure(vault, ctx); }});
  router.Add({"GET", "/v1/erasures/{erasure_id}", rights, BodyKind::kNone,
              [vault](RequestContext& ctx) { return GetErasure(vault, ctx); }});
  router.Add({"POST", "/v1/subjects/{sid}/legal-holds", rights, BodyKind::kJsonObject,
              [vault](RequestContext& ctx) { return PlaceHold(vault, ctx); }});
  router.Add({"DELETE", "/v1/subjects/{sid}/legal-holds/{hold_id}", rights, BodyKind::kNone,
              [vault](RequestContext& ctx) { return ReleaseHold(vault, ctx); }});
  // The receipt-signing public key is public knowledge; any authenticated role may fetch it.
  router.Add({"GET", "/v1/receipts/public-key",
              Access::Roles({Role::kAdmin, Role::kDpo, Role::kApp, Role::kAuditor}),
              BodyKind::kNone, [vault](RequestContext&) -> StatusOr<Reply> {
                const ReceiptPublicKey key = vault->ReceiptKey();
                return Reply::Json(200, {{"key_id", key.key_id},
                                         {"algorithm", "ed25519"},
                                         {"public_key", key.public_key_base64}});
              }});
}

}  // namespace vault::api
