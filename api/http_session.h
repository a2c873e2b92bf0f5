// One HTTP/1.1 connection of the edge (api/http_listener.h), plain or TLS, and what the
// connections share: options, hooks, the worker pool and the registry Stop drains.
// Internal to the listener; included by http_listener.cc and http_session.cc only.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "api/http_listener.h"
#include "api/worker_pool.h"

namespace vault::api::edge {

// A live connection as the registry sees it.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // From any thread: close the connection if it waits for a request, else close it after
  // the response in flight.
  virtual void Drain() = 0;
};

// The live connections. Thread-safe.
class ConnectionRegistry {
 public:
  // False when draining or when max connections are live.
  bool Add(const std::shared_ptr<SessionBase>& session, std::size_t max);
  void Remove(SessionBase* session);
  // Marks the registry draining and drains every live session; on_empty runs (on the thread
  // that removes the last session, or here) once no session is left.
  void DrainAll(std::function<void()> on_empty);
  std::size_t size() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> live_;
  bool draining_ = false;
  std::function<void()> on_empty_;
};

// What every connection of one listener shares; outlives the connections.
struct EdgeContext {
  ListenerOptions options;
  ListenerHooks hooks;
  boost::asio::ssl::context* tls = nullptr;  // null: plain HTTP
  BoundedWorkerPool* pool = nullptr;
  ConnectionRegistry registry;
};

// Starts serving an accepted socket (on the strand it was accepted on).
void StartSession(EdgeContext& edge, boost::asio::ip::tcp::socket socket);

}  // namespace vault::api::edge
