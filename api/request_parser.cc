// RequestParser's callbacks, its framing rules and the refusal of a failed parse.
#include "api/request_parser.h"

#include <boost/beast/http/error.hpp>
#include <string_view>

namespace vault::api {
namespace {

namespace http = boost::beast::http;

std::string_view Trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

bool AllDigits(std::string_view v) {
  if (v.empty()) return false;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool IsHttpError(const boost::beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category();
}

}  // namespace

RequestParser::RequestParser(const RequestLimits& limits) : limits_(limits) {
  header_limit(static_cast<std::uint32_t>(limits.max_head_bytes));
  body_limit(limits.max_body_bytes);
}

void RequestParser::on_request_impl(http::verb, string_view method, string_view target, int version,
                                    error_code&) {
  req_.method.assign(method.data(), method.size());
  req_.target.assign(target.data(), target.size());
  req_.version = version;
}

void RequestParser::on_response_impl(int, string_view, int, error_code& ec) {
  ec = http::error::bad_version;  // never called for a request parser
}

void RequestParser::on_field_impl(http::field name, string_view name_string, string_view value,
                                  error_code& ec) {
  auto refuse = [&](int status, std::string detail, http::error code) {
    own_refusal_ = Refusal{status, std::move(detail)};
    ec = code;
  };
  if (++fields_ > limits_.max_header_count) {
    return refuse(431, "more than " + std::to_string(limits_.max_header_count) + " header fields",
                  http::error::header_limit);
  }
  // Trailer fields of a chunked body are read and dropped: none may add or change a header.
  if (is_header_done()) return;
  const std::string_view n(name_string.data(), name_string.size());
  const std::string_view v = Trim(std::string_view(value.data(), value.size()));
  if (name == http::field::content_length && (!AllDigits(v) || req_.has_header(n))) {
    return refuse(400, "Content-Length must appear once, as decimal digits",
                  http::error::bad_content_length);
  }
  if (name == http::field::transfer_encoding) {
    if (req_.version < 11) {
      return refuse(400, "HTTP/1.0 requests cannot use Transfer-Encoding",
                    http::error::bad_transfer_encoding);
    }
    if (!EqualsIgnoreCase(v, "chunked") || req_.has_header(n)) {
      return refuse(501, "the only transfer coding accepted is a single 'chunked'",
                    http::error::bad_transfer_encoding);
    }
  }
  if ((name == http::field::host || name == http::field::authorization ||
       name == http::field::content_type) &&
      req_.has_header(n)) {
    return refuse(400, "a header field that must appear once appeared twice",
                  http::error::bad_field);
  }
  req_.headers.emplace_back(std::string(n), std::string(v));
}

void RequestParser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                                      error_code&) {
  // Memory follows the bytes that arrive, not the length a client announces.
  constexpr std::uint64_t kReserveAtMost = std::uint64_t{64} * 1024;
  if (content_length) req_.body.reserve(std::min(*content_length, kReserveAtMost));
}

std::size_t RequestParser::on_body_impl(string_view body, error_code&) {
  req_.body.append(body.data(), body.size());
  return body.size();
}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t, string_view body, error_code&) {
  req_.body.append(body.data(), body.size());
  return body.size();
}

Refusal RefusalFor(const boost::beast::error_code& ec, const RequestParser& parser) {
  if (parser.own_refusal().refused()) return parser.own_refusal();
  if (!IsHttpError(ec)) return Refusal{};  // timeout, reset, shutdown: nothing to answer
  switch (static_cast<http::error>(ec.value())) {
    case http::error::end_of_stream:
    case http::error::partial_message:
      return Refusal{};  // the client closed
    case http::error::header_limit:
    case http::error::buffer_overflow:
      return Refusal{431, "the request head is larger than the server accepts"};
    case http::error::body_limit:
      return Refusal{413, "the request body is larger than the server accepts"};
    case http::error::bad_content_length:
      return Refusal{400, "Content-Length must appear once, as decimal digits"};
    case http::error::bad_transfer_encoding:
      return Refusal{400, "Transfer-Encoding and Content-Length conflict"};
    default:
      return Refusal{400, "malformed HTTP request"};
  }
}

Refusal CheckHead(const RequestParser& parser) {
  const HttpRequest& req = parser.request();
  const bool has_body = parser.chunked() || parser.content_length().value_or(0) > 0;
  if (has_body && (req.method == "GET" || req.method == "HEAD" || req.method == "OPTIONS")) {
    return Refusal{400, "a " + req.method + " request carries no body"};
  }
  if (req.has_header("Expect") && !ExpectsContinue(req)) {
    return Refusal{417, "the only expectation accepted is 100-continue"};
  }
  return Refusal{};
}

bool ExpectsContinue(const HttpRequest& req) {
  return req.has_header("Expect") &&
         EqualsIgnoreCase(req.get_header_value("Expect"), "100-continue");
}

}  // namespace vault::api
