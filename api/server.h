// ApiServer: the HTTP API v1 over cpp-httplib, routing every request through one dispatcher
// (authentication, roles, id validation, body parsing, problem+json errors, metrics, log).
//
// Thread safety: Dispatch may run on any number of threads at once. Bind/Run/Listen are
// called from one thread; Stop may be called from any thread (a signal watcher).
// Lifetime: the Vault passed to Create must outlive the ApiServer.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "api/access_log.h"
#include "api/metrics.h"
#include "api/router.h"
#include "vault/status.h"
#include "vault/vault.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace vault::api {

struct ServerOptions {
  // Largest request body; larger bodies are refused with 413 before being buffered.
  std::size_t max_body_bytes = 1 << 20;
  // Worker threads. cpp-httplib serves a connection on one worker until it closes, so this
  // is the number of connections served at once; writes wait for their group commit on their
  // worker, so more threads also make larger commits. Connections beyond it wait in a queue
  // of max_queued_connections (worker_pool.h), then in the kernel's listen backlog; the
  // timeouts below bound how long each connection may hold a worker.
  std::size_t threads = 64;
  std::size_t max_queued_connections = 256;
  std::chrono::seconds read_timeout{10};
  std::chrono::seconds write_timeout{10};
  std::chrono::seconds keep_alive_timeout{5};
  std::size_t keep_alive_max_count = 100;
  // TLS when both are set (PEM files).
  std::string tls_cert;
  std::string tls_key;
  // JSON access-log lines on stderr: {"ts","method","route","status","duration_ms","token_id"},
  // written in batches by a background thread (api/access_log.h).
  bool access_log = true;
};

class ApiServer {
 public:
  // REQUIRES: vault != nullptr and outlives the server.
  static StatusOr<std::unique_ptr<ApiServer>> Create(Vault* vault, ServerOptions options);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  httplib::Server& http();
  bool tls() const { return !options_.tls_cert.empty(); }

  // Routes one request exactly as the listener does: fuzzers and tests call it in-process.
  // Reads req.method, req.target (falls back to req.path), req.headers and req.body.
  void Dispatch(const httplib::Request& req, httplib::Response& res);

  // Binds host:port (port 0: an ephemeral port) and returns the bound port.
  StatusOr<int> Bind(const std::string& host, int port);
  // Serves until Stop(); in-flight requests finish before it returns. REQUIRES: Bind().
  Status Run();
  Status Listen(const std::string& host, int port);
  void Stop();

  const HttpMetrics& metrics() const { return metrics_; }

 private:
  ApiServer(Vault* vault, ServerOptions options);
  void Configure();
  void RegisterRoutes();
  void AddSystemRoutes();
  void LogAndMeasure(const httplib::Request& req, const httplib::Response& res);

  Vault* vault_;
  ServerOptions options_;
  std::unique_ptr<httplib::Server> http_;
  Router router_;
  HttpMetrics metrics_;
  std::unique_ptr<AccessLog> access_log_;  // null when options_.access_log is off
};

}  // namespace vault::api
