// End-to-end: hostile input gets a problem+json with the right status, changes nothing,
// and leaves the server up.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

extern char** environ;

namespace vault::e2e {
namespace {

constexpr const char* kMarker = "SECRET-VALUE-4711";
const std::string kCanary = "/v1/subjects/canary/records/account/c1";

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
  // Chunked bodies are refused before they are read.
  const std::string raw =
      server_->Raw("PUT " + kCanary + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + admin_ +
                   "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                   "Connection: close\r\n\r\n"
                   "10\r\n{\"data\":{\"v\":3}}\r\n0\r\n\r\n");
  EXPECT_EQ(raw.rfind("HTTP/1.1 411", 0), 0u) << raw;
  EXPECT_NE(raw.find("application/problem+json"), std::string::npos) << raw;
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
  ExpectRefused(server_->Call("GET", "/v1/subjects/canary/export", admin_), 404, "later issue");
  ExpectRefused(server_->Call("GET", "/", ""), 404, "root");
  const HttpResult r = server_->Call("PATCH", kCanary, admin_, std::string("{}"));
  ExpectRefused(r, 405, "PATCH record");
  ASSERT_NE(r.headers.find("Allow"), r.headers.end());
  EXPECT_NE(r.headers.find("Allow")->second.find("PUT"), std::string::npos);
  ExpectRefused(server_->Call("POST", "/healthz", "", std::string("{}")), 405, "POST healthz");
  ExpectRefused(server_->Call("DELETE", "/v1/policy", admin_), 405, "DELETE policy");
  const std::string raw =
      server_->Raw("BREW /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(raw.rfind("HTTP/1.1 4", 0), 0u) << raw;
}

// Runs `vault args...` with stderr captured, for at most `limit`; a process still running then
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
TEST(ServeListenTest, ASecondServerOnATakenPortExits1NamingTheAddress) {
  std::unique_ptr<ServerProcess> first = ServerProcess::Start({});
  TempDir dir;
  const std::string data = dir.Join("data");
  ASSERT_EQ(RunVault({"init", "--data-dir", data, "--json"}).exit_code, 0);
  const std::string address = "127.0.0.1:" + std::to_string(first->port());
  const CliResult second = RunVaultFor(
      {"serve", "--data-dir", data, "--listen", address, "--sweep-interval", "0"},
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
