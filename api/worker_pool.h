// The HTTP server's worker pool: a fixed number of threads that run request handlers (which
// may block on the engine's group commit) and a bounded queue of requests waiting for one.
//
// The I/O threads (api/http_listener.h) never block on it: TrySubmit refuses a request when
// the queue is full, and the connection answers 503 instead of growing a queue in memory.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace vault::api {

class BoundedWorkerPool {
 public:
  // REQUIRES: threads >= 1, max_queued >= 1.
  BoundedWorkerPool(std::size_t threads, std::size_t max_queued);
  ~BoundedWorkerPool();
  BoundedWorkerPool(const BoundedWorkerPool&) = delete;
  BoundedWorkerPool& operator=(const BoundedWorkerPool&) = delete;

  // Queues fn unless max_queued tasks are already waiting or the pool is shut down.
  bool TrySubmit(std::function<void()> fn);
  // Runs every queued task, then joins the threads (in-flight requests finish). Idempotent.
  void Shutdown();

  std::size_t queued() const;

 private:
  void Work();

  const std::size_t max_queued_;
  mutable std::mutex mu_;
  std::condition_variable has_work_;
  std::deque<std::function<void()>> queue_;
  bool shutdown_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace vault::api
