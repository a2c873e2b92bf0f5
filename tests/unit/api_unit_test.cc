// Unit tests of the HTTP layer's building blocks that the end-to-end tests cannot pin down
// exactly: the access-log writer, sharded metrics and the record encoder.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/access_log.h"
#include "api/json_codec.h"
#include "api/metrics.h"
#include "api/worker_pool.h"

namespace vault::api {
namespace {

using nlohmann::json;

std::vector<json> ParseLines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    out.push_back(json::parse(line));  // throws, failing the test, on a non-JSON line
  }
  return out;
}

// Reads everything from fd until EOF on another thread.
class PipeDrain {
 public:
  explicit PipeDrain(int fd) : fd_(fd) {
    thread_ = std::thread([this] {
      char buf[65536];
      for (;;) {
        const ssize_t n = ::read(fd_, buf, sizeof(buf));
        if (n <= 0) return;
        text_.append(buf, static_cast<std::size_t>(n));
      }
    });
  }
  std::string Join() {
    thread_.join();
    return text_;
  }

 private:
  int fd_;
  std::string text_;
  std::thread thread_;
};

AccessLogEntry Entry(int status, std::string_view token) {
  AccessLogEntry e;
  e.unix_seconds = 1700000000;
  e.method = "GET";
  e.route = "/v1/subjects/{sid}";
  e.status = status;
  e.duration_ms = 0.25;
  e.token_id = token;
  return e;
}

TEST(AccessLogTest, LineIsJsonWithTheDocumentedFields) {
  std::string line;
  FormatAccessLogLine(Entry(200, "0123456789abcdef"), &line);
  ASSERT_EQ(line.back(), '\n');
  const json j = json::parse(line);
  EXPECT_EQ(j["ts"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(j["method"], "GET");
  EXPECT_EQ(j["route"], "/v1/subjects/{sid}");
  EXPECT_EQ(j["status"], 200);
  EXPECT_DOUBLE_EQ(j["duration_ms"].get<double>(), 0.25);
  EXPECT_EQ(j["token_id"], "0123456789abcdef");
  EXPECT_EQ(j.size(), 6u);

  line.clear();
  AccessLogEntry odd = Entry(404, "");
  odd.route = "we\"ird\\\n\x01";
  FormatAccessLogLine(odd, &line);
  const json k = json::parse(line);
  EXPECT_TRUE(k["token_id"].is_null());
  EXPECT_EQ(k["route"], "we\"ird\\\n\x01");
}

TEST(AccessLogTest, ShutdownHandsEveryLineToTheFileInOrder) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  PipeDrain drain(fds[0]);
  {
    AccessLog log(fds[1]);
    for (int i = 0; i < 500; ++i) log.Write(Entry(200 + (i % 300), "0123456789abcdef"));
  }  // the destructor hands every line to the file
  ::close(fds[1]);
  const std::vector<json> lines = ParseLines(drain.Join());
  ::close(fds[0]);
  ASSERT_EQ(lines.size(), 500u);
  for (int i = 0; i < 500; ++i) EXPECT_EQ(lines[i]["status"], 200 + (i % 300)) << i;
}

TEST(AccessLogTest, AStalledLogDropsAndCountsLinesInsteadOfGrowing) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  // Nobody reads yet: the writer thread blocks on the full pipe and the buffer fills up.
  const std::size_t line_bytes = [] {
    std::string l;
    FormatAccessLogLine(Entry(200, "0123456789abcdef"), &l);
    return l.size();
  }();
  const std::size_t n = 2 * AccessLog::kMaxBufferedBytes / line_bytes;
  std::unique_ptr<PipeDrain> drain;
  {
    AccessLog log(fds[1]);
    for (std::size_t i = 0; i < n; ++i) log.Write(Entry(200, "0123456789abcdef"));
    drain = std::make_unique<PipeDrain>(fds[0]);
  }  // the destructor writes the rest and the dropped-lines note
  ::close(fds[1]);
  const std::vector<json> lines = ParseLines(drain->Join());
  ::close(fds[0]);
  std::size_t written = 0, dropped = 0;
  for (const json& l : lines) {
    if (l.contains("dropped_lines")) {
      dropped += l["dropped_lines"].get<std::size_t>();
    } else {
      ++written;
    }
  }
  EXPECT_GT(dropped, 0u);
  EXPECT_LE(written * line_bytes, AccessLog::kMaxBufferedBytes + (1u << 20));
  EXPECT_EQ(written + dropped, n);
}

