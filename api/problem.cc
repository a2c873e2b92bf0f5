// Maps engine Status codes and HTTP failures to RFC 9457 problem+json responses.
#include "api/problem.h"

#include <nlohmann/json.hpp>
#include <string_view>

namespace vault::api {
namespace {

struct ProblemType {
  std::string_view slug;  // "" means about:blank
  std::string_view title;
};

ProblemType TypeFor(int http_status) {
  switch (http_status) {
    case 400:
      return {"bad-request", "Malformed request"};
    case 401:
      return {"unauthenticated", "Missing or invalid bearer token"};
    case 403:
      return {"forbidden", "Role or purpose not allowed"};
    case 404:
      return {"not-found", "Not found"};
    case 405:
      return {"method-not-allowed", "Method not allowed"};
    case 409:
      return {"conflict", "Conflicting state"};
    case 410:
      return {"gone", "Subject erased or erasure pending"};
    case 411:
      return {"length-required", "Content-Length required"};
    case 413:
      return {"payload-too-large", "Request body too large"};
    case 414:
      return {"uri-too-long", "Request URI too long"};
    case 415:
      return {"unsupported-media-type", "Unsupported media type"};
    case 422:
      return {"policy-violation", "Request breaks the policy"};
    case 423:
      return {"locked", "Processing restricted or blocked by a legal hold"};
    case 429:
      return {"throttled", "Too many requests"};
    case 503:
      return {"unavailable", "Service unavailable"};
    default:
      break;
  }
  if (http_status >= 500) return {"internal", "Internal error"};
  return {"", "Error"};
}

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

void WriteProblem(HttpResponse& res, int http_status, const std::string& detail) {
  const ProblemType type = TypeFor(http_status);
  nlohmann::json body = {
      {"type", type.slug.empty() ? std::string("about:blank")
                                 : "https://vault.dev/problems/" + std::string(type.slug)},
      {"title", std::string(type.title)},
      {"status", http_status},
      {"detail", detail.empty() ? DefaultDetail(http_status) : detail},
  };
  res.status = http_status;
  if (http_status == 401) res.set_header("WWW-Authenticate", "Bearer realm=\"vault\"");
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  kProblemContentType);
}

void WriteStatusProblem(HttpResponse& res, const Status& status) {
  const int http_status = status.ok() ? 500 : HttpStatusFor(status.code());
  // Server-side failures never show their message: it may describe internals.
  const std::string detail = http_status >= 500 && http_status != 503 ? "" : status.message();
  WriteProblem(res, http_status, detail);
}

bool HasProblemBody(const HttpResponse& res) {
  return res.get_header_value("Content-Type").rfind(kProblemContentType, 0) == 0 &&
         !res.body.empty();
}

}  // namespace vault::api
