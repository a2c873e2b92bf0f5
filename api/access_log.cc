// Access log formatting and its writer thread.
#include "api/access_log.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "api/json_codec.h"
#include "vault/clock.h"

namespace vault::api {
namespace {

// RFC 3339 text of the current second, formatted once per second per thread.
const std::string& TimeText(std::int64_t t) {
  thread_local std::int64_t cached_second = -1;
  thread_local std::string cached;
  if (t != cached_second) {
    cached = FormatRfc3339(static_cast<UnixSeconds>(t));
    cached_second = t;
  }
  return cached;
}

// ,"name":"value" or ,"name":null for an empty value.
void AppendField(std::string_view name, std::string_view value, std::string* out) {
  out->append(name);
  if (value.empty()) {
    out->append("null");
  } else {
    AppendJsonString(value, out);
  }
}

}  // namespace

void FormatAccessLogLine(const AccessLogEntry& e, std::string* out) {
  out->append("{\"ts\":");
  AppendJsonString(TimeText(e.unix_seconds), out);
  out->append(",\"method\":");
  AppendJsonString(e.method, out);
  out->append(",\"route\":");
  AppendJsonString(e.route, out);
  char num[64];
  out->append(",\"status\":");
  out->append(num, std::to_chars(num, num + sizeof num, e.status).ptr);
  out->append(",\"duration_ms\":");
  out->append(num, std::to_chars(num, num + sizeof num, e.duration_ms < 0 ? 0.0 : e.duration_ms,
                                 std::chars_format::fixed, 3)
                       .ptr);
  AppendField(",\"token_id\":", e.token_id, out);
  AppendField(",\"request_id\":", e.request_id, out);
  AppendField(",\"trace_id\":", e.trace_id, out);
  AppendField(",\"parent_id\":", e.parent_id, out);
  out->append("}\n");
}

AccessLog::AccessLog(int fd) : fd_(fd), writer_([this] { Run(); }) {}

AccessLog::~AccessLog() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_one();
  writer_.join();
}

void AccessLog::Write(const AccessLogEntry& e) {
  thread_local std::string line;
  line.clear();
  FormatAccessLogLine(e, &line);
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (pending_.size() + in_flight_ + line.size() > kMaxBufferedBytes) {
      ++dropped_;
      return;
    }
    const bool was_below = pending_.size() < kFlushBytes;
    pending_.append(line);
    wake = was_below && pending_.size() >= kFlushBytes;
  }
  if (wake) wake_.notify_one();
}

std::mutex& LogStreamMutex() {
  static std::mutex mu;
  return mu;
}

void AccessLog::WriteAll(const std::string& text) {
  std::lock_guard lock(LogStreamMutex());
  std::size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = ::write(fd_, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the log is gone (closed pipe, full disk): requests go on
    off += static_cast<std::size_t>(n);
  }
}

void AccessLog::Run() {
  std::string batch;
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait_for(lock, kFlushInterval, [&] { return stop_ || pending_.size() >= kFlushBytes; });
    batch.clear();
    batch.swap(pending_);
    const std::uint64_t dropped = dropped_;
    dropped_ = 0;
    in_flight_ = batch.size();
    const bool stopping = stop_;
    lock.unlock();
    if (dropped > 0) {
      char note[96];
      std::snprintf(note, sizeof(note), "{\"dropped_lines\":%llu}\n",
                    static_cast<unsigned long long>(dropped));
      batch.append(note);
    }
    if (!batch.empty()) WriteAll(batch);
    lock.lock();
    in_flight_ = 0;
    if (stopping && pending_.empty()) return;
  }
}

}  // namespace vault::api
