// ApiServer: the single request dispatcher in named steps, the system routes, the access log
// and metrics of each request, and the wiring to the HTTP edge (api/http_listener.h).
#include "api/server.h"

#include <strings.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <ctime>
#include <fstream>

#include "api/json_codec.h"
#include "api/problem.h"
#include "api/routes.h"

namespace vault::api {
namespace {

using nlohmann::json;

// The admin route whose outcome /metrics reports as a sweep, like the background sweeper's.
constexpr std::string_view kSweepRoute = "/v1/admin/sweep";

std::string ToLower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool IsJsonContentType(const std::string& header) {
  std::string media = ToLower(header.substr(0, header.find(';')));
  while (!media.empty() && media.back() == ' ') media.pop_back();
  return media == "application/json";
}

bool Readable(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return f.good();
}

void WriteReply(HttpResponse& res, const Reply& reply) {
  res.status = reply.status;
  for (const auto& [name, value] : reply.headers) res.set_header(name, value);
  if (reply.stream) {
    res.stream = reply.stream;
    res.set_header("Content-Type", reply.content_type);
  } else if (!reply.content_type.empty()) {
    res.set_content(reply.text, reply.content_type);
  } else if (reply.json) {
    res.set_content(DumpJson(*reply.json), "application/json");
  }
}

StatusOr<Principal> AuthenticateRequest(const Vault& vault, const HttpRequest& req) {
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
  p.actor = Actor{p.token.token_id, p.token.role, p.token.purposes};
  return p;
}

// The dispatcher's steps. Each refuses by writing a problem into res and returning false.

// match: the route for method and path, or 404 / 405 with Allow.
bool MatchStep(const RouteMatch& match, HttpResponse& res) {
  if (match.kind == RouteMatch::Kind::kNoSuchPath) {
    WriteProblem(res, 404, "no such endpoint");
    return false;
  }
  if (match.kind == RouteMatch::Kind::kWrongMethod) {
    std::string allow;
    bool has_get = false;
    for (const std::string& m : match.allowed_methods) {
      allow += (allow.empty() ? "" : ", ") + m;
      has_get = has_get || m == "GET";
    }
    if (has_get) allow += ", HEAD";  // HEAD is answered wherever GET is
    res.set_header("Allow", allow);
    WriteProblem(res, 405, "this endpoint does not accept that method");
    return false;
  }
  return true;
}

// authorize: a valid bearer token whose role the route admits (public routes: nothing).
bool AuthorizeStep(const Vault& vault, const Route& route, const HttpRequest& req,
                   RequestContext& ctx, std::string* token_id, HttpResponse& res) {
  if (route.access.is_public) return true;
  StatusOr<Principal> principal = AuthenticateRequest(vault, req);
  if (!principal.ok()) {
    WriteStatusProblem(res, principal.status());
    return false;
  }
  *token_id = principal->token.token_id;
  if (!route.access.Admits(principal->token.role)) {
    WriteProblem(
        res, 403,
        std::string("role '") + RoleName(principal->token.role) + "' may not call this endpoint");
    return false;
  }
  ctx.principal = std::move(principal).value();
  return true;
}

// rate: the caller's token has a request left in its bucket, else 429 with Retry-After.
bool RateStep(RateLimiter& limiter, const std::string& token_id, HttpResponse& res) {
  if (token_id.empty() || !limiter.enabled()) return true;
  const std::chrono::seconds wait = limiter.Acquire(token_id, std::chrono::steady_clock::now());
  if (wait.count() == 0) return true;
  res.set_header("Retry-After", std::to_string(wait.count()));
  WriteProblem(res, 429, "this token's request rate limit is exceeded");
  return false;
}

// decode params: percent-decoded path parameters that are valid ids.
bool DecodeParamsStep(const RouteMatch& match, RequestContext& ctx, HttpResponse& res) {
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

// read body: for routes that take one, a JSON object of at most max_bytes, with no repeated
// key and no NUL byte. Routes that take none ignore a JSON body and refuse any other (415).
bool BodyStep(const Route& route, const HttpRequest& req, std::size_t max_bytes,
              RequestContext& ctx, HttpResponse& res) {
  if (route.body != BodyKind::kJsonObject) {
    if (req.body.empty() || IsJsonContentType(req.get_header_value("Content-Type"))) return true;
    WriteProblem(res, 415, "");
    return false;
  }
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
  StatusOr<json> body = ParseJsonObject(req.body);  // strict: one pass (json_strict.h)
  if (!body.ok()) {
    WriteStatusProblem(res, body.status());
    return false;
  }
  ctx.body = std::move(body).value();
  return true;
}

// run and render: the handler's reply, or its error as a problem.
void RunStep(const Route& route, RequestContext& ctx, HttpResponse& res) {
  StatusOr<Reply> reply = route.handler(ctx);
  if (!reply.ok()) {
    WriteStatusProblem(res, reply.status());
    return;
  }
  WriteReply(res, *reply);
}

// A 503 problem with Retry-After, as a handler's reply.
Reply UnavailableReply(const std::string& detail) {
  HttpResponse problem;
  WriteProblem(problem, 503, detail);
  Reply r;
  r.status = 503;
  r.text = std::move(problem.body);
  r.content_type = kProblemContentType;
  r.headers = {{"Retry-After", "1"}};
  return r;
}

// GET /problems/<slug>: a plain-text page describing one problem type.
StatusOr<Reply> ProblemPage(RequestContext& ctx) {
  const ProblemTypeInfo* type = FindProblemType(ctx.Param("slug"));
  if (type == nullptr) return NotFound("no such problem type");
  Reply r;
  r.text = std::string(kProblemTypeBase) + std::string(type->slug) + "\n\n" +
           std::string(type->title) + "\n\nHTTP status: " + std::to_string(type->status) +
           "\n\nWhat to do: " + std::string(type->what_to_do) +
           "\n\nProblem responses are application/problem+json (RFC 9457); their `detail` says "
           "what was wrong with this request.\n";
  r.content_type = "text/plain; charset=utf-8";
  return r;
}

}  // namespace

ApiServer::ApiServer(Vault* vault, ServerOptions options)
    : vault_(vault),
      options_(std::move(options)),
      metrics_(options_.sweep_interval),
      rate_limiter_(options_.rate_limit, options_.rate_burst) {
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
  if (options.rate_limit < 0 || (options.rate_limit > 0 && options.rate_burst < 1)) {
    return InvalidArgument("--rate-limit must be >= 0 and --rate-burst at least 1");
  }
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return InvalidArgument("TLS needs both --tls-cert and --tls-key");
  }
  if (!options.tls_cert.empty()) {
    if (!Readable(options.tls_cert)) {
      return InvalidArgument("cannot read TLS certificate file " + options.tls_cert);
    }
    if (!Readable(options.tls_key)) {
      return InvalidArgument("cannot read TLS key file " + options.tls_key);
    }
  }
  std::unique_ptr<ApiServer> server(new ApiServer(vault, std::move(options)));
  server->RegisterRoutes();
  ApiServer* self = server.get();
  ListenerHooks hooks;
  hooks.handle = [self](const HttpRequest& req) { return self->Handle(req); };
  hooks.refused = [self](const HttpRequest& req, HttpResponse& res) {
    const RequestTrace trace = StartTrace(req);
    res.set_header(kRequestIdHeader, trace.request_id);
    self->LogAndMeasure(req, res, trace);
  };
  VAULT_ASSIGN_OR_RETURN(server->listener_,
                         HttpListener::Create(server->EdgeOptions(), std::move(hooks)));
  return server;
}

ListenerOptions ApiServer::EdgeOptions() const {
  ListenerOptions o;
  o.limits.max_head_bytes = options_.max_head_bytes;
  o.limits.max_header_count = options_.max_header_count;
  o.limits.max_body_bytes = options_.max_body_bytes;
  o.io_threads = options_.io_threads;
  o.workers = options_.threads;
  o.max_queued = options_.max_queued_connections;
  o.max_connections = options_.max_connections;
  o.max_requests_per_connection = options_.keep_alive_max_count;
  o.request_timeout = options_.read_timeout;
  o.write_timeout = options_.write_timeout;
  o.idle_timeout = options_.keep_alive_timeout;
  o.drain_timeout = options_.read_timeout + options_.write_timeout;
  o.tls_cert = options_.tls_cert;
  o.tls_key = options_.tls_key;
  return o;
}

void ApiServer::RegisterRoutes() {
  AddSystemRoutes();
  AddAdminRoutes(router_, vault_);
  AddRecordRoutes(router_, vault_);
  AddRightsRoutes(router_, vault_);
  AddAuditProofRoutes(router_, vault_);
  AddPasswordRoutes(router_, vault_);
  AddConsentRoutes(router_, vault_);
  AddRestrictionRoutes(router_, vault_);
  AddObjectionRoutes(router_, vault_);
  AddRequestRoutes(router_, vault_);
  AddLookupRoutes(router_, vault_);
  AddExportRoutes(router_, vault_);
  AddReportRoutes(router_, vault_);
}

void ApiServer::AddSystemRoutes() {
  router_.Add(Route{"GET", "/healthz", Access::Public(), BodyKind::kNone,
                    [](RequestContext&) -> StatusOr<Reply> {
                      return Reply::Json(200, {{"status", "ok"}});
                    }});
  router_.Add(Route{"GET", "/readyz", Access::Public(), BodyKind::kNone,
                    [this](RequestContext&) { return Readyz(); }});
  router_.Add(Route{"GET", "/metrics", Access::Public(), BodyKind::kNone,
                    [this](RequestContext&) { return Metrics(); }});
  router_.Add(Route{"GET", "/problems/{slug}", Access::Public(), BodyKind::kNone, ProblemPage});
}

std::optional<std::string> ApiServer::NotReady(StatusOr<VaultStats>* stats) const {
  if (draining_.load()) return "the server is shutting down";
  *stats = vault_->Stats();
  if (!stats->ok()) return "the store cannot be read";
  if ((*stats)->epoch == 0) return "the keyring has no current epoch";
  return std::nullopt;
}

bool ApiServer::Ready() const {
  StatusOr<VaultStats> stats = Status(Code::kUnavailable, "");
  return !NotReady(&stats).has_value();
}

StatusOr<Reply> ApiServer::Readyz() const {
  StatusOr<VaultStats> stats = Status(Code::kUnavailable, "");
  if (std::optional<std::string> why = NotReady(&stats)) return UnavailableReply(*why);
  return Reply::Json(200, {{"status", "ready"}});
}

StatusOr<Reply> ApiServer::Metrics() const {
  StatusOr<VaultStats> stats = Status(Code::kUnavailable, "");
  const bool ready = !NotReady(&stats).has_value();
  // The report costs O(keys) a scrape; scrape intervals of seconds leave room for millions.
  const StatusOr<ComplianceReport> report = vault_->Report();
  Reply r;
  r.text = metrics_.Render(ServerState{stats.ok() ? &stats.value() : nullptr, ready,
                                       report.ok() ? &report.value() : nullptr});
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return r;
}

void ApiServer::Dispatch(const HttpRequest& req, HttpResponse& res) {
  RequestTrace trace;
  Dispatch(req, res, trace);
}

ApiServer::RequestTrace ApiServer::StartTrace(const HttpRequest& req) {
  RequestTrace trace;
  trace.request_id = RequestIdFor(req);
  trace.traceparent = TraceParentFor(req);
  return trace;
}

HttpResponse ApiServer::Handle(const HttpRequest& req) {
  HttpResponse res;
  RequestTrace trace = StartTrace(req);
  Dispatch(req, res, trace);
  res.set_header(kRequestIdHeader, trace.request_id);
  LogAndMeasure(req, res, trace);
  return res;
}

void ApiServer::Dispatch(const HttpRequest& req, HttpResponse& res, RequestTrace& trace) {
  try {
    const RouteMatch match = router_.Find(req.method, req.path());
    trace.route = match.kind == RouteMatch::Kind::kNoSuchPath ? "unmatched" : match.pattern;
    if (!MatchStep(match, res)) return;
    const Route& route = *match.route;
    RequestContext ctx{req, {}, std::nullopt, json()};
    if (!AuthorizeStep(*vault_, route, req, ctx, &trace.token_id, res) ||
        !RateStep(rate_limiter_, trace.token_id, res) || !DecodeParamsStep(match, ctx, res) ||
        !BodyStep(route, req, options_.max_body_bytes, ctx, res)) {
      return;
    }
    RunStep(route, ctx, res);
    if (route.pattern == kSweepRoute && route.method == "POST") {
      metrics_.RecordSweep(res.status == 200, std::chrono::system_clock::now());
    }
  } catch (...) {
    // Nothing a library throws is shown to the client.
    res = HttpResponse{};
    WriteProblem(res, 500, "");
  }
}

void ApiServer::LogAndMeasure(const HttpRequest& req, const HttpResponse& res,
                              const RequestTrace& trace) {
  try {
    std::string route = trace.route;
    if (route.empty() && !req.method.empty()) route = router_.Find(req.method, req.path()).pattern;
    if (route.empty()) route = "unmatched";
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - req.received).count();
    metrics_.Observe(route, req.method, res.status, seconds);
    if (access_log_) {
      AccessLogEntry e;
      e.unix_seconds = static_cast<std::int64_t>(std::time(nullptr));
      e.method = MethodLabel(req.method);
      e.route = route;
      e.status = res.status;
      e.duration_ms = seconds * 1e3;
      e.token_id = trace.token_id;
      e.request_id = trace.request_id;
      if (trace.traceparent) {
        e.trace_id = trace.traceparent->trace_id;
        e.parent_id = trace.traceparent->parent_id;
      }
      access_log_->Write(e);
    }
  } catch (...) {
    // Logging never takes a request down.
  }
}

StatusOr<int> ApiServer::Bind(const std::string& host, int port) {
  if (port < 0 || port > 65535) return InvalidArgument("port must be 0..65535");
  return listener_->Bind(host, port);
}

Status ApiServer::Run() { return listener_->Run(); }

Status ApiServer::Listen(const std::string& host, int port) {
  StatusOr<int> bound = Bind(host, port);
  if (!bound.ok()) return bound.status();
  return Run();
}

void ApiServer::Stop() {
  draining_.store(true);
  listener_->Stop();
}

}  // namespace vault::api
