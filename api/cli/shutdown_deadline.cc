// The shutdown deadline of `lethe serve` (shutdown_deadline.h).
#include "api/cli/shutdown_deadline.h"

#include <cstdlib>

namespace vault::cli {

ShutdownDeadline::ShutdownDeadline(std::chrono::seconds timeout, bool remote_store,
                                   std::function<void(const std::string&)> log)
    : timeout_(timeout),
      remote_store_(remote_store),
      log_(std::move(log)),
      thread_([this] { Watch(); }) {}

ShutdownDeadline::~ShutdownDeadline() {
  {
    std::lock_guard lock(mu_);
    done_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void ShutdownDeadline::Start() {
  {
    std::lock_guard lock(mu_);
    started_ = true;
  }
  cv_.notify_all();
}

// Waits for SIGTERM, then for the timeout: a shutdown still running then waits on a store
// that does not answer. Abandoning it makes those calls fail (requests answer 503; nothing
// acknowledged was pending on them) and the rest of the shutdown quick; should something
// still hang (a connection attempt, a disk), the process exits: every acknowledged write is
// durable already, and LMDB and PostgreSQL both survive an exit at any point.
void ShutdownDeadline::Watch() {
  if (!remote_store_) return;
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return started_ || done_; });
  if (done_) return;
  const auto abandon_at = std::chrono::steady_clock::now() + timeout_;
  if (cv_.wait_until(lock, abandon_at, [&] { return done_; })) return;
  log_("shutdown_abandon_store");
  abandon_->store(true);
  if (cv_.wait_until(lock, abandon_at + kExitAfterAbandon, [&] { return done_; })) return;
  log_("shutdown_forced");
  std::_Exit(EXIT_FAILURE);
}

}  // namespace vault::cli
