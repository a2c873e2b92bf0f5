// Fuzz target: the whole request path in-process, from raw bytes to the response: the
// server's own parser (api/request_parser.h: Boost.Beast's parser with the edge's limits and
// framing rules, fed the bytes as the connection would) and then ApiServer::Dispatch (the
// dispatcher the listener runs) against a real vault on a scratch directory. Up to four
// pipelined requests per input are parsed and dispatched in order, as one connection would
// serve them; a refused request ends the input, as it closes the connection. Input is raw
// HTTP/1.1, for example
//
//   PUT /v1/subjects/u1/records/account/r1 HTTP/1.1
//   Authorization: Bearer @app
//   Content-Type: application/json
//   Content-Length: 21
//
//   {"data":{"name":"x"}}
//
// (CRLF line ends) where "@admin", "@dpo", "@app" and "@auditor" stand for real tokens of
// those roles. Beyond "never crash", responses must keep the access rules: no 2xx without a
// token except on public routes, none for an auditor on a write, none for an app on an admin
// or rights route, never a 500, JSON bodies that parse; refusals only with the edge's
// statuses; and no request reaches Dispatch with ambiguous framing (a GET, HEAD or OPTIONS
// body, two Content-Length fields).
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/request_parser.h"
#include "api/router.h"
#include "fuzz/api_fixture.h"
#include "fuzz/fuzz_util.h"

namespace {

using vault::fuzz::ApiFixture;

using vault::api::HttpRequest;
using vault::api::HttpResponse;
using vault::api::RequestParser;
namespace http = boost::beast::http;

constexpr int kMaxRequestsPerInput = 4;

// Feeds bytes from *rest until the head (or the whole message) is parsed, as reads from a
// connection would; the end of the input is the end of the stream.
bool Feed(RequestParser& parser, std::string_view* rest, bool whole, boost::beast::error_code& ec) {
  auto done = [&] { return whole ? parser.is_done() : parser.is_header_done(); };
  while (!done()) {
    const std::size_t n = parser.put(boost::asio::const_buffer(rest->data(), rest->size()), ec);
    rest->remove_prefix(n);
    if (ec == http::error::need_more) ec = {};
    if (ec) return false;
    if (n == 0) {
      parser.put_eof(ec);
      if (!ec && !done()) ec = http::error::partial_message;
      return !ec;
    }
  }
  return true;
}

void CheckRefusal(const vault::api::Refusal& r) {
  VAULT_FUZZ_CHECK(r.status == 0 || r.status == 400 || r.status == 413 || r.status == 417 ||
                   r.status == 431 || r.status == 501);
}

// Routes an app token must never be admitted to (api/routes_*.cc): admin and rights routes.
bool AppForbidden(const std::vector<std::string>& s) {
  if (s.size() < 2 || s[0] != "v1") return false;
  if (s[1] == "tokens" || s[1] == "admin" || s[1] == "audit" || s[1] == "erasures") return true;
  return s[1] == "subjects" && s.size() >= 4 && (s[3] == "erasure" || s[3] == "legal-holds");
}

// The role of the caller as the server sees it: the first Authorization header, the way
// api/server.cc reads it, looked up in the vault.
std::optional<vault::Role> CallerRole(const ApiFixture& fx, const HttpRequest& req) {
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

// The access rules every 2xx must keep.
void CheckAccess(const ApiFixture& fx, const HttpRequest& req) {
  const std::optional<vault::Role> role = CallerRole(fx, req);
  const std::string path = req.path();
  const std::vector<std::string> segments = vault::api::SplitPath(path);
  if (!req.has_header("Authorization")) {
    VAULT_FUZZ_CHECK(path == "/healthz" || path == "/metrics");  // deny by default
  }
  const bool reads = req.method == "GET" || req.method == "HEAD";
  if (role == vault::Role::kAuditor) VAULT_FUZZ_CHECK(reads);
  if (role == vault::Role::kApp) VAULT_FUZZ_CHECK(!AppForbidden(segments));
}

// Parses and dispatches one request; false when the connection would close after it.
bool ServeOne(ApiFixture& fx, std::string_view* rest) {
  RequestParser parser(vault::api::RequestLimits{});
  parser.eager(false);
  boost::beast::error_code ec;
  if (!Feed(parser, rest, false, ec)) {
    CheckRefusal(vault::api::RefusalFor(ec, parser));
    return false;
  }
  const vault::api::Refusal early = vault::api::CheckHead(parser);
  if (early.refused()) {
    CheckRefusal(early);
    return false;
  }
  parser.eager(true);
  if (!Feed(parser, rest, true, ec)) {
    CheckRefusal(vault::api::RefusalFor(ec, parser));
    return false;
  }
  const HttpRequest& req = parser.request();
  if (req.method == "GET" || req.method == "HEAD" || req.method == "OPTIONS") {
    VAULT_FUZZ_CHECK(req.body.empty());
  }
  VAULT_FUZZ_CHECK(req.header_count("Content-Length") <= 1);
  HttpResponse res;
  fx.DispatchAndCheck(req, res);
  if (res.status >= 200 && res.status < 300) CheckAccess(fx, req);
  return parser.keep_alive();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ApiFixture::Get();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ApiFixture& fx = ApiFixture::Get();
  const std::string input = fx.ExpandTokens(std::string(reinterpret_cast<const char*>(data), size));
  std::string_view rest(input);
  for (int i = 0; i < kMaxRequestsPerInput && !rest.empty(); ++i) {
    if (!ServeOne(fx, &rest)) break;
  }
  return 0;
}
