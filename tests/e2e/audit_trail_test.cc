// End-to-end: denied and failed attempts in the audit log (purpose denials, failed deletes,
// refused erasure requests, receipt reads), the subject summary per role and purpose, and an
// app's delete of a retained record of an erased subject.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "harness.h"

namespace vault::e2e {
namespace {

class AuditTrailTest : public ::testing::Test {
 protected:
  struct Token {
    std::string id;
    std::string secret;
  };

  static void SetUpTestSuite() {
    server_ = ServerProcess::Start({GraceZeroPolicyYaml()}).release();
    tokens_["admin"] = {"", server_->admin_token()};
    tokens_["dpo"] = MakeToken("dpo", {});
    tokens_["auditor"] = MakeToken("auditor", {});
    tokens_["marketing"] = MakeToken("app", {"marketing"});
    tokens_["billing"] = MakeToken("app", {"billing"});
    tokens_["service"] = MakeToken("app", {"service"});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  static Token MakeToken(const std::string& role, const std::vector<std::string>& purposes) {
    json body = {{"role", role}};
    if (!purposes.empty()) body["purposes"] = purposes;
    const HttpResult r = server_->CallJson("POST", "/v1/tokens", server_->admin_token(), body);
    if (r.status != 201) throw std::runtime_error("token create failed: " + r.body);
    return {r.Json()["token_id"].get<std::string>(), r.Json()["token"].get<std::string>()};
  }
  static HttpResult Call(const std::string& method, const std::string& path, const std::string& who,
                         const std::optional<std::string>& body = std::nullopt) {
    return server_->Call(method, path, tokens_[who].secret, body);
  }
  static HttpResult Put(const std::string& path, const std::string& who, const json& data) {
    return server_->CallJson("PUT", path, tokens_[who].secret, {{"data", data}});
  }
  // An immediate erasure of sid by the dpo; its status.
  static int EraseNow(const std::string& sid) {
    return server_
        ->CallJson("POST", "/v1/subjects/" + sid + "/erasure", tokens_["dpo"].secret,
                   {{"mode", "immediate"}, {"reason", "asked"}})
        .status;
  }

  // Every audit entry, paged through as an auditor.
  static std::vector<json> AuditLog() {
    std::vector<json> out;
    std::uint64_t after = 0;
    for (;;) {
      const HttpResult r =
          Call("GET", "/v1/audit?limit=1000&after=" + std::to_string(after), "auditor");
      EXPECT_EQ(r.status, 200) << r.body;
      const json page = r.Json()["entries"];
      if (!page.is_array() || page.empty()) return out;
      for (const json& e : page) out.push_back(e);
      after = page.back()["seq"].get<std::uint64_t>();
    }
  }
  // The last entry of actor with action, or null.
  static json LastEntry(const std::string& actor, const std::string& action) {
    json found;
    for (const json& e : AuditLog()) {
      if (e["actor"] == actor && e["action"] == action) found = e;
    }
    return found;
  }
  static ServerProcess* server_;
  static std::map<std::string, Token> tokens_;
};

ServerProcess* AuditTrailTest::server_ = nullptr;
std::map<std::string, AuditTrailTest::Token> AuditTrailTest::tokens_;

// The subject_ref of sid, from the dpo's own summary read.
std::string RefFromDpoRead(const std::string& dpo_id, const std::vector<json>& log) {
  std::string ref;
  for (const json& e : log) {
    if (e["actor"] == dpo_id && e["action"] == "subject.get") ref = e["subject_ref"];
  }
  return ref;
}

TEST_F(AuditTrailTest, PurposeDenialsAreAuditedWithTheSubjectRefNeverTheId) {
  const std::string sid = "denied-subject-xyzzy";
  const std::string rec = "/v1/subjects/" + sid + "/records/account/profile";
  ASSERT_EQ(Put(rec, "admin", {{"name", "x"}}).status, 201);
  ASSERT_EQ(Call("GET", "/v1/subjects/" + sid, "dpo").status, 200);
  const std::string ref = RefFromDpoRead(tokens_["dpo"].id, AuditLog());
  ASSERT_EQ(ref.size(), 32u);

  const std::string me = tokens_["marketing"].id;
  EXPECT_TRUE(IsProblem(Call("GET", rec, "marketing"), 403));
  EXPECT_TRUE(IsProblem(Call("GET", "/v1/subjects/" + sid + "/records/account", "marketing"), 403));
  EXPECT_TRUE(IsProblem(Put(rec, "marketing", {{"name", "y"}}), 403));
  EXPECT_TRUE(IsProblem(Call("DELETE", rec, "marketing"), 403));
  for (const char* action : {"record.get", "record.list", "record.put", "record.delete"}) {
    const json e = LastEntry(me, action);
    ASSERT_FALSE(e.is_null()) << action << " denial not in the audit log";
    EXPECT_EQ(e["outcome"], "permission_denied") << action;
    EXPECT_EQ(e["category"], "account") << action;
    EXPECT_EQ(e["subject_ref"], ref) << action;
  }
  // A subject the vault does not know is named by nothing at all.
  EXPECT_TRUE(
      IsProblem(Call("GET", "/v1/subjects/nobody-xyzzy/records/account/p", "marketing"), 403));
  const json e = LastEntry(me, "record.get");
  EXPECT_EQ(e["outcome"], "permission_denied");
  EXPECT_EQ(e["subject_ref"], "");
  const HttpResult whole = Call("GET", "/v1/audit?limit=1000", "auditor");
  EXPECT_EQ(whole.body.find("xyzzy"), std::string::npos);
  EXPECT_EQ(Call("GET", "/v1/audit/verify", "auditor").Json()["ok"], true);
}

TEST_F(AuditTrailTest, FailedDeletesAreAudited) {
  const std::string sid = "failed-deletes";
  const std::string base = "/v1/subjects/" + sid + "/records/";
  ASSERT_EQ(Put(base + "account/p", "admin", {{"a", 1}}).status, 201);
  ASSERT_EQ(Put(base + "billing/b", "admin", {{"amount", 5}}).status, 201);
  const std::string svc = tokens_["service"].id, bill = tokens_["billing"].id;

  EXPECT_TRUE(IsProblem(Call("DELETE", base + "account/missing", "service"), 404));
  EXPECT_EQ(LastEntry(svc, "record.delete")["outcome"], "not_found");
  EXPECT_EQ(LastEntry(svc, "record.delete")["subject_ref"].get<std::string>().size(), 32u);

  const HttpResult hold = server_->CallJson("POST", "/v1/subjects/" + sid + "/legal-holds",
                                            tokens_["dpo"].secret, {{"reason", "case 1"}});
  ASSERT_EQ(hold.status, 201) << hold.body;
  EXPECT_TRUE(IsProblem(Call("DELETE", base + "account/p", "service"), 423));
  EXPECT_EQ(LastEntry(svc, "record.delete")["outcome"], "locked");
  ASSERT_EQ(
      Call("DELETE",
           "/v1/subjects/" + sid + "/legal-holds/" + hold.Json()["hold_id"].get<std::string>(),
           "dpo")
          .status,
      204);

  ASSERT_EQ(EraseNow(sid), 200);
  EXPECT_TRUE(IsProblem(Call("DELETE", base + "billing/b", "billing"), 410));
  EXPECT_EQ(LastEntry(bill, "record.delete")["outcome"], "gone");
  EXPECT_EQ(LastEntry(bill, "record.delete")["category"], "billing");
}

TEST_F(AuditTrailTest, AnAppCannotDeleteARetainedRecordOfAnErasedSubject) {
  const std::string sid = "retained-delete";
  const std::string rec = "/v1/subjects/" + sid + "/records/billing/invoice-1";
  ASSERT_EQ(Put(rec, "admin", {{"amount", 12}}).status, 201);
  ASSERT_EQ(EraseNow(sid), 200);
  EXPECT_TRUE(IsProblem(Call("GET", rec, "billing"), 410));
  EXPECT_TRUE(IsProblem(Call("DELETE", rec, "billing"), 410));
  // The record is still there for the dpo, who may read and delete it.
  EXPECT_EQ(Call("GET", rec, "dpo").status, 200);
  EXPECT_EQ(Call("DELETE", rec, "dpo").status, 204);
  EXPECT_TRUE(IsProblem(Call("GET", rec, "dpo"), 404));
}

TEST_F(AuditTrailTest, RefusedErasureRequestsAndReceiptReadsAreAudited) {
  const std::string dpo = tokens_["dpo"].id;
  const std::string path = "/v1/subjects/erasure-refusals/erasure";
  auto request = [&](const json& body) {
    return server_->CallJson("POST", path, tokens_["dpo"].secret, body);
  };
  const json good = {{"mode", "grace"}, {"reason", "asked"}};
  EXPECT_TRUE(IsProblem(request(good), 404));
  json e = LastEntry(dpo, "erasure.request");
  EXPECT_EQ(e["outcome"], "not_found");
  EXPECT_EQ(e["subject_ref"], "");

  ASSERT_EQ(Put("/v1/subjects/erasure-refusals/records/account/p", "admin", {{"a", 1}}).status,
            201);
  EXPECT_TRUE(IsProblem(request({{"mode", "later"}, {"reason", "x"}}), 400));
  e = LastEntry(dpo, "erasure.request");
  EXPECT_EQ(e["outcome"], "invalid_argument");
  const std::string ref = e["subject_ref"];
  EXPECT_EQ(ref.size(), 32u);

  const HttpResult scheduled = request(good);
  ASSERT_EQ(scheduled.status, 202) << scheduled.body;
  EXPECT_TRUE(IsProblem(request(good), 409));
  e = LastEntry(dpo, "erasure.request");
  EXPECT_EQ(e["outcome"], "conflict");
  EXPECT_EQ(e["subject_ref"], ref);

  const std::string id = scheduled.Json()["erasure_id"];
  ASSERT_EQ(Call("GET", "/v1/erasures/" + id, "dpo").status, 200);
  e = LastEntry(dpo, "erasure.get");
  EXPECT_EQ(e["outcome"], "ok");
  EXPECT_EQ(e["subject_ref"], ref);
  EXPECT_TRUE(IsProblem(Call("GET", "/v1/erasures/00000000000000000000000000000000", "dpo"), 404));
  e = LastEntry(dpo, "erasure.get");
  EXPECT_EQ(e["outcome"], "not_found");
  EXPECT_EQ(e["subject_ref"], "");
}

TEST_F(AuditTrailTest, SummaryShowsAnAppOnlyItsPurposesAndNoHoldReasonOrReceipt) {
  const std::string held = "summary-held", erased = "summary-erased";
  for (const std::string& sid : {held, erased}) {
    const std::string base = "/v1/subjects/" + sid + "/records/";
    ASSERT_EQ(Put(base + "account/p", "admin", {{"a", 1}}).status, 201);
    ASSERT_EQ(Put(base + "billing/b", "admin", {{"a", 1}}).status, 201);
    // marketing rests on consent: it is written only while the consent is granted.
    ASSERT_EQ(server_
                  ->CallJson("PUT", "/v1/subjects/" + sid + "/consents/marketing",
                             tokens_["admin"].secret, {{"granted", true}})
                  .status,
              200);
    ASSERT_EQ(Put(base + "marketing/m", "admin", {{"a", 1}}).status, 201);
  }
  ASSERT_EQ(server_
                ->CallJson("POST", "/v1/subjects/" + held + "/legal-holds", tokens_["dpo"].secret,
                           {{"reason", "SECRET-HOLD-REASON"}})
                .status,
            201);
  ASSERT_EQ(EraseNow(erased), 200);
  auto categories = [](const json& summary) {
    std::set<std::string> out;
    for (const json& c : summary["categories"]) out.insert(c["category"].get<std::string>());
    return out;
  };
  const std::set<std::string> all = {"account", "billing", "marketing"};
  const std::map<std::string, std::set<std::string>> sees = {{"admin", all},
                                                             {"dpo", all},
                                                             {"marketing", {"marketing"}},
                                                             {"billing", {"billing"}},
                                                             {"service", {"account"}}};
  for (const auto& [who, cats] : sees) {
    const bool privileged = who == "admin" || who == "dpo";
    const HttpResult h = Call("GET", "/v1/subjects/" + held, who);
    ASSERT_EQ(h.status, 200) << who << ": " << h.body;
    EXPECT_EQ(categories(h.Json()), cats) << who;
    ASSERT_EQ(h.Json()["legal_holds"].size(), 1u) << who;
    const json hold = h.Json()["legal_holds"][0];
    EXPECT_TRUE(hold.contains("hold_id") && hold.contains("placed_at")) << who;
    EXPECT_EQ(hold.contains("reason"), privileged) << who;
    EXPECT_EQ(h.body.find("SECRET-HOLD-REASON") != std::string::npos, privileged) << who;

    const HttpResult er = Call("GET", "/v1/subjects/" + erased, who);
    ASSERT_EQ(er.status, 200) << who << ": " << er.body;
    const json erasure = er.Json()["erasure"];
    EXPECT_EQ(er.Json()["state"], "erased") << who;
    EXPECT_EQ(erasure["state"], "completed") << who;
    EXPECT_TRUE(erasure["completed_at"].is_string()) << who;
    EXPECT_EQ(erasure["receipt"].is_object(), privileged) << who;
    EXPECT_EQ(er.body.find("subject_ref") != std::string::npos, privileged) << who;
  }
}

}  // namespace
}  // namespace vault::e2e
