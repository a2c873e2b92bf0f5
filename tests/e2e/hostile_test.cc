// End-to-end: hostile input gets a problem+json with the right status, changes nothing,
// and leaves the server up; hostile connections (request smuggling shapes, pipelining, slow
// headers, idle pools, header bombs) neither confuse the server nor starve other clients.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

extern char** environ;

namespace vault::e2e {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* kMarker = "SECRET-VALUE-4711";
const std::string kCanary = "/v1/subjects/canary/records/account/c1";

// --- Raw sockets on loopback ----------------------------------------------------------------

int ConnectLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

struct RawRead {
  std::string text;
  bool closed = false;  // the server closed (EOF or reset) within the limit
  milliseconds elapsed{0};
};

// Reads until the server closes the connection or `limit` passes.
RawRead ReadUntilClose(int fd, milliseconds limit) {
  RawRead out;
  const auto start = Clock::now();
  char buf[16384];
  while (Clock::now() - start < limit) {
    pollfd p{fd, POLLIN, 0};
    const auto left = limit - std::chrono::duration_cast<milliseconds>(Clock::now() - start);
    if (poll(&p, 1, static_cast<int>(std::max<long>(left.count(), 1))) <= 0) continue;
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) {
      out.closed = true;
      break;
    }
    out.text.append(buf, static_cast<std::size_t>(n));
  }
  out.elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  return out;
}

// Sends bytes on a new connection and reads until the server closes it (or `limit`).
RawRead Exchange(int port, const std::string& bytes, milliseconds limit = milliseconds(4000)) {
  const int fd = ConnectLoopback(port);
  if (fd < 0) return {};
  SendAll(fd, bytes);
  RawRead r = ReadUntilClose(fd, limit);
  close(fd);
  return r;
}

// Status lines in a byte stream of responses (no body in these tests contains one).
int CountResponses(const std::string& text) {
  int n = 0;
  for (std::size_t at = text.find("HTTP/1.1 "); at != std::string::npos;
       at = text.find("HTTP/1.1 ", at + 1)) {
    ++n;
  }
  return n;
}

long RssKib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

void RaiseFileLimit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

// Milliseconds for GET /healthz on a fresh connection; 0 when it failed.
long FreshHealthzMs(const ServerProcess& server) {
  const auto start = Clock::now();
  if (server.Call("GET", "/healthz", "").status != 200) return 0;
  return std::max<long>(1, std::chrono::duration_cast<milliseconds>(Clock::now() - start).count());
}

class HostileInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ServerProcess::Config config;
    config.extra_args = {"--sweep-interval", "0", "--max-body-bytes", "65536"};
    server_ = ServerProcess::Start(config).release();
    admin_ = server_->admin_token();
    auditor_ = server_->CreateToken("auditor", {});
    const HttpResult r = server_->CallJson("PUT", kCanary, admin_, json{{"data", {{"v", 1}}}});
    ASSERT_EQ(r.status, 201) << r.body;
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  // After each case: the server answers, the canary is unchanged.
  void TearDown() override {
    EXPECT_EQ(server_->Call("GET", "/healthz", "").status, 200);
    const HttpResult r = server_->Call("GET", kCanary, admin_);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Json()["version"], 1);
    EXPECT_EQ(r.Json()["data"], json({{"v", 1}}));
  }

  static void ExpectRefused(const HttpResult& r, int status, const std::string& what) {
    EXPECT_TRUE(IsProblem(r, status)) << what;
    EXPECT_EQ(r.body.find(kMarker), std::string::npos) << what << " echoed input: " << r.body;
  }

  static ServerProcess* server_;
  static std::string admin_, auditor_;
};

ServerProcess* HostileInputTest::server_ = nullptr;
std::string HostileInputTest::admin_, HostileInputTest::auditor_;

