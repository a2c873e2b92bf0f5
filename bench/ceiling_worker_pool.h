// The ceiling server's worker pool (the pool api/server.cc used with cpp-httplib, kept as the
// yardstick's): a fixed number of threads and a bounded queue of accepted
// connections waiting for one.
//
// cpp-httplib hands each accepted connection to TaskQueue::enqueue, which cannot refuse it
// (the connection's socket is owned by the task). Its own ThreadPool queues without limit;
// this one makes enqueue wait while the queue is full, so the accept loop stops accepting
// and further clients wait in the kernel's listen backlog (bounded by net.core.somaxconn)
// instead of in an ever-growing queue in memory.
#pragma once

#include <httplib.h>

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace vault::bench {

class BoundedWorkerPool : public httplib::TaskQueue {
 public:
  // REQUIRES: threads >= 1, max_queued >= 1.
  BoundedWorkerPool(std::size_t threads, std::size_t max_queued);
  ~BoundedWorkerPool() override;
  BoundedWorkerPool(const BoundedWorkerPool&) = delete;
  BoundedWorkerPool& operator=(const BoundedWorkerPool&) = delete;

  // Waits while max_queued tasks are waiting. After shutdown() tasks still run (the accept
  // loop may hand over one last connection), on the calling thread.
  void enqueue(std::function<void()> fn) override;
  // Runs every queued task, then joins the threads (in-flight requests finish).
  void shutdown() override;

  std::size_t queued() const;

 private:
  void Work();

  const std::size_t max_queued_;
  mutable std::mutex mu_;
  std::condition_variable has_work_;
  std::condition_variable has_room_;
  std::deque<std::function<void()>> queue_;
  bool shutdown_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace vault::bench
