// Bounded worker pool for the cpp-httplib ceiling server (ceiling_worker_pool.h).
#include "bench/ceiling_worker_pool.h"

namespace vault::bench {

BoundedWorkerPool::BoundedWorkerPool(std::size_t threads, std::size_t max_queued)
    : max_queued_(max_queued == 0 ? 1 : max_queued) {
  if (threads == 0) threads = 1;
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
}

BoundedWorkerPool::~BoundedWorkerPool() { shutdown(); }

void BoundedWorkerPool::enqueue(std::function<void()> fn) {
  {
    std::unique_lock lock(mu_);
    has_room_.wait(lock, [&] { return shutdown_ || queue_.size() < max_queued_; });
    if (!shutdown_) {
      queue_.push_back(std::move(fn));
      lock.unlock();
      has_work_.notify_one();
      return;
    }
  }
  fn();  // after shutdown: nobody else will run it, and it owns (and closes) its socket
}

void BoundedWorkerPool::shutdown() {
  {
    std::lock_guard lock(mu_);
    if (shutdown_ && threads_.empty()) return;
    shutdown_ = true;
  }
  has_work_.notify_all();
  has_room_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

std::size_t BoundedWorkerPool::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void BoundedWorkerPool::Work() {
  for (;;) {
    std::function<void()> fn;
    {
      std::unique_lock lock(mu_);
      has_work_.wait(lock, [&] { return shutdown_ || !queue_.empty(); });
      if (queue_.empty()) return;  // shut down and drained
      fn = std::move(queue_.front());
      queue_.pop_front();
    }
    has_room_.notify_one();
    fn();
  }
}

}  // namespace vault::bench
