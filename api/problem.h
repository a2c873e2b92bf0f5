// RFC 9457 problem+json: the one place vault::Status codes become HTTP error responses.
#pragma once

#include <string>
#include <string_view>

#include "api/http_message.h"
#include "vault/status.h"

namespace vault::api {

inline constexpr const char* kProblemContentType = "application/problem+json";
// Problem `type` URIs are relative references under the server's own base URL (RFC 9457
// 3.1.1: resolved against the request URI), served by GET /problems/<slug>.
inline constexpr const char* kProblemTypeBase = "/problems/";

// One problem type: what GET /problems/<slug> describes.
struct ProblemTypeInfo {
  std::string_view slug;
  std::string_view title;
  int status;
  std::string_view what_to_do;
};

// The problem type of that slug, or null when there is none.
const ProblemTypeInfo* FindProblemType(std::string_view slug);

// HTTP status for an engine code (kOk maps to 200).
int HttpStatusFor(Code code);

// Writes {"type","title","status","detail"} with Content-Type application/problem+json.
// detail must never contain request values or personal data; callers pass fixed text.
void WriteProblem(HttpResponse& res, int http_status, const std::string& detail);

// Writes the problem for a non-OK engine Status. Internal and data-loss errors get a
// generic detail so that internals never reach a client; 401 adds WWW-Authenticate, 429
// (quota) Retry-After: 60 and 503 (store full or unavailable) Retry-After: 30.
void WriteStatusProblem(HttpResponse& res, const Status& status);

// True if res already carries a problem+json body (so error handlers leave it alone).
bool HasProblemBody(const HttpResponse& res);

}  // namespace vault::api
