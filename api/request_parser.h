// RequestParser: Boost.Beast's HTTP/1.1 request parser filling an HttpRequest, with the edge's
// limits (head bytes, header count, body bytes) and its framing rules; and Refusal, the one
// mapping of a parse error or a refused head to the status the client gets.
//
// Framing rules (docs/design.md, "HTTP edge"): Content-Length is digits only and appears at
// most once; Transfer-Encoding is exactly "chunked" (the decoded body is limited like any
// other), never with Content-Length (Beast) nor on HTTP/1.0; GET, HEAD and OPTIONS carry no
// body; Host, Authorization and Content-Type appear at most once. Every refusal closes the
// connection, so no byte after a refused head is ever read as a request.
#pragma once

#include <boost/beast/http/basic_parser.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

#include "api/http_message.h"

namespace vault::api {

struct RequestLimits {
  std::size_t max_head_bytes = std::size_t{32} * 1024;  // request line and fields (431)
  std::size_t max_header_count = 100;                   // header fields (431)
  std::size_t max_body_bytes = 1 << 20;  // Content-Length or decoded chunked body (413)
};

// A request the edge answers itself, and closes the connection after.
struct Refusal {
  int status = 0;  // 0: no answer at all (the peer went away or the deadline passed)
  std::string detail;
  bool refused() const { return status != 0; }
};

class RequestParser : public boost::beast::http::basic_parser<true> {
 public:
  explicit RequestParser(const RequestLimits& limits);

  HttpRequest& request() { return req_; }
  const HttpRequest& request() const { return req_; }
  // Set when one of this class's own rules stopped the parse (the error code is then
  // http::error::bad_field or header_limit); RefusalFor reads it.
  const Refusal& own_refusal() const { return own_refusal_; }

 private:
  using error_code = boost::beast::error_code;
  using string_view = boost::beast::string_view;
  void on_request_impl(boost::beast::http::verb, string_view method, string_view target,
                       int version, error_code& ec) override;
  void on_response_impl(int, string_view, int, error_code& ec) override;
  void on_field_impl(boost::beast::http::field name, string_view name_string, string_view value,
                     error_code& ec) override;
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         error_code&) override;
  std::size_t on_body_impl(string_view body, error_code&) override;
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code&) override;
  void on_finish_impl(error_code&) override {}

  const RequestLimits limits_;
  HttpRequest req_;
  std::size_t fields_ = 0;  // header and trailer fields seen
  Refusal own_refusal_;
};

// The answer to a failed parse (ec from the parser or the read that fed it).
Refusal RefusalFor(const boost::beast::error_code& ec, const RequestParser& parser);

// Checks a complete head before any body byte is read: body framing per method and
// version, and the expectation. REQUIRES: parser.is_header_done().
Refusal CheckHead(const RequestParser& parser);

// True when the client asked for "Expect: 100-continue" (CheckHead refuses other expectations).
bool ExpectsContinue(const HttpRequest& req);

}  // namespace vault::api
