// A bound on how long `lethe serve` takes to exit after SIGTERM when its store stops
// answering: past the shutdown timeout the store's waiting calls are abandoned, a little
// later the process exits whatever still runs (docs/operations.md "Stopping").
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace vault::cli {

class ShutdownDeadline {
 public:
  // After the abandonment, what remains of the shutdown (joining threads, closing the
  // vault) has this long before the process exits at once.
  static constexpr std::chrono::seconds kExitAfterAbandon{5};

  // log(event) reports "shutdown_abandon_store" and "shutdown_forced". remote_store: the
  // store is PostgreSQL; an LMDB store has nothing to abandon (a sweep or an epoch rotation
  // in progress finishes, as before), so the deadline does nothing then.
  ShutdownDeadline(std::chrono::seconds timeout, bool remote_store,
                   std::function<void(const std::string&)> log);
  // The shutdown is over: the watchdog stops without acting.
  ~ShutdownDeadline();
  ShutdownDeadline(const ShutdownDeadline&) = delete;
  ShutdownDeadline& operator=(const ShutdownDeadline&) = delete;

  // SIGTERM: the timeout starts (once; later calls change nothing).
  void Start();
  // Options::abandon_store: set once the timeout has passed.
  const std::shared_ptr<std::atomic<bool>>& abandon_flag() const { return abandon_; }

 private:
  void Watch();

  const std::chrono::seconds timeout_;
  const bool remote_store_;
  const std::function<void(const std::string&)> log_;
  const std::shared_ptr<std::atomic<bool>> abandon_ = std::make_shared<std::atomic<bool>>(false);
  std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;  // guarded by mu_
  bool done_ = false;     // guarded by mu_
  std::thread thread_;    // last: starts once the members above exist
};

}  // namespace vault::cli