TEST_F(HostileInputTest, MalformedBodies) {
  struct Case {
    std::string body;
    std::string content_type;
    int status;
  };
  const std::string m = kMarker;
  const std::vector<Case> cases = {
      {"{\"data\": {\"v\": \"" + m + "\"", "application/json", 400},  // truncated
      {"not json " + m, "application/json", 400},
      {"[{\"data\":{}}]", "application/json", 400},            // not an object
      {"{\"data\": \"" + m + "\"}", "application/json", 400},  // wrong type
      {"{\"data\": [1,2]}", "application/json", 400},
      {"{\"data\": {}, \"event_time\": 5}", "application/json", 400},
      {"{\"data\": {}, \"event_time\": \"" + m + "\"}", "application/json", 400},
      {"{\"event_time\": \"2024-01-01T00:00:00Z\"}", "application/json", 400},  // missing data
      {"{\"data\": {}, \"version\": 9}", "application/json", 400},              // unknown field
      {"{}", "application/json", 400},
      {"", "application/json", 400},
      {"{\"data\": {\"v\": 2}}", "text/plain", 415},
      {std::string(200, '[') + std::string(200, ']'), "application/json", 400},  // too deep
      {"{\"data\": {\"v\": \"\xff\xfe\"}}", "application/json", 400},            // bad UTF-8
  };
  for (const Case& c : cases) {
    ExpectRefused(server_->Call("PUT", kCanary, admin_, c.body, c.content_type), c.status,
                  c.body.substr(0, 40));
  }
  const HttpResult r = server_->Call("PUT", kCanary, admin_, std::string("{\"data\": 7}"));
  EXPECT_NE(r.Json()["detail"].get<std::string>().find("data"), std::string::npos)
      << "detail names the field";
}

TEST_F(HostileInputTest, BadIdsInThePath) {
  const std::string body = R"({"data":{"v":2}})";
  const std::vector<std::string> bad_subjects = {
      "a%2Fb", "..", ".", "a%00b", std::string(129, 'x'), "a%20b", "%zz", "caf%C3%A9", "a%2F..%2Fb",
  };
  for (const std::string& sid : bad_subjects) {
    for (const std::string method : {"PUT", "GET"}) {
      const std::string path = "/v1/subjects/" + sid + "/records/account/r1";
      ExpectRefused(
          server_->Call(method, path, admin_, method == "PUT" ? std::optional(body) : std::nullopt),
          400, method + " " + sid);
    }
    ExpectRefused(server_->Call("GET", "/v1/subjects/" + sid, admin_), 400, sid);
  }
  ExpectRefused(server_->Call("PUT", "/v1/subjects/ok/records/account/r%2F1", admin_, body), 400,
                "record id with /");
  ExpectRefused(server_->Call("PUT", "/v1/subjects/ok/records/..%2F/r1", admin_, body), 400,
                "category with /");
  ExpectRefused(server_->Call("GET", "/v1/erasures/" + std::string(129, 'e'), admin_), 400,
                "long erasure id");
  // A literal '/' makes a path no route has.
  ExpectRefused(server_->Call("PUT", "/v1/subjects/a/b/records/account/r1", admin_, body), 404,
                "literal slash");
  // 128 characters is the longest valid id.
  const std::string longest(128, 'L');
  EXPECT_EQ(
      server_->Call("PUT", "/v1/subjects/" + longest + "/records/account/r1", admin_, body).status,
      201);
  // None of the refused ids created a subject.
  for (const std::string& sid : {std::string("a"), std::string("ok"), std::string(128, 'x')}) {
    EXPECT_TRUE(IsProblem(server_->Call("GET", "/v1/subjects/" + sid, admin_), 404)) << sid;
  }
}

TEST_F(HostileInputTest, OversizedBodiesAre413) {
  const std::string big = "{\"data\":{\"v\":\"" + std::string(200 * 1024, 'x') + "\"}}";
  ExpectRefused(server_->Call("PUT", kCanary, admin_, big), 413, "200 KiB body");
  const std::string huge = "{\"data\":{\"v\":\"" + std::string(3 * 1024 * 1024, 'x') + "\"}}";
  ExpectRefused(server_->Call("PUT", kCanary, admin_, huge), 413, "3 MiB body");
  // A chunked body is limited by its decoded size: 413 and the connection closes.
  std::string chunks;
  for (int i = 0; i < 80; ++i) chunks += "400\r\n" + std::string(1024, 'x') + "\r\n";
  const std::string raw =
      server_->Raw("PUT " + kCanary + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + admin_ +
                   "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
                   chunks + "0\r\n\r\n");
  EXPECT_EQ(raw.rfind("HTTP/1.1 413", 0), 0u) << raw;
  EXPECT_NE(raw.find("application/problem+json"), std::string::npos) << raw;
  EXPECT_NE(raw.find("Connection: close"), std::string::npos) << raw;
}

