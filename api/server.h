// ApiServer: the HTTP API v1 on the event-driven edge (api/http_listener.h), routing every
// request through one dispatcher (authentication, roles, id validation, body parsing,
// problem+json errors, metrics, access log).
//
// Thread safety: Dispatch and Handle may run on any number of threads at once. Bind/Run/Listen
// are called from one thread; Stop may be called from any thread (a signal watcher).
// Lifetime: the Vault passed to Create must outlive the ApiServer.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "api/access_log.h"
#include "api/http_listener.h"
#include "api/http_message.h"
#include "api/http_trace.h"
#include "api/metrics.h"
#include "api/rate_limiter.h"
#include "api/router.h"
#include "vault/status.h"
#include "vault/vault.h"

namespace vault::api {

struct ServerOptions {
  // Largest request body (Content-Length or decoded chunked body): 413 at the head.
  std::size_t max_body_bytes = 1 << 20;
  // Request line plus header fields, in bytes and in fields: 431 beyond either.
  std::size_t max_head_bytes = std::size_t{32} * 1024;
  std::size_t max_header_count = 100;
  // Worker threads running handlers; writes wait for their group commit on their worker,
  // so more threads also make larger commits. Requests beyond them wait in a queue of
  // max_queued_connections requests (the name predates the event-driven edge), then get 503.
  std::size_t threads = 64;
  std::size_t max_queued_connections = 1024;
  // I/O threads: accept, read, parse, write for every connection.
  std::size_t io_threads = 2;
  // Open connections at most (also capped by RLIMIT_NOFILE); beyond, new ones are closed.
  std::size_t max_connections = 10000;
  // One deadline for a request's whole head and body, counted from its first byte.
  std::chrono::seconds read_timeout{10};
  std::chrono::seconds write_timeout{10};
  // How long an idle keep-alive connection may wait for its next request.
  std::chrono::seconds keep_alive_timeout{60};
  std::size_t keep_alive_max_count = 1000;
  // TLS when both are set (PEM files).
  std::string tls_cert;
  std::string tls_key;
  // JSON access-log lines on stderr: {"ts","method","route","status","duration_ms","token_id",
  // "request_id","trace_id","parent_id"}, written in batches by a background thread
  // (api/access_log.h).
  bool access_log = true;
  // Per-token request rate: a token bucket per bearer token id refilled at rate_limit
  // requests a second, holding at most rate_burst; beyond, 429 with Retry-After. 0: no limit.
  double rate_limit = 1000;
  double rate_burst = 2000;
  // The background sweeper's period (0: none); /metrics exports it for the sweep alert.
  std::chrono::seconds sweep_interval{0};
};

class ApiServer {
 public:
  // REQUIRES: vault != nullptr and outlives the server.
  static StatusOr<std::unique_ptr<ApiServer>> Create(Vault* vault, ServerOptions options);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  bool tls() const { return !options_.tls_cert.empty(); }

  // Routes one request exactly as the listener does: fuzzers and tests call it in-process.
  void Dispatch(const HttpRequest& req, HttpResponse& res);
  // Dispatch, then the access log and metrics: what the listener runs on a worker.
  HttpResponse Handle(const HttpRequest& req);

  // Binds host:port (port 0: an ephemeral port) and returns the bound port; an address in
  // use is an error naming it.
  StatusOr<int> Bind(const std::string& host, int port);
  // Serves until Stop(); in-flight requests finish before it returns. REQUIRES: Bind().
  Status Run();
  Status Listen(const std::string& host, int port);
  // Also makes GET /readyz answer 503 from now on.
  void Stop();

  // Ready: not draining, the store readable and the keyring loaded (what GET /readyz says).
  bool Ready() const;
  // A sweep ended (the background sweeper calls this after each Vault::Sweep).
  void RecordSweep(bool ok, std::chrono::system_clock::time_point at) {
    metrics_.RecordSweep(ok, at);
  }

  const HttpMetrics& metrics() const { return metrics_; }

 private:
  // What the access log needs of one request beyond the request itself.
  struct RequestTrace {
    std::string route;
    std::string token_id;
    std::string request_id;
    std::optional<TraceParent> traceparent;
  };
  static RequestTrace StartTrace(const HttpRequest& req);

  ApiServer(Vault* vault, ServerOptions options);
  void RegisterRoutes();
  void AddSystemRoutes();
  // Why the server is not ready (fixed text), or nullopt; *stats gets the engine's stats.
  std::optional<std::string> NotReady(StatusOr<VaultStats>* stats) const;
  StatusOr<Reply> Readyz() const;
  StatusOr<Reply> Metrics() const;
  void Dispatch(const HttpRequest& req, HttpResponse& res, RequestTrace& trace);
  void LogAndMeasure(const HttpRequest& req, const HttpResponse& res, const RequestTrace& trace);
  ListenerOptions EdgeOptions() const;

  Vault* vault_;
  ServerOptions options_;
  Router router_;
  HttpMetrics metrics_;
  RateLimiter rate_limiter_;
  std::unique_ptr<AccessLog> access_log_;  // null when options_.access_log is off
  std::unique_ptr<HttpListener> listener_;
  std::atomic<bool> draining_{false};
};

}  // namespace vault::api
