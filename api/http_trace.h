// Request correlation: the X-Request-Id a response echoes (the client's when well formed,
// else a fresh one) and the W3C Trace Context `traceparent` (version 00) written to the
// access log. https://www.w3.org/TR/trace-context/
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "api/http_message.h"

namespace vault::api {

inline constexpr const char* kRequestIdHeader = "X-Request-Id";

// 1..128 characters of [A-Za-z0-9._:-].
bool IsValidRequestId(std::string_view id);

// 32 lowercase hex digits from a 128-bit random value (a per-thread generator seeded from
// std::random_device: unique, not secret).
std::string NewRequestId();

// The request's X-Request-Id when valid, else a new one.
std::string RequestIdFor(const HttpRequest& req);

struct TraceParent {
  std::string trace_id;   // 32 lowercase hex, not all zero
  std::string parent_id;  // 16 lowercase hex, not all zero
  std::string flags;      // 2 lowercase hex
};

// A traceparent header value "00-<trace-id>-<parent-id>-<flags>"; nullopt when it is not a
// valid version-00 value (another version, wrong lengths, uppercase, all-zero ids).
std::optional<TraceParent> ParseTraceParent(std::string_view value);

// The request's traceparent when it carries exactly one valid field.
std::optional<TraceParent> TraceParentFor(const HttpRequest& req);

}  // namespace vault::api