TEST_F(HostileInputTest, ChunkedBodiesWithinTheLimitAreAccepted) {
  const std::string body = R"({"data":{"v":"chunked"}})";
  const std::string raw = server_->Raw(
      "PUT /v1/subjects/chunky/records/account/r1 HTTP/1.1\r\nHost: x\r\n"
      "Authorization: Bearer " +
      admin_ +
      "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
      "Connection: close\r\n\r\n"
      "5\r\n" +
      body.substr(0, 5) + "\r\n" + "13\r\n" + body.substr(5) + "\r\n0\r\n\r\n");
  EXPECT_EQ(raw.rfind("HTTP/1.1 201", 0), 0u) << raw;
  const HttpResult r = server_->Call("GET", "/v1/subjects/chunky/records/account/r1", admin_);
  EXPECT_EQ(r.Json()["data"], json({{"v", "chunked"}})) << r.body;
}

TEST_F(HostileInputTest, PostWithoutContentLengthHasAnEmptyBody) {
  // RFC 9112: no Content-Length and no Transfer-Encoding means no body; the server must not
  // wait for one until the read timeout.
  const auto start = std::chrono::steady_clock::now();
  const std::string raw = server_->Raw(
      "POST /v1/admin/sweep HTTP/1.1\r\nHost: x\r\n"
      "Authorization: Bearer " +
      admin_ + "\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(raw.rfind("HTTP/1.1 200", 0), 0u) << raw;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  const std::string put = server_->Raw("PUT " + kCanary +
                                       " HTTP/1.1\r\nHost: x\r\n"
                                       "Authorization: Bearer " +
                                       admin_ +
                                       "\r\nContent-Type: application/json\r\n"
                                       "Connection: close\r\n\r\n");
  EXPECT_EQ(put.rfind("HTTP/1.1 400", 0), 0u) << put;
}

TEST_F(HostileInputTest, UnknownCategoryIs422) {
  const std::string body = R"({"data":{"v":2}})";
  ExpectRefused(server_->Call("PUT", "/v1/subjects/cat-subject/records/nosuch/r1", admin_, body),
                422, "PUT unknown category");
  ExpectRefused(server_->Call("GET", "/v1/subjects/canary/records/nosuch/r1", admin_), 422,
                "GET unknown category");
  ExpectRefused(server_->Call("GET", "/v1/subjects/canary/records/nosuch", admin_), 422,
                "list unknown category");
  EXPECT_TRUE(IsProblem(server_->Call("GET", "/v1/subjects/cat-subject", admin_), 404));
}

TEST_F(HostileInputTest, BadCredentialsAndRoles) {
  const std::string body = R"({"data":{"v":2}})";
  for (const std::string& token :
       std::vector<std::string>{"nope", "vault_0000", std::string(600, 'A'), kMarker}) {
    const HttpResult r = server_->Call("PUT", kCanary, token, body);
    ExpectRefused(r, 401, "token");
    EXPECT_NE(r.headers.find("WWW-Authenticate"), r.headers.end());
  }
  ExpectRefused(server_->Call("PUT", kCanary, "", body), 401, "no token");
  {
    httplib::Client client("127.0.0.1", server_->port());
    auto res = client.Get(kCanary.c_str(), {{"Authorization", "Basic YWRtaW46YWRtaW4="}});
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401);
  }
  ExpectRefused(server_->Call("PUT", kCanary, auditor_, body), 403, "auditor writes");
  ExpectRefused(server_->Call("GET", kCanary, auditor_), 403, "auditor reads");
}

