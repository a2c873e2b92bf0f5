// End-to-end: POST /v1/lookup over HTTP: finding a subject by e-mail or phone through updates,
// deletes and erasure; uniqueness, purposes, roles; no value in files, logs or the audit log.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "harness.h"

namespace vault::e2e {
namespace {

class LookupHttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = ServerProcess::Start({}).release();
    admin_ = server_->admin_token();
    app_ = server_->CreateToken("app", {"service"});
    app_billing_ = server_->CreateToken("app", {"billing"});
    dpo_ = server_->CreateToken("dpo", {});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  static HttpResult Lookup(const json& body, const std::string& token = app_) {
    return server_->CallJson("POST", "/v1/lookup", token, body);
  }
  static HttpResult Email(const std::string& value) {
    return Lookup({{"field", "email"}, {"value", value}});
  }
  static HttpResult Phone(const std::string& value) {
    return Lookup({{"field", "phone"}, {"value", value}});
  }
  static HttpResult PutAccount(const std::string& sid, const json& data,
                               const std::string& rid = "profile") {
    return server_->CallJson("PUT", "/v1/subjects/" + sid + "/records/account/" + rid, app_,
                             {{"data", data}});
  }
  // Asserts a 200 naming exactly sid.
  static ::testing::AssertionResult Finds(const HttpResult& r, const std::string& sid) {
    if (r.status != 200) return ::testing::AssertionFailure() << r.status << " " << r.body;
    const json j = r.Json();
    if (j["subject_id"] != sid || j["subject_ids"] != json::array({sid})) {
      return ::testing::AssertionFailure() << r.body;
    }
    return ::testing::AssertionSuccess();
  }
  static json Audit() {
    return server_->Call("GET", "/v1/audit?after=0&limit=1000", admin_).Json()["entries"];
  }

  static ServerProcess* server_;
  static std::string admin_, app_, app_billing_, dpo_;
};

ServerProcess* LookupHttpTest::server_ = nullptr;
std::string LookupHttpTest::admin_, LookupHttpTest::app_, LookupHttpTest::app_billing_,
    LookupHttpTest::dpo_;

TEST_F(LookupHttpTest, FindsBeforeAndAfterAnUpdate) {
  ASSERT_EQ(PutAccount("lk-alice", {{"email", "Alice.Lk@Example.com"}}).status, 201);
  EXPECT_TRUE(Finds(Email("  alice.lk@EXAMPLE.COM "), "lk-alice"));
  EXPECT_TRUE(
      Finds(Lookup({{"field", "email"}, {"value", "alice.lk@example.com"}}, admin_), "lk-alice"));
  ASSERT_EQ(PutAccount("lk-alice", {{"email", "alice.new@example.com"}}).status, 200);
  EXPECT_TRUE(IsProblem(Email("alice.lk@example.com"), 404));
  EXPECT_TRUE(Finds(Email("alice.new@example.com"), "lk-alice"));
}

TEST_F(LookupHttpTest, PhoneVariantsFindTheSameSubject) {
  ASSERT_EQ(PutAccount("lk-phone", {{"phone", "+49 30 1234-5678"}}).status, 201);
  for (const char* v :
       {"+4930 12345678", "+49 (30) 1234 5678", "0049.30.1234.5678", "+49-30-1234-5678"}) {
    EXPECT_TRUE(Finds(Phone(v), "lk-phone")) << v;
  }
  const HttpResult bad = Phone("call +49 30 1234 5678");
  ASSERT_TRUE(IsProblem(bad, 422));
  EXPECT_EQ(bad.body.find("1234"), std::string::npos) << bad.body;
  // At write the same rule holds, and nothing is stored.
  EXPECT_TRUE(IsProblem(PutAccount("lk-phone-bad", {{"phone", "ring me"}}), 422));
  EXPECT_TRUE(IsProblem(
      server_->Call("GET", "/v1/subjects/lk-phone-bad/records/account/profile", admin_), 404));
}

TEST_F(LookupHttpTest, ANonUniqueValueOfSeveralSubjectsListsThem) {
  ASSERT_EQ(PutAccount("lk-family-b", {{"phone", "+1 202 555 0143"}}).status, 201);
  ASSERT_EQ(PutAccount("lk-family-a", {{"phone", "+12025550143"}}).status, 201);
  const HttpResult r = Phone("+1 (202) 555-0143");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.Json()["subject_id"].is_null());
  EXPECT_EQ(r.Json()["subject_ids"], json::array({"lk-family-a", "lk-family-b"}));
  EXPECT_EQ(r.Json()["truncated"], false);
}

TEST_F(LookupHttpTest, ARecordDeleteAndAnErasureRemoveTheEntry) {
  ASSERT_EQ(PutAccount("lk-del", {{"email", "del@example.com"}}).status, 201);
  EXPECT_TRUE(Finds(Email("del@example.com"), "lk-del"));
  ASSERT_EQ(server_->Call("DELETE", "/v1/subjects/lk-del/records/account/profile", app_).status,
            204);
  EXPECT_TRUE(IsProblem(Email("del@example.com"), 404));

  ASSERT_EQ(PutAccount("lk-erase", {{"email", "erase@example.com"}}).status, 201);
  EXPECT_TRUE(Finds(Email("erase@example.com"), "lk-erase"));
  ASSERT_EQ(server_
                ->CallJson("POST", "/v1/subjects/lk-erase/erasure", dpo_,
                           {{"mode", "immediate"}, {"reason", "asked"}})
                .status,
            200);
  EXPECT_TRUE(IsProblem(Email("erase@example.com"), 404));
  // The value is free again.
  EXPECT_EQ(PutAccount("lk-erase-2", {{"email", "erase@example.com"}}).status, 201);
}

