// Segment-wise route matching over the raw request target.
#include "api/router.h"

#include <algorithm>
#include <stdexcept>
#include <string_view>

namespace vault::api {
namespace {

bool IsParam(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// "/a/b" -> {"a", "b"}, views into path; empty when path does not start with '/'.
std::vector<std::string_view> SplitViews(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path[0] != '/') return out;
  std::size_t start = 1;
  while (true) {
    const std::size_t slash = path.find('/', start);
    out.push_back(path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

bool MatchSegments(const Route& route, const std::vector<std::string_view>& segments) {
  if (route.segments.size() != segments.size()) return false;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const std::string& want = route.segments[i];
    if (IsParam(want)) {
      if (segments[i].empty()) return false;
    } else if (want != segments[i]) {
      return false;
    }
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

const std::string& RequestContext::Param(const std::string& name) const {
  auto it = params.find(name);
  if (it == params.end()) throw std::logic_error("route has no such parameter");
  return it->second;
}

const Principal& RequestContext::Caller() const {
  if (!principal) throw std::logic_error("route is public");
  return *principal;
}

bool Access::Admits(Role role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

void Router::Add(Route route) {
  route.segments = SplitPath(route.pattern);
  routes_.push_back(std::move(route));
}

RouteMatch Router::Find(const std::string& method, const std::string& path) const {
  const std::string_view effective = method == "HEAD" ? std::string_view("GET") : method;
  const std::vector<std::string_view> segments = SplitViews(path);
  RouteMatch match;
  if (segments.empty()) return match;
  for (const Route& route : routes_) {
    if (!MatchSegments(route, segments)) continue;
    if (route.method == effective) {
      match.kind = RouteMatch::Kind::kFound;
      match.route = &route;
      match.pattern = route.pattern;
      match.allowed_methods.clear();
      for (std::size_t i = 0; i < segments.size(); ++i) {
        const std::string& want = route.segments[i];
        if (IsParam(want)) match.raw_params[want.substr(1, want.size() - 2)] = segments[i];
      }
      return match;
    }
    match.kind = RouteMatch::Kind::kWrongMethod;
    match.pattern = route.pattern;
    if (std::find(match.allowed_methods.begin(), match.allowed_methods.end(), route.method) ==
        match.allowed_methods.end()) {
      match.allowed_methods.push_back(route.method);
    }
  }
  return match;
}

std::optional<std::string> PercentDecode(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = HexValue(s[i + 1]);
    const int lo = HexValue(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

bool IsValidPathId(const std::string& id) { return id != "." && id != ".." && IsValidId(id); }

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> out;
  for (std::string_view v : SplitViews(path)) out.emplace_back(v);
  return out;
}

}  // namespace vault::api
