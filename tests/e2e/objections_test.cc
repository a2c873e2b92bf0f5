// End-to-end: objection to processing for one purpose (GDPR Art. 21) over HTTP: who may
// object and lift, 423 for app tokens of that purpose (reads, writes, deletes, lookup) while
// other purposes continue, the summary and export, the audit, erasure, and bad requests.
#include <gtest/gtest.h>

#include <string>

#include "harness.h"

namespace vault::e2e {
namespace {

class ObjectionsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = ServerProcess::Start({}).release();
    admin_ = server_->admin_token();
    dpo_ = server_->CreateToken("dpo", {});
    auditor_ = server_->CreateToken("auditor", {});
    analytics_ = server_->CreateToken("app", {"analytics"});
    service_ = server_->CreateToken("app", {"service"});
    support_ = server_->CreateToken("app", {"support"});
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
  static std::string Objection(const std::string& sid, const std::string& purpose) {
    return "/v1/subjects/" + sid + "/objections/" + purpose;
  }
  static HttpResult Object(const std::string& sid, const std::string& purpose,
                           const std::string& token, const json& body) {
    return server_->CallJson("PUT", Objection(sid, purpose), token, body);
  }
  static std::string Usage(const std::string& sid) {
    return "/v1/subjects/" + sid + "/records/usage/u1";
  }
  static void PutUsage(const std::string& sid) {
    const HttpResult r = server_->CallJson("PUT", Usage(sid), service_, {{"data", {{"n", 1}}}});
    ASSERT_EQ(r.status, 201) << r.body;
  }
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
        out.push_back(e["action"].get<std::string>() + ":" + e["outcome"].get<std::string>() + ":" +
                      e.value("category", ""));
        after = e["seq"].get<std::uint64_t>();
      }
    }
  }
  static bool Has(const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  }

  static ServerProcess* server_;
  static std::string admin_, dpo_, auditor_, analytics_, service_, support_;
};

ServerProcess* ObjectionsTest::server_ = nullptr;
std::string ObjectionsTest::admin_, ObjectionsTest::dpo_, ObjectionsTest::auditor_,
    ObjectionsTest::analytics_, ObjectionsTest::service_, ObjectionsTest::support_;

