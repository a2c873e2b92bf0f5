// ApiServer: httplib wiring, the single request dispatcher, access log and metrics.
#include "api/server.h"

#include <httplib.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <mutex>
#include <stdexcept>

#include "api/json_codec.h"
#include "api/problem.h"
#include "api/routes.h"
#include "api/worker_pool.h"

namespace vault::api {
namespace {

using nlohmann::json;

// Per-request facts the access log needs. cpp-httplib runs the pre-routing handler, the
// route handler and the logger of one request on the same worker thread.
struct RequestTrace {
  bool started = false;
  std::chrono::steady_clock::time_point start;
  std::string route;
  std::string token_id;
};

RequestTrace& CurrentTrace() {
  thread_local RequestTrace trace;
  return trace;
}

std::string ToLower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool IsJsonContentType(const std::string& header) {
  std::string media = ToLower(header.substr(0, header.find(';')));
  while (!media.empty() && media.back() == ' ') media.pop_back();
  return media == "application/json";
}

bool ExpectsBody(const std::string& method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

std::string PathOf(const httplib::Request& req) {
  const std::string& target = req.target.empty() ? req.path : req.target;
  return target.substr(0, target.find('?'));
}

bool Readable(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return f.good();
}

void WriteReply(httplib::Response& res, const Reply& reply) {
  res.status = reply.status;
  for (const auto& [name, value] : reply.headers) res.set_header(name, value);
  if (!reply.content_type.empty()) {
    res.set_content(reply.text, reply.content_type);
  } else if (reply.json) {
    res.set_content(DumpJson(*reply.json), "application/json");
  }
}

StatusOr<Principal> AuthenticateRequest(const Vault& vault, const httplib::Request& req) {
  const Status missing(Code::kUnauthenticated,
                       "an Authorization: Bearer <token> header is required");
  if (!req.has_header("Authorization")) return missing;
  const std::string header = req.get_header_value("Authorization");
  constexpr std::size_t kScheme = 7;  // "Bearer ", any case
  if (header.size() <= kScheme || ::strncasecmp(header.c_str(), "bearer ", kScheme) != 0) {
    return missing;
  }
  std::string token = header.substr(kScheme);
  while (!token.empty() && token.front() == ' ') token.erase(token.begin());
  while (!token.empty() && token.back() == ' ') token.pop_back();
  const Status bad(Code::kUnauthenticated, "the bearer token is invalid or revoked");
  if (token.empty() || token.size() > 512) return bad;
  StatusOr<TokenInfo> info = vault.Authenticate(token);
  if (!info.ok()) {
    switch (info.status().code()) {
      case Code::kUnavailable:
      case Code::kInternal:
      case Code::kDataLoss:
        return info.status();
      default:
        return bad;
    }
  }
  Principal p;
  p.token = std::move(info).value();
  p.actor = Actor{p.token.token_id, p.token.role};
  return p;
}

// The dispatcher's steps. Each refuses by writing a problem into res and returning false.

// match: the route for method and path, or 404 / 405 with Allow.
bool MatchStep(const RouteMatch& match, httplib::Response& res) {
  if (match.kind == RouteMatch::Kind::kNoSuchPath) {
    WriteProblem(res, 404, "no such endpoint");
    return false;
  }
  if (match.kind == RouteMatch::Kind::kWrongMethod) {
    std::string allow;
    for (const std::string& m : match.allowed_methods) allow += (allow.empty() ? "" : ", ") + m;
    res.set_header("Allow", allow);
    WriteProblem(res, 405, "this endpoint does not accept that method");
    return false;
  }
  return true;
}

// authorize: a valid bearer token whose role the route admits (public routes: nothing).
bool AuthorizeStep(const Vault& vault, const Route& route, const httplib::Request& req,
                   RequestContext& ctx, std::string* token_id, httplib::Response& res) {
  if (route.access.is_public) return true;
  StatusOr<Principal> principal = AuthenticateRequest(vault, req);
  if (!principal.ok()) {
    WriteStatusProblem(res, principal.status());
    return false;
  }
  *token_id = principal->token.token_id;
  if (!route.access.Admits(principal->token.role)) {
    WriteProblem(res, 403,
                 std::string("role '") + RoleName(principal->token.role) +
                     "' may not call this endpoint");
    return false;
  }
  ctx.principal = std::move(principal).value();
  return true;
}

// decode params: percent-decoded path parameters that are valid ids.
bool DecodeParamsStep(const RouteMatch& match, RequestContext& ctx, httplib::Response& res) {
  for (const auto& [name, raw] : match.raw_params) {
    std::optional<std::string> decoded = PercentDecode(raw);
    if (!decoded || !IsValidPathId(*decoded)) {
      WriteProblem(res, 400,
                   "path parameter '" + name + "' must be 1..128 characters of [A-Za-z0-9._:@+-]");
      return false;
    }
    ctx.params[name] = std::move(*decoded);
  }
  return true;
}

// read body: for routes that take one, a JSON object of at most max_bytes.
bool BodyStep(const Route& route, const httplib::Request& req, std::size_t max_bytes,
              RequestContext& ctx, httplib::Response& res) {
  if (route.body != BodyKind::kJsonObject) return true;
  if (req.body.size() > max_bytes) {
    WriteProblem(res, 413, "");
    return false;
  }
  if (req.body.empty()) {
    WriteProblem(res, 400, "a JSON object body is required");
    return false;
  }
  if (!IsJsonContentType(req.get_header_value("Content-Type"))) {
    WriteProblem(res, 415, "");
    return false;
  }
  StatusOr<json> body = ParseJsonObject(req.body);
  if (!body.ok()) {
    WriteStatusProblem(res, body.status());
    return false;
  }
  ctx.body = std::move(body).value();
  return true;
}

// run and render: the handler's reply, or its error as a problem.
void RunStep(const Route& route, RequestContext& ctx, httplib::Response& res) {
  StatusOr<Reply> reply = route.handler(ctx);
  if (!reply.ok()) {
    WriteStatusProblem(res, reply.status());
    return;
  }
  WriteReply(res, *reply);
}

}  // namespace

ApiServer::ApiServer(Vault* vault, ServerOptions options)
    : vault_(vault), options_(std::move(options)) {
  if (options_.access_log) access_log_ = std::make_unique<AccessLog>(STDERR_FILENO);
}

ApiServer::~ApiServer() = default;

StatusOr<std::unique_ptr<ApiServer>> ApiServer::Create(Vault* vault, ServerOptions options) {
  if (vault == nullptr) return InvalidArgument("ApiServer needs a vault");
  if (options.threads == 0) return InvalidArgument("--threads must be at least 1");
  if (options.max_queued_connections == 0) {
    return InvalidArgument("--max-queued must be at least 1");
  }
  if (options.max_body_bytes == 0) return InvalidArgument("--max-body-bytes must be at least 1");
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return InvalidArgument("TLS needs both --tls-cert and --tls-key");
  }
  std::unique_ptr<ApiServer> server(new ApiServer(vault, std::move(options)));
  const ServerOptions& o = server->options_;
  if (!o.tls_cert.empty()) {
    if (!Readable(o.tls_cert)) {
      return InvalidArgument("cannot read TLS certificate file " + o.tls_cert);
    }
    if (!Readable(o.tls_key)) return InvalidArgument("cannot read TLS key file " + o.tls_key);
    server->http_ = std::make_unique<httplib::SSLServer>(o.tls_cert.c_str(), o.tls_key.c_str());
    if (!server->http_->is_valid()) {
      return InvalidArgument("TLS certificate " + o.tls_cert + " or key " + o.tls_key +
                             " could not be loaded (PEM expected; the key must match)");
    }
  } else {
    server->http_ = std::make_unique<httplib::Server>();
  }
  server->RegisterRoutes();
  server->Configure();
  return server;
}

httplib::Server& ApiServer::http() { return *http_; }

void ApiServer::RegisterRoutes() {
  AddSystemRoutes();
  AddAdminRoutes(router_, vault_);
  AddRecordRoutes(router_, vault_);
  AddRightsRoutes(router_, vault_);
}

void ApiServer::AddSystemRoutes() {
  router_.Add(Route{"GET", "/healthz", Access::Public(), BodyKind::kNone,
                    [](RequestContext&) -> StatusOr<Reply> {
                      return Reply::Json(200, {{"status", "ok"}});
                    }});
  router_.Add(Route{"GET", "/metrics", Access::Public(), BodyKind::kNone,
                    [this](RequestContext&) -> StatusOr<Reply> {
                      StatusOr<VaultStats> stats = vault_->Stats();
                      Reply r;
                      r.text = metrics_.Render(stats.ok() ? &stats.value() : nullptr);
                      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
                      return r;
                    }});
}

void ApiServer::Configure() {
  httplib::Server& s = *http_;
  s.set_payload_max_length(options_.max_body_bytes);
  const std::size_t threads = options_.threads;
  const std::size_t max_queued = options_.max_queued_connections;
  s.new_task_queue = [threads, max_queued] { return new BoundedWorkerPool(threads, max_queued); };
  s.set_read_timeout(options_.read_timeout);
  s.set_write_timeout(options_.write_timeout);
  s.set_keep_alive_timeout(options_.keep_alive_timeout.count());
  s.set_keep_alive_max_count(options_.keep_alive_max_count);
  s.set_tcp_nodelay(true);
  // cpp-httplib's default also sets SO_REUSEPORT, which lets a second server bind the same
  // port and the kernel split connections between two stores: only SO_REUSEADDR here.
  s.set_socket_options([](int sock) {
    const int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  s.set_default_headers({{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}});

  httplib::Server::HandlerWithResponse pre_routing = [this](const httplib::Request& req,
                                                            httplib::Response& res) {
    RequestTrace& trace = CurrentTrace();
    trace = RequestTrace{};
    trace.started = true;
    trace.start = std::chrono::steady_clock::now();
    // cpp-httplib 0.11.4 does not bound chunked or length-less bodies by the payload
    // limit, so such bodies are refused before they are read.
    if (ExpectsBody(req.method) && req.has_header("Transfer-Encoding")) {
      trace.route = router_.Find(req.method, PathOf(req)).pattern;
      res.set_header("Connection", "close");
      WriteProblem(res, 411, "send the body with a Content-Length header");
      return httplib::Server::HandlerResponse::Handled;
    }
    // RFC 9112 section 6.3: a request with neither header has no body. cpp-httplib
    // 0.11.4 would read until the peer closes, so state the empty length explicitly.
    // The Request is a mutable local of httplib's connection loop, handed over as const.
    if (ExpectsBody(req.method) && !req.has_header("Content-Length")) {
      const_cast<httplib::Request&>(req).set_header("Content-Length", "0");
    }
    return httplib::Server::HandlerResponse::Unhandled;
  };
  s.set_pre_routing_handler(pre_routing);

  httplib::Server::Handler dispatch = [this](const httplib::Request& req, httplib::Response& res) {
    Dispatch(req, res);
  };
  s.Get(".*", dispatch);
  s.Post(".*", dispatch);
  s.Put(".*", dispatch);
  s.Patch(".*", dispatch);
  s.Delete(".*", dispatch);
  s.Options(".*", dispatch);

  // Every 4xx/5xx that did not come from Dispatch (parse errors, 413, 414) gets a problem.
  httplib::Server::HandlerWithResponse on_error = [](const httplib::Request&,
                                                     httplib::Response& res) {
    if (HasProblemBody(res)) return httplib::Server::HandlerResponse::Unhandled;
    WriteProblem(res, res.status, "");
    return httplib::Server::HandlerResponse::Handled;
  };
  s.set_error_handler(on_error);
  s.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, const std::exception_ptr&) {
        res.headers.clear();
        WriteProblem(res, 500, "");
      });
  s.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    LogAndMeasure(req, res);
  });
}

