// One connection's request loop (http_session.h): wait for a request, read its head under
// the request deadline, check it, read its body, run it on a worker, write the response;
// then wait for the next one or close. The registry of live connections.
#include "api/http_session.h"

#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cstdio>
#include <optional>
#include <string>
#include <type_traits>

#include "api/problem.h"

namespace vault::api::edge {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using error_code = beast::error_code;
using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

constexpr std::size_t kIdleReadBytes = 1024;                  // an idle connection's one buffer
constexpr std::size_t kBufferSlack = std::size_t{16} * 1024;  // read room beyond the head limit
constexpr std::size_t kLingerBytes =
    std::size_t{256} * 1024;  // read and dropped before a close, at most
constexpr std::chrono::seconds kLingerTime{2};
// A streamed body's next piece waits this long when the worker queue is full, then retries.
constexpr std::chrono::milliseconds kPieceRetry{10};

void AddField(std::string& head, std::string_view name, std::string_view value) {
  head.append(name);
  head += ": ";
  for (char c : value) {
    if (c != '\r' && c != '\n') head += c;  // a value never splits the response
  }
  head += "\r\n";
}

// Status line and fields, with Content-Length, Connection and the default fields added.
std::string SerializeHead(const HttpResponse& res, bool close, int version) {
  std::string head = "HTTP/1.1 " + std::to_string(res.status) + " ";
  const beast::string_view reason = http::obsolete_reason(static_cast<http::status>(res.status));
  head.append(reason.data(), reason.size());
  head += "\r\n";
  bool has_cache_control = false, has_nosniff = false;
  for (const auto& [name, value] : res.headers) {
    if (EqualsIgnoreCase(name, "Content-Length") || EqualsIgnoreCase(name, "Connection")) continue;
    has_cache_control = has_cache_control || EqualsIgnoreCase(name, "Cache-Control");
    has_nosniff = has_nosniff || EqualsIgnoreCase(name, "X-Content-Type-Options");
    AddField(head, name, value);
  }
  if (!has_cache_control) AddField(head, "Cache-Control", "no-store");
  if (!has_nosniff) AddField(head, "X-Content-Type-Options", "nosniff");
  if (res.stream) {
    // HTTP/1.0 has no chunked coding: its body ends at the close (Respond closes).
    if (version >= 11) AddField(head, "Transfer-Encoding", "chunked");
  } else if (res.status >= 200 && res.status != 204 && res.status != 304) {
    AddField(head, "Content-Length", std::to_string(res.body.size()));
  }
  if (close) {
    AddField(head, "Connection", "close");
  } else if (version < 11) {
    AddField(head, "Connection", "keep-alive");
  }
  head += "\r\n";
  return head;
}

template <class Stream>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  Session(EdgeContext& edge, tcp::socket socket)
      : edge_(edge),
        stream_(MakeStream(std::move(socket), edge)),
        buffer_(edge.options.limits.max_head_bytes + kBufferSlack),
        piece_retry_(stream_.get_executor()) {}
  ~Session() override { edge_.registry.Remove(this); }

  void Start() {
    if (!edge_.registry.Add(this->shared_from_this(), edge_.options.max_connections)) return;
    if constexpr (kTls) {
      Lowest().expires_after(edge_.options.request_timeout);
      stream_.async_handshake(net::ssl::stream_base::server, Bind(&Session::OnHandshake));
    } else {
      AwaitRequest();
    }
  }

