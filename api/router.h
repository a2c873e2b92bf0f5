// Route table of the HTTP API: patterns with {param} segments, per-route access rules.
//
// The router matches the raw (still percent-encoded) request target segment by segment,
// so an encoded '/' inside an id stays inside its segment and is refused by id validation
// instead of silently selecting another route.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "api/http_message.h"
#include "vault/status.h"
#include "vault/vault.h"

namespace vault::api {

// What a handler answers when it succeeds. Errors are returned as a vault::Status and
// rendered in one place (problem.h).
struct Reply {
  int status = 200;
  std::optional<nlohmann::json> json;  // nullopt: no body (204)
  std::string text;                    // used instead of json when content_type is set
  std::string content_type;            // empty: application/json
  std::vector<std::pair<std::string, std::string>> headers;
  // A streamed body (of type content_type) instead of text: api/http_message.h BodySource.
  std::shared_ptr<BodySource> stream;

  static Reply Json(int status, nlohmann::json body) {
    Reply r;
    r.status = status;
    r.json = std::move(body);
    return r;
  }
  // A JSON body already serialized (by the API's own writers, never copied from a request).
  static Reply JsonText(int status, std::string text) {
    Reply r;
    r.status = status;
    r.text = std::move(text);
    r.content_type = "application/json";
    return r;
  }
  static Reply NoContent() {
    Reply r;
    r.status = 204;
    return r;
  }
};

// The authenticated caller of a /v1/ route.
struct Principal {
  TokenInfo token;
  Actor actor;
};

struct RequestContext {
  const HttpRequest& http;
  std::map<std::string, std::string> params;  // decoded, validated path parameters
  std::optional<Principal> principal;         // set on every non-public route
  nlohmann::json body;                        // parsed object for routes that take one

  const std::string& Param(const std::string& name) const;
  const Principal& Caller() const;  // REQUIRES: a non-public route
};

using RouteHandler = std::function<StatusOr<Reply>(RequestContext&)>;

// Who may call a route. Deny by default: a route lists every role it admits.
struct Access {
  bool is_public = false;
  std::vector<Role> roles;

  static Access Public() { return {true, {}}; }
  static Access Roles(std::vector<Role> roles) { return {false, std::move(roles)}; }
  bool Admits(Role role) const;
};

enum class BodyKind { kNone, kJsonObject };

struct Route {
  std::string method;   // GET, PUT, POST, DELETE
  std::string pattern;  // "/v1/subjects/{sid}"; also the metrics and access-log label
  Access access;
  BodyKind body = BodyKind::kNone;
  RouteHandler handler;
  std::vector<std::string> segments;  // split pattern; "{x}" marks a parameter
};

struct RouteMatch {
  enum class Kind { kFound, kNoSuchPath, kWrongMethod };
  Kind kind = Kind::kNoSuchPath;
  const Route* route = nullptr;
  std::string pattern;                            // set for kFound and kWrongMethod
  std::map<std::string, std::string> raw_params;  // still percent-encoded
  std::vector<std::string> allowed_methods;       // for 405's Allow header
};

// Not thread-safe while routes are added; Find is safe from any thread afterwards.
class Router {
 public:
  void Add(Route route);
  // path: the request target without its query string. HEAD matches GET routes.
  RouteMatch Find(const std::string& method, const std::string& path) const;

 private:
  std::vector<Route> routes_;
};

// "/v1/a/b" -> {"v1", "a", "b"}; empty for a path that does not start with '/'.
std::vector<std::string> SplitPath(const std::string& path);

// Decodes %XX escapes; nullopt on a malformed escape.
std::optional<std::string> PercentDecode(const std::string& s);

// Ids in the path: vault::IsValidId, and never "." or ".." (path-traversal syntax).
bool IsValidPathId(const std::string& id);

}  // namespace vault::api
