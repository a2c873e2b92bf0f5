// Unit tests of the HTTP layer's building blocks that the end-to-end tests cannot pin down
// exactly: the access-log writer, sharded metrics, the worker pool, the request parser's
// framing rules and limits, query parameters, strict JSON and the record encoder.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "api/access_log.h"
#include "api/http_message.h"
#include "api/http_trace.h"
#include "api/json_codec.h"
#include "api/json_strict.h"
#include "api/metrics.h"
#include "api/request_parser.h"
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
  EXPECT_EQ(j.size(), 9u);  // + request_id, trace_id, parent_id

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
  EXPECT_NE(text.find("lethe_http_requests_total{route=\"/v1/x\",method=\"GET\",status=\"200\"} "
                      "3000\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("lethe_http_requests_total{route=\"/v1/x\",method=\"OTHER\","
                      "status=\"200\"} 3000\n"),
            std::string::npos)
      << text;
  // One histogram per method: GET and OTHER are never mixed.
  const std::string get = "lethe_http_request_duration_seconds_";
  EXPECT_NE(text.find(get + "count{route=\"/v1/x\",method=\"GET\"} 3000\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find(get + "count{route=\"/v1/x\",method=\"OTHER\"} 3000\n"), std::string::npos);
  EXPECT_NE(text.find(get + "bucket{route=\"/v1/x\",method=\"GET\",le=\"0.001\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find(get + "bucket{route=\"/v1/x\",method=\"GET\",le=\"0.0025\"} 3000\n"),
            std::string::npos);
}

TEST(HttpMetricsTest, LatencyBucketsStartAt50Microseconds) {
  HttpMetrics m;
  m.Observe("/healthz", "GET", 200, 0.00004);
  m.Observe("/healthz", "GET", 200, 0.00007);
  m.Observe("/healthz", "GET", 200, 0.0003);
  const std::string text = m.Render(nullptr);
  const std::string b =
      "lethe_http_request_duration_seconds_bucket{route=\"/healthz\",method=\"GET\",";
  EXPECT_NE(text.find(b + "le=\"5e-05\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find(b + "le=\"0.0001\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find(b + "le=\"0.00025\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find(b + "le=\"0.0005\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find(b + "le=\"10\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find(b + "le=\"+Inf\"} 3\n"), std::string::npos) << text;
}

TEST(HttpMetricsTest, SweepsKeepTheLastSuccessAndCountFailures) {
  HttpMetrics m(std::chrono::seconds(60));
  std::string text = m.Render(nullptr);
  EXPECT_NE(text.find("\nlethe_sweep_last_success_timestamp_seconds 0\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("\nlethe_sweep_interval_seconds 60\n"), std::string::npos) << text;
  const auto t = std::chrono::system_clock::time_point(std::chrono::seconds(1700000000));
  m.RecordSweep(true, t);
  m.RecordSweep(false, t + std::chrono::seconds(60));
  m.RecordSweep(true, t - std::chrono::seconds(5));  // an older success never moves it back
  text = m.Render(nullptr);
  EXPECT_NE(text.find("\nlethe_sweep_last_success_timestamp_seconds 1.7e+09\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("\nlethe_sweeps_total{outcome=\"ok\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("\nlethe_sweeps_total{outcome=\"error\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("\nlethe_build_info{version=\""), std::string::npos);
  EXPECT_NE(text.find("\nprocess_resident_memory_bytes "), std::string::npos);
}

TEST(RequestIdTest, ValidIdsAreKeptAndGeneratedOnesAre128BitHex) {
  EXPECT_TRUE(IsValidRequestId("a"));
  EXPECT_TRUE(IsValidRequestId("Req-1.2_3:4"));
  EXPECT_TRUE(IsValidRequestId(std::string(128, 'z')));
  EXPECT_FALSE(IsValidRequestId(""));
  EXPECT_FALSE(IsValidRequestId(std::string(129, 'z')));
  for (const char* bad : {"a b", "a/b", "a\"b", "a\nb", "a%20", "\xc3\xa9"}) {
    EXPECT_FALSE(IsValidRequestId(bad)) << bad;
  }
  const std::string a = NewRequestId(), b = NewRequestId();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos) << a;
  EXPECT_NE(a, b);
  HttpRequest req;
  req.set_header("X-Request-Id", "kept-1");
  EXPECT_EQ(RequestIdFor(req), "kept-1");
  req.headers.emplace_back("x-request-id", "second");  // two fields: neither is trusted
  EXPECT_EQ(RequestIdFor(req).size(), 32u);
}

TEST(TraceParentTest, OnlyWellFormedVersion00ValuesParse) {
  const auto t = ParseTraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(t->parent_id, "00f067aa0ba902b7");
  EXPECT_EQ(t->flags, "01");
  for (const char* bad : {"", "00", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                          "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                          "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
                          "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
                          "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
                          "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7a-01"}) {
    EXPECT_FALSE(ParseTraceParent(bad).has_value()) << bad;
  }
}

TEST(AccessLogTest, LinesCarryTheRequestIdAndTraceContext) {
  AccessLogEntry e;
  e.unix_seconds = 0;
  e.method = "GET";
  e.route = "/healthz";
  e.status = 200;
  e.request_id = "r-1";
  std::string line;
  FormatAccessLogLine(e, &line);
  json j = json::parse(line);
  EXPECT_EQ(j["request_id"], "r-1");
  EXPECT_TRUE(j["trace_id"].is_null());
  EXPECT_TRUE(j["parent_id"].is_null());
  e.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  e.parent_id = "00f067aa0ba902b7";
  line.clear();
  FormatAccessLogLine(e, &line);
  j = json::parse(line);
  EXPECT_EQ(j["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(j["parent_id"], "00f067aa0ba902b7");
}

TEST(BoundedWorkerPoolTest, TrySubmitRefusesWhileTheQueueIsFullAndShutdownDrainsIt) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> started;
  std::atomic<int> ran{0};
  BoundedWorkerPool pool(1, 2);
  ASSERT_TRUE(pool.TrySubmit([&] {
    started.set_value();
    released.wait();
    ++ran;
  }));
  started.get_future().wait();  // the one worker holds the first task
  EXPECT_TRUE(pool.TrySubmit([&] { ++ran; }));
  EXPECT_TRUE(pool.TrySubmit([&] { ++ran; }));
  // The queue holds 2 of 2 and the worker is blocked: the next one is refused, not queued.
  EXPECT_FALSE(pool.TrySubmit([&] { ++ran; }));
  EXPECT_EQ(pool.queued(), 2u);
  release.set_value();
  pool.Shutdown();
  EXPECT_EQ(ran.load(), 3);
  EXPECT_EQ(pool.queued(), 0u);
  EXPECT_FALSE(pool.TrySubmit([&] { ++ran; }));  // after shutdown: refused
  EXPECT_EQ(ran.load(), 3);
}

// Parses wire bytes as a connection does: the head, CheckHead, then the body.
struct Parsed {
  Refusal refusal;
  HttpRequest request;
  std::size_t consumed = 0;
  bool complete = false;
};

Parsed ParseWire(std::string_view wire, RequestLimits limits = RequestLimits{}) {
  RequestParser parser(limits);
  parser.eager(false);
  Parsed out;
  boost::beast::error_code ec;
  auto put = [&] {
    const std::size_t n = parser.put(boost::asio::const_buffer(wire.data(), wire.size()), ec);
    wire.remove_prefix(n);
    out.consumed += n;
    if (ec == boost::beast::http::error::need_more) ec = {};
  };
  put();
  if (ec) {
    out.refusal = RefusalFor(ec, parser);
    return out;
  }
  if (!parser.is_header_done()) return out;
  out.refusal = CheckHead(parser);
  if (out.refusal.refused()) return out;
  parser.eager(true);
  if (!parser.is_done()) put();
  if (ec) {
    out.refusal = RefusalFor(ec, parser);
    return out;
  }
  out.complete = parser.is_done();
  out.request = parser.request();
  return out;
}

TEST(RequestParserTest, AmbiguousFramingIsRefused) {
  const struct {
    const char* name;
    std::string wire;
    int status;
  } cases[] = {
      {"two Content-Length", "POST /x HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}",
       400},
      {"differing Content-Length",
       "POST /x HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400},
      {"signed length", "POST /x HTTP/1.1\r\nContent-Length: +2\r\n\r\n{}", 400},
      {"length with junk", "POST /x HTTP/1.1\r\nContent-Length: 2abc\r\n\r\n{}", 400},
      {"length list", "POST /x HTTP/1.1\r\nContent-Length: 2, 2\r\n\r\n{}", 400},
      {"length and chunked",
       "POST /x HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"gzip coding", "POST /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
      {"chunked twice",
       "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"chunked on 1.0", "POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"GET with body", "GET /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nGET /", 400},
      {"HEAD chunked", "HEAD /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"OPTIONS with body", "OPTIONS /x HTTP/1.1\r\nContent-Length: 1\r\n\r\nx", 400},
      {"two Host", "GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"two Authorization", "GET /x HTTP/1.1\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n", 400},
      {"space before colon", "GET /x HTTP/1.1\r\nHost : a\r\n\r\n", 400},
      {"bare LF", "GET /x HTTP/1.1\nHost: a\n\n", 400},
      {"other expectation", "POST /x HTTP/1.1\r\nExpect: magic\r\nContent-Length: 1\r\n\r\nx", 417},
      {"over-limit length", "POST /x HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n", 413},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ParseWire(c.wire).refusal.status, c.status) << c.name;
  }
}

TEST(RequestParserTest, HeadLimitsAre431) {
  RequestLimits limits;
  limits.max_header_count = 5;
  limits.max_head_bytes = 1024;
  std::string many = "GET /x HTTP/1.1\r\n";
  for (int i = 0; i < 6; ++i) many += "X-" + std::to_string(i) + ": y\r\n";
  EXPECT_EQ(ParseWire(many + "\r\n", limits).refusal.status, 431);
  EXPECT_EQ(ParseWire("GET /x HTTP/1.1\r\nX: " + std::string(2000, 'y') + "\r\n\r\n", limits)
                .refusal.status,
            431);
  // Exactly at the field limit is fine.
  std::string five = "GET /x HTTP/1.1\r\n";
  for (int i = 0; i < 5; ++i) five += "X-" + std::to_string(i) + ": y\r\n";
  EXPECT_FALSE(ParseWire(five + "\r\n", limits).refusal.refused());
}

TEST(RequestParserTest, ChunkedBodiesAreDecodedAndLimited) {
  const Parsed ok = ParseWire(
      "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\nX-Trailer: dropped\r\n\r\n");
  ASSERT_TRUE(ok.complete) << ok.refusal.detail;
  EXPECT_EQ(ok.request.body, "{\"a\":1}");
  EXPECT_FALSE(ok.request.has_header("X-Trailer"));  // trailers never become headers
  RequestLimits small;
  small.max_body_bytes = 4;
  EXPECT_EQ(ParseWire("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n",
                      small)
                .refusal.status,
            413);
}

TEST(RequestParserTest, PipelinedRequestsParseOneAtATime) {
  const std::string wire = "POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}GET /b HTTP/1.1\r\n\r\n";
  const Parsed first = ParseWire(wire);
  ASSERT_TRUE(first.complete);
  EXPECT_EQ(first.request.target, "/a");
  EXPECT_EQ(first.request.body, "{}");
  const Parsed second = ParseWire(std::string_view(wire).substr(first.consumed));
  ASSERT_TRUE(second.complete);
  EXPECT_EQ(second.request.method, "GET");
  EXPECT_EQ(second.request.target, "/b");
}

TEST(HttpRequestTest, HeadersAndQueryParameters) {
  HttpRequest req;
  req.target = "/v1/audit?limit=5&after=%31%32&name=a+b&limit=9&bad=%zz";
  req.headers = {{"content-TYPE", "application/json"}, {"X", "1"}};
  EXPECT_EQ(req.path(), "/v1/audit");
  EXPECT_EQ(req.get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(req.get_param_value("limit"), "5");  // the first wins
  EXPECT_EQ(req.get_param_value("after"), "12");
  EXPECT_EQ(req.get_param_value("name"), "a b");
  EXPECT_TRUE(req.has_param("bad"));
  EXPECT_EQ(req.get_param_value("bad"), "");
  EXPECT_FALSE(req.has_param("nope"));
}

TEST(StrictJsonTest, DuplicateKeysAndNulBytesAreRefused) {
  EXPECT_TRUE(CheckStrictJson(R"({"a":1,"b":{"a":2},"c":[{"a":1},{"a":2}]})").ok());
  EXPECT_EQ(CheckStrictJson(R"({"a":1,"a":2})").code(), Code::kInvalidArgument);
  EXPECT_EQ(CheckStrictJson(R"({"data":{"x":1,"y":2,"x":3}})").code(), Code::kInvalidArgument);
  EXPECT_EQ(CheckStrictJson(R"([{"k":1},{"k":1,"k":1}])").code(), Code::kInvalidArgument);
  EXPECT_EQ(CheckStrictJson(std::string("{\"data\":{\"a\":1}}\0{\"evil\":1}", 27)).code(),
            Code::kInvalidArgument);
}

// The body parser applies the same checks in its one pass (the HTTP body step calls only it).
TEST(StrictJsonTest, TheBodyParserRefusesWhatTheStrictCheckRefuses) {
  auto ok = ParseJsonObject(R"({"a":1,"b":{"a":2},"c":[{"a":1},{"a":2}],"d":{}})");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*ok)["b"]["a"], 2);
  for (const std::string bad :
       {R"({"a":1,"a":2})", R"({"data":{"x":1,"y":2,"x":3}})", R"({"l":[{"k":1},{"k":1,"k":1}]})",
        R"({"a":{"b":{"c":1,"c":1}},"z":0})"}) {
    auto r = ParseJsonObject(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find("repeats a key"), std::string::npos) << bad;
  }
  auto nul = ParseJsonObject(std::string("{\"data\":{\"a\":1}}\0{\"evil\":1}", 27));
  ASSERT_FALSE(nul.ok());
  EXPECT_NE(nul.status().message().find("NUL"), std::string::npos);
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
