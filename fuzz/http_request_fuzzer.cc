// Fuzz target: the whole request path in-process, from a raw HTTP/1.1 request to the
// response, through ApiServer::Dispatch (the dispatcher the listener calls) against a real
// vault on a scratch directory.
//
// cpp-httplib 0.11.4 has no public entry point that parses a request from bytes, so the
// target parses the request line and headers itself (as httplib does: method, raw target,
// path decoded with httplib's decode_url, query with httplib's parse_query_text) and hands
// the Request to Dispatch. Input is a raw request, for example
//
//   PUT /v1/subjects/u1/records/account/r1 HTTP/1.1
//   Authorization: Bearer @app
//   Content-Type: application/json
//
//   {"data":{"name":"x"}}
//
// where "@admin", "@dpo", "@app" and "@auditor" stand for real tokens of those roles.
// Beyond "never crash", responses must keep the access rules: no 2xx without a token except
// on public routes, none for an auditor on a write, none for an app on an admin or rights
// route, never a 500, and JSON bodies that parse.
#include <httplib.h>

#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/router.h"
#include "fuzz/api_fixture.h"
#include "fuzz/fuzz_util.h"

namespace {

using vault::fuzz::ApiFixture;

constexpr std::size_t kMaxHeaders = 100;  // httplib's CPPHTTPLIB_HEADER_MAX_COUNT

bool NextLine(std::string_view* rest, std::string_view* line) {
  if (rest->empty()) return false;
  const std::size_t nl = rest->find('\n');
  *line = rest->substr(0, nl);
  *rest = nl == std::string_view::npos ? std::string_view() : rest->substr(nl + 1);
  if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
  return true;
}

// Routes an app token must never be admitted to (api/routes_*.cc): admin and rights routes.
bool AppForbidden(const std::vector<std::string>& s) {
  if (s.size() < 2 || s[0] != "v1") return false;
  if (s[1] == "tokens" || s[1] == "admin" || s[1] == "audit" || s[1] == "erasures") return true;
  return s[1] == "subjects" && s.size() >= 4 && (s[3] == "erasure" || s[3] == "legal-holds");
}

// The role of the caller as the server sees it: the first Authorization header, the way
// api/server.cc reads it, looked up in the vault.
std::optional<vault::Role> CallerRole(const ApiFixture& fx, const httplib::Request& req) {
  std::string header = req.get_header_value("Authorization");
  if (header.size() <= 7) return std::nullopt;
  for (std::size_t i = 0; i < 7; ++i) {
    header[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(header[i])));
  }
  if (header.compare(0, 7, "bearer ") != 0) return std::nullopt;
  std::string token = header.substr(7);
  while (!token.empty() && token.front() == ' ') token.erase(token.begin());
  while (!token.empty() && token.back() == ' ') token.pop_back();
  auto info = fx.vault->Authenticate(token);
  if (!info.ok()) return std::nullopt;
  return info->role;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ApiFixture::Get();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ApiFixture& fx = ApiFixture::Get();
  std::string_view rest(reinterpret_cast<const char*>(data), size);

  httplib::Request req;
  std::string_view line;
  if (!NextLine(&rest, &line)) return 0;
  // Request line: METHOD SP target [SP version], as httplib splits it.
  const std::size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return 0;
  req.method = std::string(line.substr(0, sp1));
  std::string_view target = line.substr(sp1 + 1);
  const std::size_t sp2 = target.find(' ');
  if (sp2 != std::string_view::npos) {
    req.version = std::string(target.substr(sp2 + 1));
    target = target.substr(0, sp2);
  }
  req.target = std::string(target);
  const std::size_t q = req.target.find('?');
  req.path = httplib::detail::decode_url(req.target.substr(0, q), false);
  if (q != std::string::npos)
    httplib::detail::parse_query_text(req.target.substr(q + 1), req.params);

  while (NextLine(&rest, &line) && !line.empty()) {
    if (req.headers.size() >= kMaxHeaders) return 0;  // httplib refuses the request
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return 0;  // httplib: 400
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    req.headers.emplace(std::string(line.substr(0, colon)), fx.ExpandTokens(std::string(value)));
  }
  req.body = std::string(rest);

  httplib::Response res;
  fx.DispatchAndCheck(req, res);

  if (res.status >= 200 && res.status < 300) {
    const std::optional<vault::Role> role = CallerRole(fx, req);
    const std::string path = req.target.substr(0, q);
    const std::vector<std::string> segments = vault::api::SplitPath(path);
    if (!req.has_header("Authorization")) {
      VAULT_FUZZ_CHECK(path == "/healthz" || path == "/metrics");  // deny by default
    }
    const bool reads = req.method == "GET" || req.method == "HEAD";
    if (role == vault::Role::kAuditor) VAULT_FUZZ_CHECK(reads);
    if (role == vault::Role::kApp) VAULT_FUZZ_CHECK(!AppForbidden(segments));
  }
  return 0;
}