// The built-in policy's usage category serves [analytics, service].
TEST_F(ObjectionsTest, OnlyTheObjectedPurposeIsRefused) {
  const std::string sid = "objects-1";
  PutUsage(sid);
  ASSERT_EQ(Call("GET", Usage(sid), analytics_).status, 200);
  HttpResult r = Object(sid, "analytics", dpo_, {{"reason", "objects to profiling"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["purpose"], "analytics");
  EXPECT_EQ(r.Json()["reason"], "objects to profiling");
  const std::string since = r.Json()["since"];

  r = Call("GET", Usage(sid), analytics_);
  ASSERT_TRUE(IsProblem(r, 423));
  EXPECT_EQ(r.Json()["type"], "/problems/restricted");
  EXPECT_EQ(r.body.find("profiling"), std::string::npos);
  EXPECT_TRUE(
      IsProblem(server_->CallJson("PUT", Usage(sid), analytics_, {{"data", {{"n", 2}}}}), 423));
  EXPECT_TRUE(IsProblem(Call("GET", "/v1/subjects/" + sid + "/records/usage", analytics_), 423));
  EXPECT_TRUE(IsProblem(Call("DELETE", Usage(sid), analytics_), 423));
  // Other purposes continue, on the same category.
  EXPECT_EQ(Call("GET", Usage(sid), service_).status, 200);
  EXPECT_EQ(server_->CallJson("PUT", Usage(sid), service_, {{"data", {{"n", 3}}}}).status, 200);
  EXPECT_EQ(Call("GET", Usage(sid), dpo_).status, 200);
  // Another subject is untouched.
  PutUsage("objects-1b");
  EXPECT_EQ(Call("GET", Usage("objects-1b"), analytics_).status, 200);

  // Objecting again replaces the reason and keeps since.
  r = Object(sid, "analytics", admin_, {{"reason", "still objects"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["since"], since);
  r = Call("GET", "/v1/subjects/" + sid + "/objections", dpo_);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.Json()["objections"].size(), 1u);
  EXPECT_EQ(r.Json()["objections"][0]["reason"], "still objects");

  const std::vector<std::string> actions = AuditActions();
  EXPECT_TRUE(Has(actions, "objection.place:ok:analytics")) << ::testing::PrintToString(actions);
  EXPECT_TRUE(Has(actions, "record.get:restricted:usage"));
  EXPECT_TRUE(Has(actions, "objection.list:ok:"));
}

TEST_F(ObjectionsTest, SummaryAndExportShowIt) {
  const std::string sid = "objects-2";
  PutUsage(sid);
  ASSERT_EQ(Object(sid, "analytics", dpo_, {{"reason", "art 21 letter"}}).status, 200);
  json sum = Call("GET", "/v1/subjects/" + sid, dpo_).Json();
  ASSERT_EQ(sum["objections"].size(), 1u) << sum.dump();
  EXPECT_EQ(sum["objections"][0]["purpose"], "analytics");
  EXPECT_EQ(sum["objections"][0]["reason"], "art 21 letter");
  // An app sees the objections to its own purposes, without the reason.
  sum = Call("GET", "/v1/subjects/" + sid, analytics_).Json();
  ASSERT_EQ(sum["objections"].size(), 1u) << sum.dump();
  EXPECT_FALSE(sum["objections"][0].contains("reason"));
  sum = Call("GET", "/v1/subjects/" + sid, service_).Json();
  EXPECT_TRUE(sum["objections"].empty()) << sum.dump();

  const HttpResult r = Call("GET", "/v1/subjects/" + sid + "/export?format=json", dpo_);
  ASSERT_EQ(r.status, 200) << r.body;
  const json doc = r.Json();
  ASSERT_TRUE(doc.contains("objections")) << r.body;
  ASSERT_EQ(doc["objections"].size(), 1u);
  EXPECT_EQ(doc["objections"][0]["purpose"], "analytics");
  EXPECT_EQ(doc["objections"][0]["reason"], "art 21 letter");
  EXPECT_TRUE(doc["objections"][0]["since"].is_string());
}

TEST_F(ObjectionsTest, LookupIsRefusedForTheObjectedPurpose) {
  const std::string sid = "objects-3";
  ASSERT_EQ(server_
                ->CallJson("PUT", "/v1/subjects/" + sid + "/records/account/profile", service_,
                           {{"data", {{"email", "objector3@example.org"}}}})
                .status,
            201);
  ASSERT_EQ(Object(sid, "support", dpo_, {{"reason", "no support contact"}}).status, 200);
  const json query = {{"field", "email"}, {"value", "objector3@example.org"}};
  EXPECT_EQ(server_->CallJson("POST", "/v1/lookup", service_, query).status, 200);
  const HttpResult r = server_->CallJson("POST", "/v1/lookup", support_, query);
  EXPECT_TRUE(IsProblem(r, 423)) << r.body;
  EXPECT_EQ(r.body.find("objector3"), std::string::npos);
}

TEST_F(ObjectionsTest, LiftingRolesAndErasure) {
  const std::string sid = "objects-4";
  PutUsage(sid);
  ASSERT_EQ(Object(sid, "analytics", dpo_, {{"reason", "x"}}).status, 200);
  for (const std::string* t : {&analytics_, &service_, &auditor_}) {
    EXPECT_TRUE(IsProblem(Object(sid, "analytics", *t, {{"reason", "x"}}), 403));
    EXPECT_TRUE(IsProblem(Call("DELETE", Objection(sid, "analytics"), *t), 403));
    EXPECT_TRUE(IsProblem(Call("GET", "/v1/subjects/" + sid + "/objections", *t), 403));
  }
  EXPECT_EQ(Call("DELETE", Objection(sid, "analytics"), dpo_).status, 204);
  EXPECT_EQ(Call("GET", Usage(sid), analytics_).status, 200);
  EXPECT_TRUE(IsProblem(Call("DELETE", Objection(sid, "analytics"), dpo_), 404));
  EXPECT_TRUE(Has(AuditActions(), "objection.lift:ok:analytics"));

  // Erasure: the objection goes with the subject; the audit keeps that it was made.
  ASSERT_EQ(Object(sid, "analytics", admin_, {{"reason", "y"}}).status, 200);
  const HttpResult e = server_->CallJson("POST", "/v1/subjects/" + sid + "/erasure", dpo_,
                                         {{"mode", "immediate"}, {"reason", "request"}});
  ASSERT_EQ(e.status, 200) << e.body;
  EXPECT_TRUE(IsProblem(Call("GET", "/v1/subjects/" + sid + "/objections", dpo_), 410));
  EXPECT_TRUE(IsProblem(Object(sid, "analytics", dpo_, {{"reason", "z"}}), 410));
  EXPECT_TRUE(Call("GET", "/v1/subjects/" + sid, dpo_).Json()["objections"].empty());
}

TEST_F(ObjectionsTest, BadRequestsAreRefusedAndChangeNothing) {
  const std::string sid = "objects-5";
  PutUsage(sid);
  EXPECT_TRUE(IsProblem(Object(sid, "analytics", dpo_, json::object()), 400));
  EXPECT_TRUE(IsProblem(Object(sid, "analytics", dpo_, {{"reason", ""}}), 400));
  EXPECT_TRUE(IsProblem(Object(sid, "analytics", dpo_, {{"reason", std::string(1025, 'r')}}), 400));
  EXPECT_TRUE(IsProblem(Object(sid, "analytics", dpo_, {{"reason", "x"}, {"why", "y"}}), 400));
  EXPECT_TRUE(IsProblem(Object(sid, "Bad_Purpose", dpo_, {{"reason", "x"}}), 400));
  EXPECT_TRUE(IsProblem(Object(sid, "astrology", dpo_, {{"reason", "x"}}), 422));
  EXPECT_TRUE(IsProblem(Object("nobody-5", "analytics", dpo_, {{"reason", "x"}}), 404));
  EXPECT_TRUE(IsProblem(Call("PUT", Objection(sid, "analytics"), dpo_, "{not json"), 400));
  EXPECT_TRUE(IsProblem(Call("DELETE", Objection(sid, "astrology"), dpo_), 422));
  EXPECT_TRUE(IsProblem(Call("GET", "/v1/subjects/nobody-5/objections", dpo_), 404));
  const HttpResult r = Call("GET", "/v1/subjects/" + sid + "/objections", dpo_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.Json()["objections"].empty());
  EXPECT_EQ(Call("GET", Usage(sid), analytics_).status, 200);
}

}  // namespace
}  // namespace vault::e2e
