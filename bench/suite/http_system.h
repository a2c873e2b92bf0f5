// The real `lethe serve` as the system under test, over HTTP/1.1 keep-alive on loopback
// (Boost.Beast, one blocking connection per client), and a bare client for other routes.
#pragma once

#include <memory>
#include <string>

#include "bench/suite/load.h"

namespace bench {

struct HttpReply {
  int status = 0;
  std::string body;
};

// One keep-alive connection to host:port; reconnects when the server closes it.
class HttpClient {
 public:
  HttpClient(std::string host, std::string port, std::string token);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  // method: "GET", "PUT", "POST", "DELETE". Throws BenchError on a transport error.
  HttpReply Send(const std::string& method, const std::string& target,
                 const std::string& body = "");

 private:
  struct Conn;
  std::string host_, port_, token_;
  std::unique_ptr<Conn> conn_;
};

// url: http://127.0.0.1:PORT; token: an admin token (records, erasure).
std::unique_ptr<System> MakeHttpSystem(const std::string& url, const std::string& token);

// Splits http://host:port into host and port; throws BenchError when malformed.
void SplitUrl(const std::string& url, std::string* host, std::string* port);

}  // namespace bench
