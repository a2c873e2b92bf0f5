// X-Request-Id validation and generation; traceparent parsing (http_trace.h).
#include "api/http_trace.h"

#include <cstdint>
#include <random>

namespace vault::api {
namespace {

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool AllZero(std::string_view s) { return s.find_first_not_of('0') == std::string_view::npos; }

void AppendHex(std::uint64_t v, std::string* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (int shift = 60; shift >= 0; shift -= 4) out->push_back(kDigits[(v >> shift) & 0xf]);
}

}  // namespace

bool IsValidRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string NewRequestId() {
  thread_local std::mt19937_64 generator([] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }());
  std::string id;
  id.reserve(32);
  AppendHex(generator(), &id);
  AppendHex(generator(), &id);
  return id;
}

std::string RequestIdFor(const HttpRequest& req) {
  if (req.header_count(kRequestIdHeader) == 1) {
    std::string id = req.get_header_value(kRequestIdHeader);
    if (IsValidRequestId(id)) return id;
  }
  return NewRequestId();
}

std::optional<TraceParent> ParseTraceParent(std::string_view v) {
  // 00-<32 hex>-<16 hex>-<2 hex>: 55 characters, exactly, for version 00.
  if (v.size() != 55 || v[2] != '-' || v[35] != '-' || v[52] != '-') return std::nullopt;
  const std::string_view version = v.substr(0, 2), trace = v.substr(3, 32),
                         parent = v.substr(36, 16), flags = v.substr(53, 2);
  if (version != "00" || !IsLowerHex(trace) || !IsLowerHex(parent) || !IsLowerHex(flags) ||
      AllZero(trace) || AllZero(parent)) {
    return std::nullopt;
  }
  return TraceParent{std::string(trace), std::string(parent), std::string(flags)};
}

std::optional<TraceParent> TraceParentFor(const HttpRequest& req) {
  if (req.header_count("traceparent") != 1) return std::nullopt;
  return ParseTraceParent(req.get_header_value("traceparent"));
}

}  // namespace vault::api
