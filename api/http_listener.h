// HttpListener: the event-driven HTTP/1.1 edge on Boost.Beast and Boost.Asio. One or two I/O
// threads accept, read (a deadline per request head and body), parse (limits on head bytes,
// header count and body bytes) and write; complete requests run on the bounded worker pool
// (api/worker_pool.h). An idle keep-alive connection costs a socket and a small buffer.
// Lifecycle, limits and when a connection closes: docs/design.md, "HTTP edge".
//
// Thread safety: Bind and Run are called from one thread; Stop from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "api/http_message.h"
#include "api/request_parser.h"
#include "vault/status.h"

namespace vault::api {

struct ListenerOptions {
  RequestLimits limits;
  std::size_t io_threads = 2;
  std::size_t workers = 64;
  std::size_t max_queued = 1024;        // requests waiting for a worker; beyond: 503
  std::size_t max_connections = 10000;  // also capped by RLIMIT_NOFILE; beyond: closed at once
  std::size_t max_requests_per_connection = 1000;
  std::chrono::milliseconds request_timeout{10'000};  // one request's head and body, in all
  std::chrono::milliseconds write_timeout{10'000};    // one response
  std::chrono::milliseconds idle_timeout{60'000};     // keep-alive wait for the next request
  std::chrono::milliseconds drain_timeout{10'000};    // Stop: in-flight requests finish within
  std::string tls_cert;                               // PEM files; TLS when both are set
  std::string tls_key;
};

struct ListenerHooks {
  // Runs a complete request on a worker thread and returns its response. Must not throw.
  std::function<HttpResponse(const HttpRequest&)> handle;
  // Told of each request the edge answered itself (parse errors, limits, 503) on an I/O
  // thread, for the access log and metrics; req holds what was parsed before the refusal.
  // It may add header fields to the response (X-Request-Id) before it is sent.
  std::function<void(const HttpRequest&, HttpResponse&)> refused;
};

class HttpListener {
 public:
  // Loads the TLS certificate and key when set (kInvalidArgument when they do not load).
  static StatusOr<std::unique_ptr<HttpListener>> Create(ListenerOptions options,
                                                        ListenerHooks hooks);
  ~HttpListener();
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  // Binds host:port without SO_REUSEPORT (a taken port is an error naming the address) and
  // raises RLIMIT_NOFILE's soft limit to the hard limit. Returns the bound port.
  StatusOr<int> Bind(const std::string& host, int port);
  // Serves until Stop(): then stops accepting, closes idle connections, lets in-flight
  // requests finish (at most drain_timeout) and returns. REQUIRES: Bind().
  Status Run();
  void Stop();

  struct Impl;

 private:
  explicit HttpListener(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vault::api