  void Drain() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      self->draining_ = true;
      if (self->idle_) self->Lowest().close();  // the pending read ends, and the session
    });
  }

 private:
  static Stream MakeStream(tcp::socket socket, EdgeContext& edge) {
    if constexpr (kTls) {
      return Stream(beast::tcp_stream(std::move(socket)), *edge.tls);
    } else {
      return Stream(std::move(socket));
    }
  }
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }
  template <class F>
  auto Bind(F f) {
    return beast::bind_front_handler(f, this->shared_from_this());
  }

  void OnHandshake(error_code ec) {
    if (!ec) AwaitRequest();
  }

  // Waits for the first byte of the next request under the idle timeout, in a small buffer.
  void AwaitRequest() {
    if (draining_) return Close();
    if (buffer_.size() > 0) return ReadHead();  // pipelined: already here
    idle_ = true;
    buffer_.shrink_to_fit();
    Lowest().expires_after(edge_.options.idle_timeout);
    stream_.async_read_some(buffer_.prepare(kIdleReadBytes), Bind(&Session::OnFirstBytes));
  }

  void OnFirstBytes(error_code ec, std::size_t n) {
    idle_ = false;
    if (ec) return;  // idle timeout, peer closed or drained: the session ends
    buffer_.commit(n);
    ReadHead();
  }

  // One deadline for the whole head and body, set once here.
  void ReadHead() {
    parser_.emplace(edge_.options.limits);
    Lowest().expires_after(edge_.options.request_timeout);
    http::async_read_header(stream_, buffer_, *parser_, Bind(&Session::OnHead));
  }

  void OnHead(error_code ec, std::size_t) {
    if (ec) return Refuse(RefusalFor(ec, *parser_));
    parser_->request().received = std::chrono::steady_clock::now();
    const Refusal early = CheckHead(*parser_);
    if (early.refused()) return Refuse(early);
    if (ExpectsContinue(parser_->request()) && !parser_->is_done()) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(kContinue), Bind(&Session::OnContinueSent));
      return;
    }
    ReadBody();
  }

  void OnContinueSent(error_code ec, std::size_t) {
    if (!ec) ReadBody();
  }

  void ReadBody() {
    if (parser_->is_done()) return Submit();
    http::async_read(stream_, buffer_, *parser_, Bind(&Session::OnBody));
  }

  void OnBody(error_code ec, std::size_t) {
    if (ec) return Refuse(RefusalFor(ec, *parser_));
    Submit();
  }

  // Hands the request to a worker; the response comes back to this connection's strand.
  void Submit() {
    Lowest().expires_never();
    keep_alive_ = parser_->keep_alive();
    version_ = parser_->request().version;
    head_only_ = parser_->request().method == "HEAD";
    auto req = std::make_shared<const HttpRequest>(std::move(parser_->request()));
    parser_.reset();
    ++served_;
    auto self = this->shared_from_this();
    const bool queued = edge_.pool->TrySubmit([self, req] {
      HttpResponse res = self->edge_.hooks.handle(*req);
      net::post(self->stream_.get_executor(),
                [self, res = std::move(res)]() mutable { self->Respond(std::move(res), false); });
    });
    if (queued) return;
    HttpResponse busy;
    WriteProblem(busy, 503, "the server is busy; retry later");
    busy.set_header("Retry-After", "1");
    edge_.hooks.refused(*req, busy);
    Respond(std::move(busy), false);
  }

  // The edge's own answer to a request it will not run; the connection closes after it.
  void Refuse(const Refusal& refusal) {
    if (!refusal.refused()) return;  // nothing to answer: the session ends, the socket closes
    HttpResponse res;
    WriteProblem(res, refusal.status, refusal.detail);
    edge_.hooks.refused(parser_->request(), res);
    version_ = 11;
    head_only_ = false;
    Respond(std::move(res), true);
  }

  void Respond(HttpResponse res, bool close) {
    close =
        close || !keep_alive_ || draining_ || served_ >= edge_.options.max_requests_per_connection;
    if (res.stream && (res.status != 200 || head_only_)) res.stream.reset();
    if (res.stream && version_ < 11) close = true;
    out_head_ = SerializeHead(res, close, version_);
    if (res.stream) return StartStream(std::move(res.stream), close);
    out_body_ = head_only_ ? std::string() : std::move(res.body);
    Lowest().expires_after(edge_.options.write_timeout);
    const std::array<net::const_buffer, 2> out = {net::buffer(out_head_), net::buffer(out_body_)};
    net::async_write(stream_, out,
                     [self = this->shared_from_this(), close](error_code ec, std::size_t) {
                       self->OnWritten(ec, close);
                     });
  }

  void OnWritten(error_code ec, bool close) {
    out_head_ = std::string();
    out_body_ = std::string();
    if (ec) return;
    if (close) return Close();
    AwaitRequest();
  }

  // A streamed body: the head, then each piece as one chunk, produced on a worker while no
  // write is pending, so at most one piece is in memory; then the last chunk.
  void StartStream(std::shared_ptr<BodySource> source, bool close) {
    source_ = std::move(source);
    stream_close_ = close;
    WriteOut();
  }

  void WriteOut() {
    Lowest().expires_after(edge_.options.write_timeout);
    const std::array<net::const_buffer, 2> out = {net::buffer(out_head_), net::buffer(out_body_)};
    net::async_write(stream_, out, [self = this->shared_from_this()](error_code ec, std::size_t) {
      self->out_head_.clear();
      self->out_body_ = std::string();
      if (ec) {
        self->source_.reset();
        return;  // the session ends
      }
      self->ProducePiece();
    });
  }

  void ProducePiece() {
    auto self = this->shared_from_this();
    const bool queued = edge_.pool->TrySubmit([self, source = source_] {
      std::string piece;
      const BodySource::Step step = source->Next(&piece);
      net::post(self->stream_.get_executor(), [self, step, piece = std::move(piece)]() mutable {
        self->OnPiece(step, std::move(piece));
      });
    });
    if (queued) return;
    piece_retry_.expires_after(kPieceRetry);
    piece_retry_.async_wait([self](error_code ec) {
      if (!ec) self->ProducePiece();
    });
  }

  void OnPiece(BodySource::Step step, std::string piece) {
    const bool chunked = version_ >= 11;
    if (step == BodySource::Step::kFailed || (step == BodySource::Step::kDone && !chunked)) {
      source_.reset();
      return Close();  // a chunked body without its last chunk: visibly incomplete
    }
    if (step == BodySource::Step::kDone) {
      source_.reset();
      out_head_ = "0\r\n\r\n";
      Lowest().expires_after(edge_.options.write_timeout);
      net::async_write(stream_, net::buffer(out_head_),
                       [self = this->shared_from_this()](error_code ec, std::size_t) {
                         self->OnWritten(ec, self->stream_close_);
                       });
      return;
    }
    if (piece.empty()) return ProducePiece();  // an empty chunk would end the body
    if (chunked) {
      std::array<char, 24> size{};
      const int n = std::snprintf(size.data(), size.size(), "%zx\r\n", piece.size());
      out_head_.assign(size.data(), static_cast<std::size_t>(n));
      piece += "\r\n";
    }
    out_body_ = std::move(piece);
    WriteOut();
  }

  // Closes without losing the response: plain connections stop sending, then read and drop
  // what the client still sends (at most kLingerBytes for kLingerTime) so that the close
  // does not reset the connection before the client has read the answer.
  void Close() {
    Lowest().expires_after(kLingerTime);
    if constexpr (kTls) {
      stream_.async_shutdown([self = this->shared_from_this()](error_code) {});
    } else {
      error_code ignored;
      Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      buffer_.consume(buffer_.size());
      Linger(0);
    }
  }

  void Linger(std::size_t dropped) {
    stream_.async_read_some(
        buffer_.prepare(kIdleReadBytes),
        [self = this->shared_from_this(), dropped](error_code ec, std::size_t n) {
          if (ec || dropped + n > kLingerBytes) return;
          self->Linger(dropped + n);
        });
  }

  EdgeContext& edge_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;
  std::string out_head_, out_body_;
  std::shared_ptr<BodySource> source_;  // the streamed body being sent, if any
  net::steady_timer piece_retry_;
  bool stream_close_ = false;  // close once the streamed body is sent
  bool idle_ = false;          // waiting for the first byte of a request
  bool draining_ = false;      // Stop: close after the response in flight
  bool keep_alive_ = false;
  bool head_only_ = false;
  int version_ = 11;
  std::size_t served_ = 0;
};

}  // namespace