TEST_F(HostileInputTest, UnknownRoutesAndMethods) {
  ExpectRefused(server_->Call("GET", "/v1/nope", admin_), 404, "unknown route");
  ExpectRefused(server_->Call("GET", "/v1/subjects", admin_), 404, "no sid");
  ExpectRefused(server_->Call("POST", "/v1/subjects/canary/export", admin_), 405, "export is GET");
  ExpectRefused(server_->Call("GET", "/", ""), 404, "root");
  const HttpResult r = server_->Call("PATCH", kCanary, admin_, std::string("{}"));
  ExpectRefused(r, 405, "PATCH record");
  ASSERT_NE(r.headers.find("Allow"), r.headers.end());
  EXPECT_NE(r.headers.find("Allow")->second.find("PUT"), std::string::npos);
  EXPECT_NE(r.headers.find("Allow")->second.find("HEAD"), std::string::npos);  // served with GET
  ExpectRefused(server_->Call("POST", "/healthz", "", std::string("{}")), 405, "POST healthz");
  ExpectRefused(server_->Call("DELETE", "/v1/policy", admin_), 405, "DELETE policy");
  const std::string raw =
      server_->Raw("BREW /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(raw.rfind("HTTP/1.1 4", 0), 0u) << raw;
}

// Runs `lethe args...` with stderr captured, for at most `limit`; a process still running then
// is killed and reported with exit code -2.
CliResult RunVaultFor(const std::vector<std::string>& args, std::chrono::seconds limit) {
  TempDir io;
  const std::string err_path = io.Join("err");
  std::vector<std::string> store = {VAULT_BINARY};
  store.insert(store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : store) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, VAULT_BINARY, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  CliResult out;
  if (rc != 0) return out;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int wstatus = 0;
  while (waitpid(pid, &wstatus, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &wstatus, 0);
      out.exit_code = -2;
      out.err = ReadFile(err_path);
      return out;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  out.exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
  out.err = ReadFile(err_path);
  return out;
}

// Issue 14: cpp-httplib set SO_REUSEPORT, so a second server on a taken port started and the
// kernel split the traffic between two stores.
TEST_F(HostileInputTest, DuplicateKeysAndNulBytesInJsonAre400) {
  // nlohmann keeps the last of repeated keys and stops at a NUL: both used to be stored.
  const std::vector<std::string> bodies = {
      R"({"data":{"v":1},"data":{"v":9}})",
      R"({"data":{"v":1,"v":9}})",
      std::string("{\"data\":{\"v\":7}}\0{\"evil\":1}", 27),
  };
  for (const std::string& body : bodies) {
    const HttpResult r = server_->Call("PUT", kCanary, admin_, body);
    ExpectRefused(r, 400, "strict JSON");
  }
}

// The smuggled request would overwrite the canary; TearDown checks that it did not.
std::string SmuggledPut(const std::string& token) {
  const std::string body = R"({"data":{"v":666}})";
  return "PUT " + kCanary + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

TEST_F(HostileInputTest, AmbiguousFramingIs400AndClosesTheConnection) {
  const std::string smuggled = SmuggledPut(admin_);
  const std::string head =
      "POST /v1/admin/sweep HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + admin_ + "\r\n";
  const std::vector<std::string> framings = {
      "Content-Length: 0\r\nContent-Length: 0\r\n",  // duplicate (first used to win)
      "Content-Length: +0\r\n",
      "Content-Length: 0abc\r\n",
      "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n",
  };
  for (const std::string& framing : framings) {
    const RawRead r = Exchange(server_->port(), head + framing + "\r\n" + smuggled);
    EXPECT_EQ(r.text.rfind("HTTP/1.1 400", 0), 0u) << framing << r.text;
    EXPECT_EQ(CountResponses(r.text), 1) << framing << r.text;
    EXPECT_TRUE(r.closed) << framing;
  }
}

TEST_F(HostileInputTest, UnknownTransferCodingIsRefusedAndClosesTheConnection) {
  // Read as "no body", the smuggled PUT would run as a second request.
  const RawRead r = Exchange(
      server_->port(), "POST /v1/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + admin_ +
                           "\r\nTransfer-Encoding: gzip\r\n\r\n" + SmuggledPut(admin_));
  EXPECT_EQ(r.text.rfind("HTTP/1.1 501", 0), 0u) << r.text;
  EXPECT_EQ(CountResponses(r.text), 1) << r.text;
  EXPECT_TRUE(r.closed);
}

TEST_F(HostileInputTest, GetWithABodyIsRefusedAndTheBodyNeverRuns) {
  for (const std::string method : {"GET", "HEAD", "OPTIONS"}) {
    const std::string smuggled = SmuggledPut(admin_);
    const RawRead r =
        Exchange(server_->port(), method + " /healthz HTTP/1.1\r\nHost: x\r\n" +
                                      "Content-Length: " + std::to_string(smuggled.size()) +
                                      "\r\n\r\n" + smuggled);
    EXPECT_EQ(r.text.rfind("HTTP/1.1 400", 0), 0u) << method << r.text;
    EXPECT_EQ(CountResponses(r.text), 1) << method << r.text;
    EXPECT_TRUE(r.closed) << method;
  }
}

TEST_F(HostileInputTest, OverLimitContentLengthIs413AtOnceAndCloses) {
  // The body is never sent: the answer must not wait for it (nor for a read timeout).
  const RawRead r =
      Exchange(server_->port(), "PUT " + kCanary +
                                    " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + admin_ +
                                    "\r\nContent-Type: application/json\r\n"
                                    "Content-Length: 10000000\r\n\r\n{\"data\":");
  EXPECT_EQ(r.text.rfind("HTTP/1.1 413", 0), 0u) << r.text;
  EXPECT_TRUE(r.closed);
  EXPECT_LT(r.elapsed, milliseconds(3000));
}

TEST_F(HostileInputTest, PipelinedRequestsAreAnsweredInOrder) {
  const std::string auth = "Authorization: Bearer " + admin_ + "\r\n";
  const RawRead r = Exchange(server_->port(),
                             "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                             "GET /v1/subjects/nobody HTTP/1.1\r\nHost: x\r\n" +
                                 auth + "\r\n" + "GET " + kCanary + " HTTP/1.1\r\nHost: x\r\n" +
                                 auth + "Connection: close\r\n\r\n");
  ASSERT_EQ(CountResponses(r.text), 3) << r.text;
  const std::size_t first = r.text.find("HTTP/1.1 200");
  const std::size_t second = r.text.find("HTTP/1.1 404");
  const std::size_t third = r.text.find("HTTP/1.1 200", first + 1);
  EXPECT_EQ(first, 0u);
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
  EXPECT_NE(third, std::string::npos);
  EXPECT_TRUE(r.closed);
  EXPECT_LT(r.elapsed, milliseconds(3000));
}

// --- The HTTP edge under slow, idle and oversized clients (one server per test) --------------

class HttpEdgeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RaiseFileLimit();
    server_ = ServerProcess::Start({});
  }
  void TearDown() override {
    for (int fd : fds_) close(fd);
    EXPECT_EQ(server_->Call("GET", "/healthz", "").status, 200) << "the server survived";
  }
  std::unique_ptr<ServerProcess> server_;
  std::vector<int> fds_;
};

TEST_F(HttpEdgeTest, SlowHeadersNeitherStarveOthersNorOutliveTheRequestDeadline) {
  // 64 clients each send one header line a second and never finish (one worker each used
  // to be held for as long as they kept sending).
  constexpr int kSlow = 64;
  for (int i = 0; i < kSlow; ++i) {
    const int fd = ConnectLoopback(server_->port());
    ASSERT_GE(fd, 0);
    SendAll(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n");
    fds_.push_back(fd);
  }
  const auto start = Clock::now();
  int second = 0;
  while (Clock::now() - start < std::chrono::seconds(14)) {
    for (int fd : fds_) send(fd, "X-Slow: y\r\n", 11, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (++second == 2) {
      for (int i = 0; i < 5; ++i) {
        const long ms = FreshHealthzMs(*server_);
        EXPECT_GT(ms, 0) << "fresh client " << i << " got no answer";
        EXPECT_LT(ms, 2000) << "fresh client " << i;  // generous: the target is in the bench
      }
    }
    std::this_thread::sleep_for(milliseconds(1000));
  }
  // The request deadline (10 s for head and body, not per read) has closed every one.
  int closed = 0;
  for (int fd : fds_) closed += ReadUntilClose(fd, milliseconds(200)).closed ? 1 : 0;
  EXPECT_EQ(closed, kSlow);
}

TEST_F(HttpEdgeTest, IdleKeepAlivePoolsDoNotStarveFreshClients) {
  // An application's pools: connections that made a request and stay open.
  constexpr int kIdle = 400;
  for (int i = 0; i < kIdle; ++i) {
    const int fd = ConnectLoopback(server_->port());
    ASSERT_GE(fd, 0) << i;
    SendAll(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    fds_.push_back(fd);
  }
  for (int i = 0; i < 10; ++i) {
    const long ms = FreshHealthzMs(*server_);
    EXPECT_GT(ms, 0) << "fresh client " << i << " got no answer";
    EXPECT_LT(ms, 2000) << "fresh client " << i;  // generous: the target is in the bench
  }
  // Every pooled connection got its answer and is still open.
  int answered = 0, open = 0;
  for (int fd : fds_) {
    const RawRead r = ReadUntilClose(fd, milliseconds(20));
    answered += r.text.rfind("HTTP/1.1 200", 0) == 0 ? 1 : 0;
    open += r.closed ? 0 : 1;
  }
  EXPECT_EQ(answered, kIdle);
  EXPECT_EQ(open, kIdle);
}

TEST_F(HttpEdgeTest, HeaderBombIs431WithBoundedMemory) {
  const long before = RssKib(server_->pid());
  ASSERT_GT(before, 0);
  const int fd = ConnectLoopback(server_->port());
  ASSERT_GE(fd, 0);
  fds_.push_back(fd);
  SendAll(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n");
  // Up to 30,000 lines of 8 KiB (240 MB), until the server answers or closes.
  const std::string line = "X-Bomb: " + std::string(8182, 'b') + "\r\n";
  std::string answer;
  long peak = before;
  for (int i = 0; i < 30000 && answer.empty(); ++i) {
    pollfd p{fd, POLLIN | POLLOUT, 0};
    if (poll(&p, 1, 5000) <= 0) break;
    if (p.revents & POLLIN) {
      answer = ReadUntilClose(fd, milliseconds(2000)).text;
      break;
    }
    if (!SendAll(fd, line)) break;
    if (i % 1000 == 0) peak = std::max(peak, RssKib(server_->pid()));
  }
  if (answer.empty()) answer = ReadUntilClose(fd, milliseconds(2000)).text;
  peak = std::max(peak, RssKib(server_->pid()));
  EXPECT_EQ(answer.rfind("HTTP/1.1 431", 0), 0u) << answer.substr(0, 200);
  EXPECT_LT(peak - before, 32 * 1024) << "RSS grew from " << before << " KiB to " << peak;
}

TEST(ServeListenTest, ASecondServerOnATakenPortExits1NamingTheAddress) {
  std::unique_ptr<ServerProcess> first = ServerProcess::Start({});
  TempDir dir;
  const std::string data = dir.Join("data");
  ASSERT_EQ(RunVault({"init", "--data-dir", data, "--json"}).exit_code, 0);
  const std::string address = "127.0.0.1:" + std::to_string(first->port());
  const CliResult second =
      RunVaultFor({"serve", "--data-dir", data, "--listen", address, "--sweep-interval", "0"},
                  std::chrono::seconds(10));
  EXPECT_EQ(second.exit_code, 1) << "-2: the second server kept serving; stderr: " << second.err;
  EXPECT_NE(second.err.find(address), std::string::npos) << second.err;
  // Every request still reaches the first server's store.
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(first->Call("GET", "/v1/policy", first->admin_token()).status, 200) << i;
  }
}

}  // namespace
}  // namespace vault::e2e
