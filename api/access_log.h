// Access log: JSON lines written by a background thread, so request threads never wait on
// the log file or on each other's writes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace vault::api {

// One access-log line: {"ts","method","route","status","duration_ms","token_id","request_id",
// "trace_id","parent_id"}. The route is a route pattern ("unmatched" when none), never the
// request path; token_id is the public id of the caller's token or null; request_id is the
// X-Request-Id the response carries; trace_id and parent_id come from a valid W3C traceparent
// (null without one). No PII, no bodies, no query strings.
struct AccessLogEntry {
  std::int64_t unix_seconds = 0;
  std::string_view method;  // a MethodLabel
  std::string_view route;
  int status = 0;
  double duration_ms = 0;
  std::string_view token_id;  // empty: null
  std::string_view request_id;
  std::string_view trace_id;   // empty: null
  std::string_view parent_id;  // empty: null
};

// Appends the entry's JSON line, newline included, to *out.
void FormatAccessLogLine(const AccessLogEntry& e, std::string* out);

// Held by every writer of the server's log stream (the access log's batches, the server's
// event lines): a batch is larger than PIPE_BUF, so without it a pipe (journald, a log
// shipper) could receive an event line in the middle of a batch.
std::mutex& LogStreamMutex();

// Thread-safe. Lines are buffered and written by one thread at least every kFlushInterval,
// sooner when kFlushBytes are waiting; the destructor writes what is left (and so waits for
// a blocked log to take it: shutdown, unlike requests, does wait on the log). When the log
// cannot keep up and kMaxBufferedBytes are waiting or being written, further lines are dropped
// and counted, and a {"dropped_lines":n} line says so once writing catches up: a slow log
// never slows or blocks requests, and never grows memory without bound.
class AccessLog {
 public:
  static constexpr std::size_t kFlushBytes = std::size_t{32} * 1024;
  static constexpr std::size_t kMaxBufferedBytes = std::size_t{8} * 1024 * 1024;
  static constexpr std::chrono::milliseconds kFlushInterval{100};

  explicit AccessLog(int fd);  // fd stays owned by the caller (stderr for `vault serve`)
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  void Write(const AccessLogEntry& e);

 private:
  void Run();
  void WriteAll(const std::string& text);

  const int fd_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::string pending_;
  std::size_t in_flight_ = 0;  // bytes the writer thread is writing now (out of pending_)
  std::uint64_t dropped_ = 0;
  bool stop_ = false;
  std::thread writer_;
};

}  // namespace vault::api