bool ConnectionRegistry::Add(const std::shared_ptr<SessionBase>& session, std::size_t max) {
  std::lock_guard lock(mu_);
  if (draining_ || live_.size() >= max) return false;
  live_.emplace(session.get(), session);
  return true;
}

void ConnectionRegistry::Remove(SessionBase* session) {
  std::function<void()> on_empty;
  {
    std::lock_guard lock(mu_);
    if (live_.erase(session) == 0) return;
    if (draining_ && live_.empty()) on_empty = std::move(on_empty_);
  }
  if (on_empty) on_empty();
}

void ConnectionRegistry::DrainAll(std::function<void()> on_empty) {
  std::vector<std::shared_ptr<SessionBase>> live;
  {
    std::lock_guard lock(mu_);
    draining_ = true;
    for (const auto& [ptr, weak] : live_) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
    if (live_.empty()) {
      on_empty();
      return;
    }
    on_empty_ = std::move(on_empty);
  }
  for (const auto& s : live) s->Drain();
}

std::size_t ConnectionRegistry::size() const {
  std::lock_guard lock(mu_);
  return live_.size();
}

void StartSession(EdgeContext& edge, tcp::socket socket) {
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  if (edge.tls != nullptr) {
    std::make_shared<Session<TlsStream>>(edge, std::move(socket))->Start();
  } else {
    std::make_shared<Session<PlainStream>>(edge, std::move(socket))->Start();
  }
}

}  // namespace vault::api::edge
