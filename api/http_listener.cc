// HttpListener (http_listener.h): TLS setup, bind, the accept loop, the I/O threads and the
// drain on Stop.
#include "api/http_listener.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "api/http_session.h"

namespace vault::api {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

struct HttpListener::Impl {
  // Declaration order is destruction order reversed: the worker pool stops first, then the
  // io_context (destroying pending handlers and so the sessions), then what sessions use.
  edge::EdgeContext edge;
  std::optional<net::ssl::context> tls;
  net::io_context ioc;
  // The acceptor and its retry timer are touched by accept handlers and by BeginDrain, which
  // run on any of the I/O threads: one strand serialises them.
  net::strand<net::io_context::executor_type> accept_strand{net::make_strand(ioc)};
  tcp::acceptor acceptor{accept_strand};
  net::steady_timer retry_timer{accept_strand};
  net::steady_timer drain_timer{ioc};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::unique_ptr<BoundedWorkerPool> pool;
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> finished{false};

  void Accept();
  void BeginDrain();
  void Finish();
};

namespace {

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit in force.
rlim_t RaiseFileLimit() {
  struct rlimit lim {};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 1024;
  if (lim.rlim_cur < lim.rlim_max) {
    struct rlimit raised = lim;
    raised.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) lim = raised;
  }
  return lim.rlim_cur;
}

Status LoadTls(const ListenerOptions& o, std::optional<net::ssl::context>* tls) {
  tls->emplace(net::ssl::context::tls_server);
  net::ssl::context& ctx = **tls;
  ctx.set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                  net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                  net::ssl::context::no_tlsv1_1 | net::ssl::context::single_dh_use);
  error_code ec;
  ctx.use_certificate_chain_file(o.tls_cert, ec);
  if (ec)
    return InvalidArgument("cannot load the TLS certificate " + o.tls_cert + " (PEM expected)");
  ctx.use_private_key_file(o.tls_key, net::ssl::context::pem, ec);
  if (ec) return InvalidArgument("cannot load the TLS key " + o.tls_key + " (PEM expected)");
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
    return InvalidArgument("the TLS key " + o.tls_key + " does not match the certificate " +
                           o.tls_cert);
  }
  return Status::Ok();
}

}  // namespace

void HttpListener::Impl::Accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](error_code ec, tcp::socket socket) {
    if (!acceptor.is_open()) return;  // stopped
    if (ec) {
      // Out of descriptors or memory: try again shortly instead of spinning.
      retry_timer.expires_after(std::chrono::milliseconds(50));
      retry_timer.async_wait([this](error_code) {
        if (acceptor.is_open()) Accept();
      });
      return;
    }
    edge::StartSession(edge, std::move(socket));
    Accept();
  });
}

void HttpListener::Impl::BeginDrain() {
  error_code ignored;
  acceptor.close(ignored);
  retry_timer.cancel();
  drain_timer.expires_after(edge.options.drain_timeout);
  drain_timer.async_wait([this](error_code ec) {
    if (!ec) Finish();  // in-flight requests did not finish in time
  });
  edge.registry.DrainAll([this] {
    if (!finished.load()) net::post(ioc, [this] { Finish(); });
  });
}

void HttpListener::Impl::Finish() {
  if (finished.exchange(true)) return;
  drain_timer.cancel();
  work.reset();
  ioc.stop();
}

HttpListener::HttpListener(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpListener::~HttpListener() {
  if (impl_->pool) impl_->pool->Shutdown();
}

StatusOr<std::unique_ptr<HttpListener>> HttpListener::Create(ListenerOptions options,
                                                             ListenerHooks hooks) {
  auto impl = std::make_unique<Impl>();
  impl->edge.options = std::move(options);
  impl->edge.hooks = std::move(hooks);
  const ListenerOptions& o = impl->edge.options;
  if (!o.tls_cert.empty()) {
    VAULT_RETURN_IF_ERROR(LoadTls(o, &impl->tls));
    impl->edge.tls = &*impl->tls;
  }
  return std::unique_ptr<HttpListener>(new HttpListener(std::move(impl)));
}

StatusOr<int> HttpListener::Bind(const std::string& host, int port) {
  const std::string address =
      (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  error_code ec;
  tcp::resolver resolver(impl_->ioc);
  const auto endpoints =
      resolver.resolve(host, std::to_string(port), tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) return Status(Code::kUnavailable, "cannot resolve " + address);
  const tcp::endpoint endpoint = endpoints.begin()->endpoint();
  tcp::acceptor& a = impl_->acceptor;
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);  // never SO_REUSEPORT
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    error_code ignored;
    a.close(ignored);
    return Status(Code::kUnavailable, "cannot bind " + address + ": " + ec.message());
  }
  const rlim_t files = RaiseFileLimit();
  std::size_t& max = impl_->edge.options.max_connections;
  if (files > 128 && max > files - 128) max = static_cast<std::size_t>(files - 128);
  return static_cast<int>(a.local_endpoint().port());
}

Status HttpListener::Run() {
  Impl& s = *impl_;
  if (!s.acceptor.is_open()) return Status(Code::kInternal, "Run() before Bind()");
  const ListenerOptions& o = s.edge.options;
  s.pool = std::make_unique<BoundedWorkerPool>(o.workers, o.max_queued);
  s.edge.pool = s.pool.get();
  s.work.emplace(s.ioc.get_executor());
  net::post(s.ioc, [&s] {
    if (s.stop_requested.load()) return s.BeginDrain();
    s.Accept();
  });
  std::vector<std::thread> io;
  for (std::size_t i = 1; i < std::max<std::size_t>(o.io_threads, 1); ++i)
    io.emplace_back([&s] { s.ioc.run(); });
  s.ioc.run();
  for (std::thread& t : io) t.join();
  s.pool->Shutdown();  // in-flight handlers finish; their responses are dropped
  return Status::Ok();
}

void HttpListener::Stop() {
  Impl& s = *impl_;
  if (s.stop_requested.exchange(true)) return;
  net::post(s.accept_strand, [&s] { s.BeginDrain(); });
}

}  // namespace vault::api