TEST(HttpMetricsTest, ObservationsFromManyThreadsAreAllCounted) {
  HttpMetrics m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&m, t] {
      for (int i = 0; i < 1000; ++i) {
        m.Observe("/v1/x", t % 2 == 0 ? "GET" : "BREW", 200, 0.002);
      }
    });
  }
  for (auto& t : threads) t.join();
  const std::string text = m.Render(nullptr);
  EXPECT_NE(text.find("vault_http_requests_total{route=\"/v1/x\",method=\"GET\",status=\"200\"} "
                      "3000\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("vault_http_requests_total{route=\"/v1/x\",method=\"OTHER\","
                      "status=\"200\"} 3000\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("vault_http_request_duration_seconds_count{route=\"/v1/x\"} 6000\n"),
            std::string::npos);
  EXPECT_NE(text.find("vault_http_request_duration_seconds_bucket{route=\"/v1/x\",le=\"0.001\"} "
                      "0\n"),
            std::string::npos);
  EXPECT_NE(text.find("vault_http_request_duration_seconds_bucket{route=\"/v1/x\",le=\"0.0025\"} "
                      "6000\n"),
            std::string::npos);
}

TEST(BoundedWorkerPoolTest, EnqueueWaitsWhileTheQueueIsFullAndShutdownDrainsIt) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> ran{0};
  BoundedWorkerPool pool(1, 2);
  pool.enqueue([&] {
    released.wait();
    ++ran;
  });
  // The one worker takes the first task (these enqueues wait for it if need be) and blocks;
  // two more fill the queue.
  pool.enqueue([&] { ++ran; });
  pool.enqueue([&] { ++ran; });
  std::atomic<bool> third_enqueued{false};
  std::thread producer([&] {
    pool.enqueue([&] { ++ran; });
    third_enqueued = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // The queue holds 2 of 2 and the worker is blocked: the fourth enqueue must be waiting.
  EXPECT_FALSE(third_enqueued.load());
  EXPECT_EQ(ran.load(), 0);
  release.set_value();
  producer.join();
  EXPECT_TRUE(third_enqueued.load());
  pool.shutdown();
  EXPECT_EQ(ran.load(), 4);
  EXPECT_EQ(pool.queued(), 0u);
  pool.enqueue([&] { ++ran; });  // after shutdown: runs on the caller
  EXPECT_EQ(ran.load(), 5);
}

RecordView SampleRecord() {
  RecordView r;
  r.subject_id = "user-42";
  r.category = "billing";
  r.record_id = "inv:1";
  r.version = 3;
  r.data_json = json{{"amount", 12.5}, {"note", "caf\u00e9 \"quoted\""}, {"items", {1, 2}}}.dump();
  r.created_at = 1700000000;
  r.updated_at = 1700000100;
  r.retain_until = 1900000000;
  return r;
}

TEST(RecordJsonTextTest, EqualsTheJsonEncoderWithDataSplicedFromText) {
  RecordView r = SampleRecord();
  EXPECT_EQ(json::parse(RecordJsonText(r)), RecordJson(r));  // from the parsed data
  r.event_time = 1699990000;
  r.retain_until = 0;
  EXPECT_EQ(json::parse(RecordJsonText(r)), RecordJson(r));
  EXPECT_EQ(RecordJson(r)["data"], json::parse(r.data_json));
}

TEST(RecordJsonTextTest, EscapesFieldsThatNeedIt) {
  RecordView r = SampleRecord();
  r.subject_id = "odd\"id\\\n";
  EXPECT_EQ(json::parse(RecordJsonText(r))["subject_id"], "odd\"id\\\n");
}

}  // namespace
}  // namespace vault::api
