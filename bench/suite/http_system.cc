// The vault over HTTP (http_system.h): Boost.Beast synchronous client, keep-alive, TCP_NODELAY.
#include "bench/suite/http_system.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace bench {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct HttpClient::Conn {
  asio::io_context ioc;
  tcp::socket socket{ioc};
  beast::flat_buffer buffer;
};

void SplitUrl(const std::string& url, std::string* host, std::string* port) {
  const std::string scheme = "http://";
  const auto colon = url.rfind(':');
  if (url.compare(0, scheme.size(), scheme) != 0 || colon == std::string::npos ||
      colon < scheme.size()) {
    throw BenchError("not an http://host:port URL: " + url);
  }
  *host = url.substr(scheme.size(), colon - scheme.size());
  *port = url.substr(colon + 1);
  while (!port->empty() && port->back() == '/') port->pop_back();
}

HttpClient::HttpClient(std::string host, std::string port, std::string token)
    : host_(std::move(host)), port_(std::move(port)), token_(std::move(token)) {}

HttpClient::~HttpClient() = default;

HttpReply HttpClient::Send(const std::string& method, const std::string& target,
                           const std::string& body) {
  for (int attempt = 0;; ++attempt) {
    try {
      if (!conn_) {
        conn_ = std::make_unique<Conn>();
        tcp::resolver resolver(conn_->ioc);
        asio::connect(conn_->socket, resolver.resolve(host_, port_));
        conn_->socket.set_option(tcp::no_delay(true));
      }
      http::request<http::string_body> req{http::string_to_verb(method), target, 11};
      req.set(http::field::host, host_);
      if (!token_.empty()) req.set(http::field::authorization, "Bearer " + token_);
      if (!body.empty()) req.set(http::field::content_type, "application/json");
      req.body() = body;
      req.prepare_payload();
      req.keep_alive(true);
      http::write(conn_->socket, req);
      http::response_parser<http::string_body> parser;
      parser.body_limit(std::uint64_t{1} << 32);
      http::read(conn_->socket, conn_->buffer, parser);
      auto res = parser.release();
      HttpReply out{static_cast<int>(res.result_int()), std::move(res.body())};
      if (!res.keep_alive()) conn_.reset();
      return out;
    } catch (const boost::system::system_error& e) {
      conn_.reset();  // the server closed an idle or used-up keep-alive connection: retry once
      if (attempt > 0)
        throw BenchError(std::string("http ") + method + " " + target + ": " + e.what());
    }
  }
}

namespace {

std::string RecordPath(const std::string& sid, const std::string& rid) {
  return "/v1/subjects/" + sid + "/records/account/" + rid;
}

void Expect(const HttpReply& r, std::initializer_list<int> ok, const std::string& what) {
  for (int s : ok) {
    if (r.status == s) return;
  }
  throw BenchError("http " + what + ": status " + std::to_string(r.status) + ": " +
                   r.body.substr(0, 300));
}

class HttpSession : public Session {
 public:
  HttpSession(const std::string& host, const std::string& port, const std::string& token)
      : client_(host, port, token), put_body_("{\"data\":" + RecordJson() + "}") {}

  void Put(const std::string& sid, const std::string& rid, bool) override {
    Expect(client_.Send("PUT", RecordPath(sid, rid), put_body_), {200, 201}, "PUT");
  }
  void Get(const std::string& sid, const std::string& rid) override {
    Expect(client_.Send("GET", RecordPath(sid, rid)), {200}, "GET");
  }
  void Noop() override { Expect(client_.Send("GET", "/healthz"), {200}, "GET /healthz"); }
  std::size_t List(const std::string& sid, std::size_t limit) override {
    const HttpReply r = client_.Send(
        "GET", "/v1/subjects/" + sid + "/records/account?limit=" + std::to_string(limit));
    Expect(r, {200}, "list");
    std::size_t n = 0;
    for (auto p = r.body.find("\"record_id\""); p != std::string::npos;
         p = r.body.find("\"record_id\"", p + 1)) {
      ++n;
    }
    return n;
  }
  void Erase(const std::string& sid) override {
    const HttpReply r = client_.Send("POST", "/v1/subjects/" + sid + "/erasure",
                                     R"({"mode":"immediate","reason":"bench"})");
    Expect(r, {200}, "erasure");
    if (r.body.find("\"completed\"") == std::string::npos) {
      throw BenchError("http erasure did not complete: " + r.body.substr(0, 300));
    }
  }

 private:
  HttpClient client_;
  std::string put_body_;
};

class HttpSystem : public System {
 public:
  HttpSystem(const std::string& url, std::string token) : token_(std::move(token)) {
    SplitUrl(url, &host_, &port_);
  }
  std::unique_ptr<Session> Connect() override {
    return std::make_unique<HttpSession>(host_, port_, token_);
  }

 private:
  std::string host_, port_, token_;
};

}  // namespace

std::unique_ptr<System> MakeHttpSystem(const std::string& url, const std::string& token) {
  return std::make_unique<HttpSystem>(url, token);
}

}  // namespace bench
