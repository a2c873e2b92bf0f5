// The ceiling server's task queue: cpp-httplib's TaskQueue over the server's own bounded pool
// (api/worker_pool.h), so the yardstick runs its handler on the same kind of pool.
//
// cpp-httplib hands each accepted connection to TaskQueue::enqueue, which cannot refuse it
// (the task owns the socket). When the pool's queue is full, the task runs on the accept
// thread, which stops accepting meanwhile: further clients wait in the kernel's listen
// backlog instead of in an ever-growing queue in memory (as the pool the server used with
// cpp-httplib did by blocking the accept loop).
#pragma once

#include <httplib.h>

#include <cstddef>
#include <functional>
#include <memory>

#include "api/worker_pool.h"

namespace vault::bench {

class CeilingTaskQueue : public httplib::TaskQueue {
 public:
  CeilingTaskQueue(std::size_t threads, std::size_t max_queued) : pool_(threads, max_queued) {}

  void enqueue(std::function<void()> fn) override {
    auto task = std::make_shared<std::function<void()>>(std::move(fn));
    if (!pool_.TrySubmit([task] { (*task)(); })) (*task)();
  }
  void shutdown() override { pool_.Shutdown(); }

 private:
  api::BoundedWorkerPool pool_;
};

}  // namespace vault::bench
