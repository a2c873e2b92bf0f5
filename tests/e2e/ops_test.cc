// End-to-end: what an operator relies on. Readiness (and draining), X-Request-Id and
// traceparent in responses and the access log, problem type pages, the 415 for non-JSON
// bodies, /metrics checked by Prometheus' own parser (promtool), the alert rules and the
// Grafana dashboard's queries against the metrics a real server exports.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace vault::e2e {
namespace {

const std::string kSourceDir = VAULT_SOURCE_DIR;

// The path of promtool (Debian's `prometheus` package), or "" when it is not installed.
std::string PromtoolPath() {
  for (const char* dir : {"/usr/bin/", "/usr/local/bin/", "/bin/"}) {
    const std::string path = std::string(dir) + "promtool";
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

#define REQUIRE_PROMTOOL()                                                     \
  if (PromtoolPath().empty())                                                  \
  GTEST_SKIP() << "promtool not found: install Debian's `prometheus` package " \
                  "(LETHE_WITH_TEST_TOOLS=1 scripts/install-deps.sh); CI has it"

// Runs a shell command, returning its exit code and its merged stdout and stderr.
std::pair<int, std::string> Shell(const std::string& command) {
  std::string out;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return {-1, ""};
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// The metric names of every sample in an exposition text.
std::set<std::string> SampleNames(const std::string& text) {
  std::set<std::string> names;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    names.insert(line.substr(0, line.find_first_of("{ ")));
  }
  return names;
}

// The value of the first sample whose line starts with prefix (name and labels).
double SampleValue(const std::string& text, const std::string& prefix) {
  const std::size_t at = text.find("\n" + prefix);
  if (at == std::string::npos) return -1;
  const std::size_t end = text.find('\n', at + 1);
  const std::string line = text.substr(at + 1, end - at - 1);
  return std::stod(line.substr(line.rfind(' ') + 1));
}

class OpsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = ServerProcess::Start({}).release(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  // GET with extra header fields.
  static httplib::Result Get(const std::string& path, const httplib::Headers& headers) {
    httplib::Client client("127.0.0.1", server_->port());
    client.set_read_timeout(20);
    return client.Get(path.c_str(), headers);
  }

  // The access-log line that carries this request id (it is written within ~100 ms).
  static std::string LogLineOf(const std::string& request_id) {
    const std::string needle = "\"request_id\":\"" + request_id + "\"";
    for (int i = 0; i < 50; ++i) {
      const std::string log = server_->Log();
      const std::size_t at = log.find(needle);
      if (at != std::string::npos) {
        const std::size_t begin = log.rfind('\n', at) + 1;
        return log.substr(begin, log.find('\n', at) - begin);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return "";
  }

  static ServerProcess* server_;
};

ServerProcess* OpsTest::server_ = nullptr;

const std::regex kGeneratedId("[0-9a-f]{32}");

TEST_F(OpsTest, ReadyzAnswersReadyWithoutToken) {
  const HttpResult r = server_->Call("GET", "/readyz", "");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json(), json({{"status", "ready"}}));
  EXPECT_EQ(server_->Raw("HEAD /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .rfind("HTTP/1.1 200", 0),
            0u);
}

TEST_F(OpsTest, ClientRequestIdIsEchoedAndLoggedWithTheTraceContext) {
  const std::string id = "req-42.a_b:c";
  const httplib::Result r =
      Get("/healthz", {{"X-Request-Id", id},
                       {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("X-Request-Id"), id);
  const std::string line = LogLineOf(id);
  ASSERT_FALSE(line.empty()) << server_->Log();
  const json j = json::parse(line);
  EXPECT_EQ(j["route"], "/healthz");
  EXPECT_EQ(j["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(j["parent_id"], "00f067aa0ba902b7");
}

TEST_F(OpsTest, MissingOrMalformedRequestIdsAreReplacedByGeneratedOnes) {
  std::set<std::string> seen;
  for (const std::string& bad : {std::string(), std::string("has space"), std::string("a/b"),
                                 std::string(129, 'x'), std::string("caf\xc3\xa9")}) {
    httplib::Headers headers;
    if (!bad.empty()) headers.emplace("X-Request-Id", bad);
    const httplib::Result r = Get("/healthz", headers);
    ASSERT_TRUE(r);
    const std::string id = r->get_header_value("X-Request-Id");
    EXPECT_TRUE(std::regex_match(id, kGeneratedId)) << "'" << bad << "' -> '" << id << "'";
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 5u);  // each one new
  const httplib::Result r = Get("/healthz", {{"X-Request-Id", std::string(128, 'x')}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("X-Request-Id"), std::string(128, 'x'));
}

TEST_F(OpsTest, ProblemResponsesAndEdgeRefusalsCarryTheRequestId) {
  const httplib::Result missing = Get("/v1/nothing-here", {{"X-Request-Id", "p-404"}});
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->get_header_value("X-Request-Id"), "p-404");
  const HttpResult unauthenticated = server_->Call("GET", "/v1/policy", "");
  ASSERT_TRUE(IsProblem(unauthenticated, 401));
  EXPECT_EQ(unauthenticated.headers.count("X-Request-Id"), 1u);
  // Refused by the edge before any handler runs: two Content-Length fields.
  const std::string raw = server_->Raw(
      "POST /v1/tokens HTTP/1.1\r\nHost: x\r\nX-Request-Id: edge-400\r\nContent-Length: 1\r\n"
      "Content-Length: 1\r\nConnection: close\r\n\r\nx");
  EXPECT_EQ(raw.rfind("HTTP/1.1 400", 0), 0u) << raw;
  EXPECT_NE(raw.find("X-Request-Id: edge-400\r\n"), std::string::npos) << raw;
}

TEST_F(OpsTest, InvalidTraceparentsAreNotLogged) {
  const std::vector<std::string> invalid = {
      "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // another version
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",   // all-zero trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",   // all-zero parent id
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",   // uppercase
      "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",    // short trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x"  // trailing data
  };
  for (std::size_t i = 0; i < invalid.size(); ++i) {
    const std::string id = "bad-trace-" + std::to_string(i);
    const httplib::Result r = Get("/healthz", {{"X-Request-Id", id}, {"traceparent", invalid[i]}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    const std::string line = LogLineOf(id);
    ASSERT_FALSE(line.empty()) << invalid[i];
    const json j = json::parse(line);
    EXPECT_TRUE(j["trace_id"].is_null()) << invalid[i] << ": " << line;
    EXPECT_TRUE(j["parent_id"].is_null()) << invalid[i] << ": " << line;
  }
}

TEST_F(OpsTest, ProblemTypesAreRelativeUrisTheServerDescribes) {
  const HttpResult missing = server_->Call("GET", "/v1/nothing-here", "");
  ASSERT_TRUE(IsProblem(missing, 404));
  EXPECT_EQ(missing.Json()["type"], "/problems/not-found");
  const HttpResult page = server_->Call("GET", "/problems/not-found", "");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type.rfind("text/plain", 0), 0u) << page.content_type;
  EXPECT_NE(page.body.find("Not found"), std::string::npos) << page.body;
  EXPECT_NE(page.body.find("404"), std::string::npos) << page.body;
  const HttpResult locked = server_->Call("GET", "/problems/locked", "");
  ASSERT_EQ(locked.status, 200);
  EXPECT_NE(locked.body.find("423"), std::string::npos) << locked.body;
  const HttpResult unknown = server_->Call("GET", "/problems/no-such-problem", "");
  ASSERT_TRUE(IsProblem(unknown, 404));
  EXPECT_EQ(unknown.Json()["type"], "/problems/not-found");
}

TEST_F(OpsTest, NonJsonBodiesAreRefusedWith415EvenWhereNoBodyIsRead) {
  const HttpResult text = server_->Call("POST", "/v1/admin/sweep", server_->admin_token(),
                                        std::string("sweep please"), "text/plain");
  EXPECT_TRUE(IsProblem(text, 415)) << text.body;
  EXPECT_EQ(text.Json()["type"], "/problems/unsupported-media-type");
  const HttpResult json_body =
      server_->Call("POST", "/v1/admin/sweep", server_->admin_token(), std::string("{}"));
  EXPECT_EQ(json_body.status, 200) << json_body.body;
  // No body at all needs no Content-Type.
  const std::string raw = server_->Raw(
      "POST /v1/admin/sweep HTTP/1.1\r\nHost: x\r\n"
      "Authorization: Bearer " +
      server_->admin_token() + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(raw.rfind("HTTP/1.1 200", 0), 0u) << raw;
}

TEST_F(OpsTest, MetricsPassPromtoolAndCarryTheOperatorsFigures) {
  ASSERT_EQ(server_->Call("POST", "/v1/admin/sweep", server_->admin_token()).status, 200);
  ASSERT_EQ(server_->Call("GET", "/healthz", "").status, 200);
  ASSERT_EQ(server_->Call("GET", "/v1/policy", server_->admin_token()).status, 200);
  const HttpResult r = server_->Call("GET", "/metrics", "");
  ASSERT_EQ(r.status, 200);
  const std::string& m = r.body;
  EXPECT_NE(m.find("\nlethe_build_info{version=\"" VAULT_VERSION "\"} 1\n"), std::string::npos)
      << m;
  EXPECT_NE(m.find("lethe_http_request_duration_seconds_bucket{route=\"/healthz\","
                   "method=\"GET\",le=\"5e-05\"}"),
            std::string::npos)
      << m;
  EXPECT_EQ(m.find("vault_"), std::string::npos);
  EXPECT_EQ(SampleValue(m, "lethe_ready "), 1);
  const double swept = SampleValue(m, "lethe_sweep_last_success_timestamp_seconds ");
  EXPECT_NEAR(swept, static_cast<double>(std::time(nullptr)), 60);
  EXPECT_GE(SampleValue(m, "lethe_sweeps_total{outcome=\"ok\"} "), 1);
  const double used = SampleValue(m, "lethe_store_map_used_bytes ");
  const double size = SampleValue(m, "lethe_store_map_size_bytes ");
  if (TestStoreIsPostgres()) {
    // The map gauges are LMDB's; over PostgreSQL there is no map and no such sample.
    EXPECT_EQ(m.find("lethe_store_map_"), std::string::npos);
  } else {
    EXPECT_GT(used, 0);
    EXPECT_GE(size, used);
  }
  EXPECT_GT(SampleValue(m, "process_resident_memory_bytes "), 1e6);
  EXPECT_GT(SampleValue(m, "process_open_fds "), 3);
  EXPECT_GT(SampleValue(m, "process_max_fds "), SampleValue(m, "process_open_fds "));
  EXPECT_NEAR(SampleValue(m, "process_start_time_seconds "),
              static_cast<double>(std::time(nullptr)), 300);
  EXPECT_GE(SampleValue(m, "process_cpu_seconds_total "), 0);

  REQUIRE_PROMTOOL();
  TempDir dir;
  WriteFile(dir.Join("metrics.txt"), m);
  const auto [code, out] = Shell(PromtoolPath() + " check metrics < " + dir.Join("metrics.txt"));
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out, "") << out;  // no lint findings either
}

TEST_F(OpsTest, AlertRulesPassPromtoolAndTheirTests) {
  REQUIRE_PROMTOOL();
  const std::string rules = kSourceDir + "/docs/alerts/lethe.rules.yml";
  const auto [code, out] = Shell(PromtoolPath() + " check rules " + rules);
  EXPECT_EQ(code, 0) << out;
  const auto [test_code, test_out] =
      Shell("cd " + kSourceDir + "/docs/alerts && " + PromtoolPath() +
            " test rules lethe.rules.test.yml lethe.rules.erasures.test.yml");
  EXPECT_EQ(test_code, 0) << test_out;
}

// Every metric an alert or a dashboard panel queries is one the server exports.
TEST_F(OpsTest, DashboardAndAlertsQueryOnlyExportedMetrics) {
  ASSERT_EQ(server_->Call("GET", "/healthz", "").status, 200);
  const std::set<std::string> exported = SampleNames(server_->Call("GET", "/metrics", "").body);
  const json dashboard = json::parse(ReadFile(kSourceDir + "/docs/dashboards/lethe.json"));
  std::vector<std::string> exprs;
  std::vector<const json*> todo = {&dashboard};
  while (!todo.empty()) {
    const json& j = *todo.back();
    todo.pop_back();
    if (!j.is_structured()) continue;
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (j.is_object() && it.key() == "expr" && it->is_string()) exprs.push_back(*it);
      todo.push_back(&*it);
    }
  }
  EXPECT_GE(exprs.size(), 10u);
  const std::string rules = ReadFile(kSourceDir + "/docs/alerts/lethe.rules.yml");
  exprs.push_back(rules);
  const std::regex metric("\\b(lethe|process|vault)_[a-z_]+");
  std::set<std::string> queried;
  for (const std::string& e : exprs) {
    for (auto it = std::sregex_iterator(e.begin(), e.end(), metric); it != std::sregex_iterator();
         ++it) {
      queried.insert(it->str());
    }
  }
  EXPECT_GE(queried.size(), 12u);
  for (const std::string& name : queried) {
    // Over PostgreSQL there is no LMDB map to report (the panel and alert stay empty).
    if (TestStoreIsPostgres() && name.rfind("lethe_store_map_", 0) == 0) continue;
    EXPECT_EQ(exported.count(name), 1u) << name << " is queried but not exported";
  }
}

// Stop() begins: a request already being read is answered, but /readyz now says 503.
TEST(OpsDrainTest, ReadyzAnswers503WhileDraining) {
  std::unique_ptr<ServerProcess> server = ServerProcess::Start({});
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(server->port()));
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const std::string head = "GET /readyz HTTP/1.1\r\nHost: x\r\nX-Request-Id: draining\r\n";
  ASSERT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL), static_cast<ssize_t>(head.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the head is being read
  ASSERT_EQ(::kill(server->pid(), SIGTERM), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // Stop() has begun
  ASSERT_EQ(::send(fd, "\r\n", 2, MSG_NOSIGNAL), 2);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string response;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) {
    response.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  EXPECT_EQ(response.rfind("HTTP/1.1 503", 0), 0u) << response;
  EXPECT_NE(response.find("Retry-After: "), std::string::npos) << response;
  EXPECT_NE(response.find("application/problem+json"), std::string::npos) << response;
  EXPECT_NE(response.find("X-Request-Id: draining\r\n"), std::string::npos) << response;
  EXPECT_NE(response.find("shutting down"), std::string::npos) << response;
  EXPECT_EQ(server->Terminate(), 0);
}

}  // namespace
}  // namespace vault::e2e
