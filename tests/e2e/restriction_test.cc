// End-to-end: restriction of processing (GDPR Art. 18) over HTTP: who may place and lift it,
// 423 for app reads and writes, dpo/admin reads audited as reads of a restricted subject, the
// summary, and lifting.
#include <gtest/gtest.h>

#include <string>

#include "harness.h"

namespace vault::e2e {
namespace {

class RestrictionTest : public ::testing::Test {
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
  static HttpResult Call(const std::string& method, const std::string& path,
                         const std::string& token,
                         const std::optional<std::string>& body = std::nullopt) {
    return server_->Call(method, path, token, body);
  }
  static HttpResult Restrict(const std::string& sid, const std::string& token, const json& body) {
    return server_->CallJson("PUT", "/v1/subjects/" + sid + "/restriction", token, body);
  }
  static std::string Record(const std::string& sid) {
    return "/v1/subjects/" + sid + "/records/account/profile";
  }
  static void PutProfile(const std::string& sid) {
    ASSERT_EQ(server_->CallJson("PUT", Record(sid), app_, {{"data", {{"name", "A"}}}}).status, 201);
  }
  // The audit entries' "action:outcome", newest last.
  static std::vector<std::string> AuditActions() {
    std::vector<std::string> out;
    std::uint64_t after = 0;
    for (;;) {
      const HttpResult r =
          Call("GET", "/v1/audit?limit=100&after=" + std::to_string(after), auditor_);
      EXPECT_EQ(r.status, 200) << r.body;
      const json entries = r.Json()["entries"];
      if (r.status != 200 || entries.empty()) return out;
      for (const json& e : entries) {
        out.push_back(e["action"].get<std::string>() + ":" + e["outcome"].get<std::string>());
        after = e["seq"].get<std::uint64_t>();
      }
    }
  }
  static bool Has(const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  }

  static ServerProcess* server_;
  static std::string admin_, dpo_, auditor_, app_;
};

ServerProcess* RestrictionTest::server_ = nullptr;
std::string RestrictionTest::admin_, RestrictionTest::dpo_, RestrictionTest::auditor_,
    RestrictionTest::app_;

TEST_F(RestrictionTest, AppsGet423DpoAndAdminReadAndAreAudited) {
  const std::string sid = "restricted-1";
  PutProfile(sid);
  EXPECT_TRUE(IsProblem(Restrict(sid, app_, {{"reason", "x"}}), 403));
  EXPECT_TRUE(IsProblem(Restrict(sid, auditor_, {{"reason", "x"}}), 403));
  HttpResult r = Restrict(sid, dpo_, {{"reason", "the subject contests the accuracy"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["restricted"], true);
  EXPECT_TRUE(r.Json()["since"].is_string());
  EXPECT_EQ(r.Json()["reason"], "the subject contests the accuracy");

  r = Call("GET", Record(sid), app_);
  ASSERT_TRUE(IsProblem(r, 423));
  EXPECT_EQ(r.Json()["type"], "/problems/restricted");
  EXPECT_TRUE(IsProblem(server_->CallJson("PUT", Record(sid), app_, {{"data", {{"n", 1}}}}), 423));
  EXPECT_TRUE(IsProblem(Call("GET", "/v1/subjects/" + sid + "/records/account", app_), 423));
  EXPECT_TRUE(IsProblem(Call("DELETE", Record(sid), app_), 423));
  EXPECT_EQ(Call("GET", Record(sid), dpo_).status, 200);
  EXPECT_EQ(Call("GET", Record(sid), admin_).status, 200);
  const std::vector<std::string> actions = AuditActions();
  EXPECT_TRUE(Has(actions, "restriction.place:ok")) << ::testing::PrintToString(actions);
  EXPECT_TRUE(Has(actions, "record.get:restricted"));
  EXPECT_TRUE(Has(actions, "record.get.restricted:ok"));

  // The summary: restricted for everyone, since and reason for dpo and admin only.
  json sum = Call("GET", "/v1/subjects/" + sid, dpo_).Json();
  EXPECT_EQ(sum["restricted"], true);
  EXPECT_EQ(sum["restriction"]["reason"], "the subject contests the accuracy");
  EXPECT_TRUE(sum["restriction"]["since"].is_string());
  sum = Call("GET", "/v1/subjects/" + sid, app_).Json();
  EXPECT_EQ(sum["restricted"], true);
  EXPECT_FALSE(sum.contains("restriction"));
  r = Call("GET", "/v1/subjects/" + sid + "/restriction", dpo_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["restricted"], true);
  EXPECT_TRUE(IsProblem(Call("GET", "/v1/subjects/" + sid + "/restriction", app_), 403));
}

TEST_F(RestrictionTest, LiftingIsForDpoAndAdminAndIsAudited) {
  const std::string sid = "restricted-2";
  PutProfile(sid);
  ASSERT_EQ(Restrict(sid, admin_, {{"reason", "objection pending"}}).status, 200);
  const std::string path = "/v1/subjects/" + sid + "/restriction";
  EXPECT_TRUE(IsProblem(Call("DELETE", path, app_), 403));
  EXPECT_TRUE(IsProblem(Call("DELETE", path, auditor_), 403));
  HttpResult r = Call("DELETE", path, dpo_);
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(Call("GET", Record(sid), app_).status, 200);
  EXPECT_EQ(Call("GET", "/v1/subjects/" + sid, dpo_).Json()["restricted"], false);
  EXPECT_TRUE(IsProblem(Call("DELETE", path, dpo_), 404));
  EXPECT_TRUE(Has(AuditActions(), "restriction.lift:ok"));
}

TEST_F(RestrictionTest, BadRequestsAreRefused) {
  const std::string sid = "restricted-3";
  PutProfile(sid);
  EXPECT_TRUE(IsProblem(Restrict(sid, dpo_, json::object()), 400));
  EXPECT_TRUE(IsProblem(Restrict(sid, dpo_, {{"reason", ""}}), 400));
  EXPECT_TRUE(IsProblem(Restrict(sid, dpo_, {{"reason", std::string(1025, 'r')}}), 400));
  EXPECT_TRUE(IsProblem(Restrict(sid, dpo_, {{"reason", "x"}, {"until", "never"}}), 400));
  EXPECT_TRUE(IsProblem(Restrict("nobody-3", dpo_, {{"reason", "x"}}), 404));
  EXPECT_EQ(Call("GET", Record(sid), app_).status, 200);
}

}  // namespace
}  // namespace vault::e2e
