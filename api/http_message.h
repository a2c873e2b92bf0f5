// HttpRequest and HttpResponse: the parsed request the dispatcher reads and the response it
// writes, independent of the transport (api/http_listener.h) that parses and serializes them.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vault::api {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;   // as sent: "GET", "PUT", ...
  std::string target;   // the raw request-target: "/v1/audit?limit=5"
  int version = 11;     // 10 for HTTP/1.0, 11 for HTTP/1.1
  HttpHeaders headers;  // in arrival order, names as sent
  std::string body;
  // When the head was complete; the request's duration in metrics runs from here.
  std::chrono::steady_clock::time_point received = std::chrono::steady_clock::now();

  // Header names compare case-insensitively; the first field of a name wins.
  bool has_header(std::string_view name) const;
  std::string get_header_value(std::string_view name) const;  // "" when absent
  std::size_t header_count(std::string_view name) const;
  // Replaces every field of that name (for requests built in-process: fuzzers, tests).
  void set_header(std::string name, std::string value);

  std::string path() const;  // the target without its query string
  // Query parameters, percent-decoded ('+' is a space); the first of a name wins.
  bool has_param(std::string_view name) const;
  std::string get_param_value(std::string_view name) const;  // "" when absent
};

// A response body produced piece by piece and sent with the chunked transfer coding (to an
// HTTP/1.0 client: delimited by the close), so it never has to be whole in memory. Next runs on
// a worker thread, one call at a time, each after the previous piece was written.
class BodySource {
 public:
  enum class Step {
    kPiece,  // *out holds the next piece (possibly empty)
    kDone,   // the body is complete
    kFailed  // the body cannot be completed: the connection closes without the last chunk,
             // so the client sees the body was cut short
  };
  virtual ~BodySource() = default;
  // Must not throw.
  virtual Step Next(std::string* out) = 0;
};

struct HttpResponse {
  int status = 200;
  HttpHeaders headers;  // Content-Length and Connection are added when serialized
  std::string body;
  // Set for a streamed body (then `body` is unused): only with status 200; dropped for HEAD.
  std::shared_ptr<BodySource> stream;

  // Replaces every field of that name (case-insensitive).
  void set_header(std::string name, std::string value);
  std::string get_header_value(std::string_view name) const;  // "" when absent
  void set_content(std::string content, std::string content_type);
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace vault::api