void ApiServer::Dispatch(const httplib::Request& req, httplib::Response& res) {
  RequestTrace& trace = CurrentTrace();
  try {
    const RouteMatch match = router_.Find(req.method, PathOf(req));
    trace.route = match.kind == RouteMatch::Kind::kNoSuchPath ? "unmatched" : match.pattern;
    if (!MatchStep(match, res)) return;
    const Route& route = *match.route;
    RequestContext ctx{req, {}, std::nullopt, json()};
    if (!AuthorizeStep(*vault_, route, req, ctx, &trace.token_id, res) ||
        !DecodeParamsStep(match, ctx, res) ||
        !BodyStep(route, req, options_.max_body_bytes, ctx, res)) {
      return;
    }
    RunStep(route, ctx, res);
  } catch (...) {
    // Nothing a library throws is shown to the client.
    res.headers.clear();
    res.body.clear();
    WriteProblem(res, 500, "");
  }
}

void ApiServer::LogAndMeasure(const httplib::Request& req, const httplib::Response& res) {
  RequestTrace& trace = CurrentTrace();
  try {
    std::string route = trace.route;
    if (route.empty()) {
      route = router_.Find(req.method, PathOf(req)).pattern;
      if (route.empty()) route = "unmatched";
    }
    double seconds = 0;
    if (trace.started) {
      seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - trace.start).count();
    }
    metrics_.Observe(route, req.method, res.status, seconds);
    if (access_log_) {
      AccessLogEntry e;
      e.unix_seconds = static_cast<std::int64_t>(std::time(nullptr));
      e.method = MethodLabel(req.method);
      e.route = route;
      e.status = res.status;
      e.duration_ms = seconds * 1e3;
      e.token_id = trace.token_id;
      access_log_->Write(e);
    }
  } catch (...) {
    // Logging never takes a request down.
  }
  trace = RequestTrace{};
}

StatusOr<int> ApiServer::Bind(const std::string& host, int port) {
  if (port < 0 || port > 65535) return InvalidArgument("port must be 0..65535");
  if (port == 0) {
    const int bound = http_->bind_to_any_port(host);
    if (bound < 0) return Status(Code::kUnavailable, "cannot bind " + host + ":0");
    return bound;
  }
  if (!http_->bind_to_port(host, port)) {
    return Status(Code::kUnavailable, "cannot bind " + host + ":" + std::to_string(port) +
                                          " (address in use or not local)");
  }
  return port;
}

Status ApiServer::Run() {
  if (!http_->listen_after_bind()) {
    return Status(Code::kUnavailable, "the listener stopped with an error");
  }
  return Status::Ok();
}

Status ApiServer::Listen(const std::string& host, int port) {
  StatusOr<int> bound = Bind(host, port);
  if (!bound.ok()) return bound.status();
  return Run();
}

void ApiServer::Stop() { http_->stop(); }

}  // namespace vault::api