TEST_F(LookupHttpTest, AUniqueValueClaimedByASecondSubjectIs409AndChangesNothing) {
  ASSERT_EQ(PutAccount("lk-first", {{"email", "taken@example.com"}}).status, 201);
  const HttpResult clash = PutAccount("lk-second", {{"email", "TAKEN@example.com "}});
  ASSERT_TRUE(IsProblem(clash, 409));
  EXPECT_EQ(clash.body.find("taken@"), std::string::npos) << clash.body;
  EXPECT_TRUE(IsProblem(server_->Call("GET", "/v1/subjects/lk-second", admin_), 404));
  EXPECT_TRUE(Finds(Email("taken@example.com"), "lk-first"));
}

TEST_F(LookupHttpTest, BadRequestsAreRefusedClearly) {
  EXPECT_TRUE(IsProblem(Lookup({{"field", "name"}, {"value", "Alice"}}), 422));
  EXPECT_TRUE(IsProblem(
      Lookup({{"field", "email"}, {"value", "x@example.com"}, {"category", "billing"}}), 422));
  EXPECT_TRUE(IsProblem(Lookup({{"field", "email"}, {"value", " "}}), 422));
  EXPECT_TRUE(IsProblem(Lookup({{"field", "email"}}), 400));
  EXPECT_TRUE(IsProblem(Lookup({{"field", "email"}, {"value", 7}}), 400));
  EXPECT_TRUE(IsProblem(Lookup({{"field", "email"}, {"value", "a@b.c"}, {"extra", 1}}), 400));
  EXPECT_TRUE(IsProblem(server_->Call("POST", "/v1/lookup", app_, std::string("[1]")), 400));
  EXPECT_TRUE(IsProblem(server_->Call("GET", "/v1/lookup", app_), 405));
}

TEST_F(LookupHttpTest, PurposeAndRoleAreEnforcedAndAudited) {
  ASSERT_EQ(PutAccount("lk-purpose", {{"email", "purpose@example.com"}}).status, 201);
  const std::size_t before = Audit().size();
  EXPECT_TRUE(
      IsProblem(Lookup({{"field", "email"}, {"value", "purpose@example.com"}}, app_billing_), 403));
  EXPECT_TRUE(IsProblem(Lookup({{"field", "email"}, {"value", "purpose@example.com"}}, dpo_), 403));
  EXPECT_TRUE(Finds(Email("purpose@example.com"), "lk-purpose"));
  EXPECT_TRUE(IsProblem(Email("nobody@example.com"), 404));
  json lookups = json::array();
  const json entries = Audit();
  for (std::size_t i = before; i < entries.size(); ++i) {
    if (entries[i]["action"] == "lookup") lookups.push_back(entries[i]);
  }
  ASSERT_EQ(lookups.size(), 3u) << lookups.dump();  // the dpo never reached the engine
  EXPECT_EQ(lookups[0]["outcome"], "permission_denied");
  EXPECT_EQ(lookups[1]["outcome"], "ok");
  EXPECT_FALSE(lookups[1]["subject_ref"].get<std::string>().empty());
  EXPECT_EQ(lookups[2]["outcome"], "not_found");
  for (const auto& e : lookups) EXPECT_EQ(e["category"], "account");
}

// Last: it reads every file the server wrote, after the other tests' values went through it.
TEST_F(LookupHttpTest, TheValueIsNeverInTheFilesTheLogsOrTheAuditLog) {
  const std::string email = "needle.lk.7e1f@example.com";
  ASSERT_EQ(PutAccount("lk-needle", {{"email", email}, {"phone", "+44 7700 900123"}}).status, 201);
  EXPECT_TRUE(Finds(Email(email), "lk-needle"));
  EXPECT_TRUE(Finds(Phone("+447700900123"), "lk-needle"));
  EXPECT_TRUE(IsProblem(Email("needle.lk.absent@example.com"), 404));
  ASSERT_EQ(server_->Call("POST", "/v1/admin/sweep", admin_).status, 200);  // commits, flushes
  const std::vector<std::string> needles = {"needle.lk", "447700900123", "7700 900123"};
  for (const auto& e : std::filesystem::recursive_directory_iterator(server_->data_dir())) {
    if (!e.is_regular_file()) continue;
    const std::string bytes = ReadFile(e.path().string());
    for (const auto& n : needles) {
      EXPECT_EQ(bytes.find(n), std::string::npos) << e.path() << " holds " << n;
    }
  }
  const std::string log = server_->Log();
  const std::string audit = Audit().dump();
  for (const auto& n : needles) {
    EXPECT_EQ(log.find(n), std::string::npos) << n;
    EXPECT_EQ(audit.find(n), std::string::npos) << n;
  }
}

}  // namespace
}  // namespace vault::e2e
