// Maps engine Status codes and HTTP failures to RFC 9457 problem+json responses, and the
// problem types those responses name.
#include "api/problem.h"

#include <nlohmann/json.hpp>
#include <string_view>

namespace vault::api {
namespace {

// Problem types: a slug (the last segment of /problems/<slug>), the title every problem of
// that type carries, its HTTP status and what a client should do about it.
constexpr ProblemTypeInfo kTypes[] = {
    {"bad-request", "Malformed request", 400,
     "Fix the request: the detail names the field, parameter or framing rule it breaks."},
    {"unauthenticated", "Missing or invalid bearer token", 401,
     "Send Authorization: Bearer <token> with a token that exists and is not revoked."},
    {"forbidden", "Role or purpose not allowed", 403,
     "Use a token whose role, and for app tokens whose purposes, admit this request."},
    {"not-found", "Not found", 404,
     "Check the path: the endpoint, subject, record, erasure, hold or token does not exist."},
    {"method-not-allowed", "Method not allowed", 405,
     "Use one of the methods the Allow header lists for this path."},
    {"conflict", "Conflicting state", 409,
     "Read the resource's current state and retry the request if it still applies."},
    {"gone", "Subject erased or erasure pending", 410,
     "Do not retry: the subject is erased or its erasure is scheduled; cancel the erasure "
     "first if it was a mistake."},
    {"length-required", "Content-Length required", 411,
     "Send the body with a Content-Length or as a chunked body."},
    {"payload-too-large", "Request body too large", 413,
     "Send a smaller body; the server's limit is set by --max-body-bytes."},
    {"uri-too-long", "Request URI too long", 414, "Send a shorter request target."},
    {"unsupported-media-type", "Unsupported media type", 415,
     "Send the body as application/json, or send no body."},
    {"policy-violation", "Request breaks the policy", 422,
     "Change the request to fit the active policy (GET /v1/policy): declared categories and "
     "retention that is not already over."},
    {"locked", "Processing restricted or blocked by a legal hold", 423,
     "Wait until the legal hold is released or lapses, or until the restriction is lifted."},
    {"restricted", "Processing of this subject is restricted", 423,
     "Do not process the subject's data: its processing is restricted (GDPR Art. 18) until "
     "a dpo lifts the restriction; a dpo may still read it, with a reason."},
    {"throttled", "Too many requests", 429, "Slow down and retry after the Retry-After delay."},
    {"internal", "Internal error", 500,
     "Retry later; if it persists, the operator finds the cause in the server's log."},
    {"unavailable", "Service unavailable", 503,
     "Retry after the Retry-After delay: the server is busy, shutting down or its store is "
     "unavailable."},
};

const ProblemTypeInfo* TypeFor(int http_status) {
  for (const ProblemTypeInfo& t : kTypes) {
    if (t.status == http_status) return &t;
  }
  if (http_status >= 500) return FindProblemType("internal");
  return nullptr;  // about:blank
}

}  // namespace

const ProblemTypeInfo* FindProblemType(std::string_view slug) {
  for (const ProblemTypeInfo& t : kTypes) {
    if (t.slug == slug) return &t;
  }
  return nullptr;
}

namespace {

std::string DefaultDetail(int http_status) {
  switch (http_status) {
    case 400:
      return "the request could not be parsed";
    case 404:
      return "no such resource";
    case 413:
      return "the request body exceeds the configured limit";
    case 414:
      return "the request URI is too long";
    case 415:
      return "the request body must be application/json";
    default:
      break;
  }
  if (http_status >= 500) return "the server could not complete the request";
  return "the request failed";
}

}  // namespace

int HttpStatusFor(Code code) {
  switch (code) {
    case Code::kOk:
      return 200;
    case Code::kInvalidArgument:
      return 400;
    case Code::kUnauthenticated:
      return 401;
    case Code::kPermissionDenied:
      return 403;
    case Code::kNotFound:
      return 404;
    case Code::kConflict:
      return 409;
    case Code::kGone:
      return 410;
    case Code::kTooLarge:
      return 413;
    case Code::kPolicyViolation:
      return 422;
    case Code::kLocked:
    case Code::kRestricted:
      return 423;
    case Code::kThrottled:
      return 429;
    case Code::kUnavailable:
      return 503;
    case Code::kDataLoss:
      return 500;
    case Code::kInternal:
      return 500;
  }
  return 500;
}

namespace {

void WriteProblemOfType(HttpResponse& res, const ProblemTypeInfo* type, int http_status,
                        const std::string& detail) {
  nlohmann::json body = {
      {"type", type == nullptr ? std::string("about:blank")
                               : std::string(kProblemTypeBase) + std::string(type->slug)},
      {"title", type == nullptr ? std::string("Error") : std::string(type->title)},
      {"status", http_status},
      {"detail", detail.empty() ? DefaultDetail(http_status) : detail},
  };
  res.status = http_status;
  if (http_status == 401) res.set_header("WWW-Authenticate", "Bearer realm=\"lethe\"");
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  kProblemContentType);
}

}  // namespace

void WriteProblem(HttpResponse& res, int http_status, const std::string& detail) {
  WriteProblemOfType(res, TypeFor(http_status), http_status, detail);
}

void WriteStatusProblem(HttpResponse& res, const Status& status) {
  const int http_status = status.ok() ? 500 : HttpStatusFor(status.code());
  // Server-side failures never show their message: it may describe internals.
  const std::string detail = http_status >= 500 && http_status != 503 ? "" : status.message();
  // Two codes share 423: a restriction names its own problem type.
  const ProblemTypeInfo* type =
      status.code() == Code::kRestricted ? FindProblemType("restricted") : TypeFor(http_status);
  WriteProblemOfType(res, type, http_status, detail);
  // Over quota (429) or a full or unavailable store (503): worth retrying, but not at once.
  if (http_status == 429) res.set_header("Retry-After", "60");
  if (http_status == 503) res.set_header("Retry-After", "30");
}

bool HasProblemBody(const HttpResponse& res) {
  return res.get_header_value("Content-Type").rfind(kProblemContentType, 0) == 0 &&
         !res.body.empty();
}

}  // namespace vault::api
