// End-to-end: the data-subject request log over HTTP: logging, the statutory due date and its
// extension (GDPR Art. 12(3)), closing, requests the vault closes itself (erasure, export,
// restriction, objection), the compliance report's overdue figures and the CLI's exit code,
// roles, and bad requests that change nothing.
#include <gtest/gtest.h>

#include <string>

#include "harness.h"
#include "vault/clock.h"

namespace vault::e2e {
namespace {

constexpr std::int64_t kDay = 86400;

class RequestsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = ServerProcess::Start({}).release();
    admin_ = server_->admin_token();
    dpo_ = server_->CreateToken("dpo", {});
    auditor_ = server_->CreateToken("auditor", {});
    app_ = server_->CreateToken("app", {"service"});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static void PutProfile(const std::string& sid) {
    const HttpResult r = server_->CallJson("PUT", "/v1/subjects/" + sid + "/records/account/p",
                                           app_, {{"data", {{"name", "A"}}}});
    ASSERT_EQ(r.status, 201) << r.body;
  }
  static HttpResult Log(const std::string& sid, const std::string& kind,
                        std::optional<std::int64_t> days_ago = std::nullopt,
                        const std::string& token = dpo_) {
    json body = {{"subject_id", sid}, {"kind", kind}};
    if (days_ago) body["received_at"] = FormatRfc3339(Now() - *days_ago * kDay);
    return server_->CallJson("POST", "/v1/requests", token, body);
  }
  static std::int64_t Now() { return static_cast<std::int64_t>(::time(nullptr)); }
  static std::int64_t Time(const json& j) { return *ParseRfc3339(j.get<std::string>()); }
  static json Get(const std::string& rid) {
    const HttpResult r = server_->Call("GET", "/v1/requests/" + rid, dpo_);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json();
  }
  static HttpResult Post(const std::string& path, const json& body,
                         const std::string& token = dpo_) {
    return server_->CallJson("POST", path, token, body);
  }
  static ServerProcess* server_;
  static std::string admin_, dpo_, auditor_, app_;
};

ServerProcess* RequestsTest::server_ = nullptr;
std::string RequestsTest::admin_, RequestsTest::dpo_, RequestsTest::auditor_, RequestsTest::app_;

TEST_F(RequestsTest, DueOneMonthAfterReceiptExtendedOnceToThreeAndClosed) {
  PutProfile("req-1");
  HttpResult r = Log("req-1", "rectification", 10);
  ASSERT_EQ(r.status, 201) << r.body;
  json q = r.Json();
  const std::string rid = q["request_id"];
  EXPECT_EQ(q["subject_id"], "req-1");
  EXPECT_EQ(q["state"], "received");
  EXPECT_EQ(q["overdue"], false);
  const std::int64_t received = Time(q["received_at"]);
  const Duration month{1, Duration::Unit::kMonths}, three{3, Duration::Unit::kMonths};
  EXPECT_EQ(Time(q["due_at"]), month.AddTo(received));

  r = Post("/v1/requests/" + rid + "/extension", {{"reason", "many records across systems"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["state"], "extended");
  EXPECT_EQ(Time(r.Json()["due_at"]), three.AddTo(received));
  EXPECT_EQ(r.Json()["extension_reason"], "many records across systems");
  EXPECT_TRUE(IsProblem(Post("/v1/requests/" + rid + "/extension", {{"reason", "again"}}), 409));

  r = Post("/v1/requests/" + rid + "/closure", {{"state", "done"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["state"], "done");
  EXPECT_TRUE(r.Json()["closed_at"].is_string());
  EXPECT_TRUE(IsProblem(Post("/v1/requests/" + rid + "/closure", {{"state", "done"}}), 409));

  // Refusal needs a reason (Art. 12(4): the subject is told why).
  const std::string rid2 = Log("req-1", "access").Json()["request_id"];
  EXPECT_TRUE(IsProblem(Post("/v1/requests/" + rid2 + "/closure", {{"state", "refused"}}), 400));
  EXPECT_EQ(Get(rid2)["state"], "received");
  r = Post("/v1/requests/" + rid2 + "/closure",
           {{"state", "refused"}, {"reason", "manifestly unfounded"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["close_reason"], "manifestly unfounded");
}

TEST_F(RequestsTest, AnExtensionAfterTheFirstMonthIsRefused) {
  PutProfile("req-2");
  const std::string rid = Log("req-2", "access", 40).Json()["request_id"];
  EXPECT_EQ(Get(rid)["overdue"], true);
  EXPECT_TRUE(IsProblem(Post("/v1/requests/" + rid + "/extension", {{"reason", "late"}}), 409));
  EXPECT_EQ(Get(rid)["state"], "received");
  ASSERT_EQ(Post("/v1/requests/" + rid + "/closure", {{"state", "done"}}).status, 200);
  EXPECT_EQ(Get(rid)["overdue"], false);
}

TEST_F(RequestsTest, TheVaultClosesWhatItCarriesOut) {
  PutProfile("req-3");
  const std::string access = Log("req-3", "access").Json()["request_id"];
  const std::string portability = Log("req-3", "portability").Json()["request_id"];
  const std::string restriction = Log("req-3", "restriction").Json()["request_id"];
  const std::string objection = Log("req-3", "objection").Json()["request_id"];
  const std::string erasure = Log("req-3", "erasure").Json()["request_id"];
  const std::string rectification = Log("req-3", "rectification").Json()["request_id"];

  ASSERT_EQ(server_->Call("GET", "/v1/subjects/req-3/export?format=json", dpo_).status, 200);
  ASSERT_EQ(server_
                ->CallJson("PUT", "/v1/subjects/req-3/restriction", dpo_,
                           {{"reason", "accuracy contested"}})
                .status,
            200);
  ASSERT_EQ(server_
                ->CallJson("PUT", "/v1/subjects/req-3/objections/analytics", dpo_,
                           {{"reason", "objects"}})
                .status,
            200);
  // The closures are queued writes: the next write's commit follows them.
  ASSERT_EQ(Log("req-3", "access").status, 201);
  for (const auto& [rid, by] :
       std::vector<std::pair<std::string, std::string>>{{access, "export"},
                                                        {portability, "export"},
                                                        {restriction, "restriction"},
                                                        {objection, "objection"}}) {
    const json q = Get(rid);
    EXPECT_EQ(q["state"], "done") << q.dump();
    EXPECT_EQ(q["closed_by"], by);
  }
  EXPECT_EQ(Get(erasure)["state"], "received");
  EXPECT_EQ(Get(rectification)["state"], "received");

  HttpResult r = server_->CallJson("POST", "/v1/subjects/req-3/erasure", dpo_,
                                   {{"mode", "immediate"}, {"reason", "request"}});
  ASSERT_EQ(r.status, 200) << r.body;
  json q = Get(erasure);
  EXPECT_EQ(q["state"], "done");
  EXPECT_EQ(q["closed_by"], "erasure");
  // The erased subject's id is gone from every request of it.
  EXPECT_TRUE(q["subject_id"].is_null()) << q.dump();
  EXPECT_TRUE(Get(rectification)["subject_id"].is_null());
  EXPECT_EQ(Get(rectification)["state"], "received");
  // No new request about an erased subject.
  EXPECT_TRUE(IsProblem(Log("req-3", "access"), 410));
}

TEST_F(RequestsTest, TheReportFlagsAndCountsOverdueRequests) {
  auto server = ServerProcess::Start({});
  const std::string admin = server->admin_token();
  const std::string app = server->CreateToken("app", {"service"});
  ASSERT_EQ(
      server->CallJson("PUT", "/v1/subjects/late-1/records/account/p", app, {{"data", {{"x", 1}}}})
          .status,
      201);
  CliResult cli = RunVaultOn(*server, {"report", "--data-dir", server->data_dir(), "--json"});
  EXPECT_EQ(cli.exit_code, 0) << cli.out << cli.err;
  json body = {{"subject_id", "late-1"}, {"kind", "access"}};
  body["received_at"] = FormatRfc3339(Now() - 20 * kDay);
  HttpResult r = server->CallJson("POST", "/v1/requests", admin, body);
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string rid = r.Json()["request_id"];
  body["received_at"] = FormatRfc3339(Now() - 45 * kDay);
  r = server->CallJson("POST", "/v1/requests", admin, body);
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string late = r.Json()["request_id"];

  r = server->Call("GET", "/v1/admin/report", admin);
  ASSERT_EQ(r.status, 200) << r.body;
  json report = r.Json();
  EXPECT_EQ(report["overdue"], true);
  EXPECT_EQ(report["pending"]["requests"]["pending"], 2);
  EXPECT_EQ(report["pending"]["requests"]["overdue"], 1);
  EXPECT_EQ(report["pending"]["requests"]["overdue_ids"], json::array({late}));
  const HttpResult metrics = server->Call("GET", "/metrics", "");
  EXPECT_NE(metrics.body.find("\nlethe_report_pending_overdue{queue=\"requests\"} 1\n"),
            std::string::npos);
  cli = RunVaultOn(*server, {"report", "--data-dir", server->data_dir()});
  EXPECT_EQ(cli.exit_code, 4) << cli.out << cli.err;
  EXPECT_NE(cli.out.find(late + "  OVERDUE"), std::string::npos) << cli.out;
  // Fifteen days on, the other one is past its month too (--at moves the report's clock).
  cli = RunVaultOn(*server, {"report", "--data-dir", server->data_dir(), "--json", "--at",
                             FormatRfc3339(Now() + 15 * kDay)});
  EXPECT_EQ(json::parse(cli.out, nullptr, false)["pending"]["requests"]["overdue"], 2) << cli.out;

  ASSERT_EQ(
      server->CallJson("POST", "/v1/requests/" + late + "/closure", admin, {{"state", "done"}})
          .status,
      200);
  cli = RunVaultOn(*server, {"report", "--data-dir", server->data_dir()});
  EXPECT_EQ(cli.exit_code, 0) << cli.out << cli.err;
  r = server->Call("GET", "/v1/requests?open=true", admin);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.Json()["requests"].size(), 1u);
  EXPECT_EQ(r.Json()["requests"][0]["request_id"], rid);
  EXPECT_EQ(server->Call("GET", "/v1/requests", admin).Json()["requests"].size(), 2u);
}

TEST_F(RequestsTest, RolesAndBadRequestsChangeNothing) {
  PutProfile("req-5");
  const std::string rid = Log("req-5", "erasure").Json()["request_id"];
  for (const std::string* t : {&app_, &auditor_}) {
    EXPECT_TRUE(IsProblem(Log("req-5", "access", std::nullopt, *t), 403));
    EXPECT_TRUE(IsProblem(server_->Call("GET", "/v1/requests", *t), 403));
    EXPECT_TRUE(IsProblem(server_->Call("GET", "/v1/requests/" + rid, *t), 403));
    EXPECT_TRUE(IsProblem(Post("/v1/requests/" + rid + "/extension", {{"reason", "x"}}, *t), 403));
    EXPECT_TRUE(IsProblem(Post("/v1/requests/" + rid + "/closure", {{"state", "done"}}, *t), 403));
  }
  EXPECT_EQ(Log("req-5", "access", std::nullopt, admin_).status, 201);
  const std::size_t before = server_->Call("GET", "/v1/requests", dpo_).Json()["requests"].size();
  EXPECT_TRUE(IsProblem(Log("req-5", "complaint"), 400));
  EXPECT_TRUE(IsProblem(Log("req-5", "access", -2), 400));  // received in the future
  EXPECT_TRUE(IsProblem(Log("no-such-subject", "access"), 404));
  EXPECT_TRUE(IsProblem(Log("bad/id", "access"), 400));
  EXPECT_TRUE(IsProblem(Post("/v1/requests", {{"kind", "access"}}), 400));
  EXPECT_TRUE(
      IsProblem(Post("/v1/requests",
                     {{"subject_id", "req-5"}, {"kind", "access"}, {"received_at", "yesterday"}}),
                400));
  EXPECT_TRUE(IsProblem(
      Post("/v1/requests", {{"subject_id", "req-5"}, {"kind", "access"}, {"email", "x@y"}}), 400));
  EXPECT_TRUE(IsProblem(server_->Call("POST", "/v1/requests", dpo_, "{not json"), 400));
  EXPECT_EQ(server_->Call("GET", "/v1/requests", dpo_).Json()["requests"].size(), before);

  EXPECT_TRUE(IsProblem(Post("/v1/requests/" + rid + "/extension", json::object()), 400));
  EXPECT_TRUE(IsProblem(Post("/v1/requests/" + rid + "/extension", {{"reason", ""}}), 400));
  EXPECT_TRUE(IsProblem(Post("/v1/requests/" + rid + "/closure", {{"state", "maybe"}}), 400));
  EXPECT_TRUE(IsProblem(Post("/v1/requests/" + rid + "/closure",
                             {{"state", "done"}, {"reason", std::string(1025, 'r')}}),
                        400));
  EXPECT_EQ(Get(rid)["state"], "received");
  EXPECT_TRUE(IsProblem(server_->Call("GET", "/v1/requests/0123", dpo_), 404));
  EXPECT_TRUE(IsProblem(server_->Call("GET", "/v1/requests/" + std::string(32, 'a'), dpo_), 404));
  EXPECT_TRUE(IsProblem(
      Post("/v1/requests/" + std::string(32, 'b') + "/closure", {{"state", "done"}}), 404));
  EXPECT_TRUE(IsProblem(server_->Call("GET", "/v1/requests?open=maybe", dpo_), 400));
}

}  // namespace
}  // namespace vault::e2e
