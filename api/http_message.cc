// Header and query-string access of HttpRequest and HttpResponse (http_message.h).
#include "api/http_message.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "api/router.h"

namespace vault::api {
namespace {

const std::string* FindHeader(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (EqualsIgnoreCase(n, name)) return &v;
  }
  return nullptr;
}

void ReplaceHeader(HttpHeaders& headers, std::string name, std::string value) {
  headers.erase(std::remove_if(headers.begin(), headers.end(),
                               [&](const auto& h) { return EqualsIgnoreCase(h.first, name); }),
                headers.end());
  headers.emplace_back(std::move(name), std::move(value));
}

// The decoded value of the first `name=value` pair of the query string, if any.
std::optional<std::string> FindParam(const std::string& target, std::string_view name) {
  const std::size_t q = target.find('?');
  if (q == std::string::npos) return std::nullopt;
  std::string_view query(target);
  query.remove_prefix(q + 1);
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    std::string key(pair.substr(0, eq));
    std::string value(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    std::replace(key.begin(), key.end(), '+', ' ');
    std::replace(value.begin(), value.end(), '+', ' ');
    const std::optional<std::string> decoded_key = PercentDecode(key);
    if (!decoded_key || *decoded_key != name) continue;
    // A malformed escape reads as the empty string, which no parameter reader accepts.
    return PercentDecode(value).value_or("");
  }
  return std::nullopt;
}

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool HttpRequest::has_header(std::string_view name) const {
  return FindHeader(headers, name) != nullptr;
}

std::string HttpRequest::get_header_value(std::string_view name) const {
  const std::string* v = FindHeader(headers, name);
  return v == nullptr ? std::string() : *v;
}

std::size_t HttpRequest::header_count(std::string_view name) const {
  return static_cast<std::size_t>(std::count_if(headers.begin(), headers.end(), [&](const auto& h) {
    return EqualsIgnoreCase(h.first, name);
  }));
}

void HttpRequest::set_header(std::string name, std::string value) {
  ReplaceHeader(headers, std::move(name), std::move(value));
}

std::string HttpRequest::path() const { return target.substr(0, target.find('?')); }

bool HttpRequest::has_param(std::string_view name) const {
  return FindParam(target, name).has_value();
}

std::string HttpRequest::get_param_value(std::string_view name) const {
  return FindParam(target, name).value_or("");
}

void HttpResponse::set_header(std::string name, std::string value) {
  ReplaceHeader(headers, std::move(name), std::move(value));
}

std::string HttpResponse::get_header_value(std::string_view name) const {
  const std::string* v = FindHeader(headers, name);
  return v == nullptr ? std::string() : *v;
}

void HttpResponse::set_content(std::string content, std::string content_type) {
  body = std::move(content);
  set_header("Content-Type", std::move(content_type));
}

}  // namespace vault::api
