// End-to-end: consents over HTTP for each role, the 409 on writes without consent,
// withdrawal shredding exactly the categories resting on it (0d delays, so the sweep runs
// them at once; the delays themselves are tested on a manual clock in
// tests/unit/consents_test.cc), re-grant cancelling, and proof shredding.
#include <gtest/gtest.h>

#include <string>

#include "harness.h"

namespace vault::e2e {
namespace {

const char kPolicy[] = R"(version: 1
erasure: {grace: 0d}
consents: {proof_retention: 0d}
categories:
  account:
    legal_basis: contract
    purposes: [service]
    retention: until_erasure
  marketing:
    legal_basis: consent
    consent_purpose: marketing
    purposes: [marketing]
    retention: until_erasure
    on_consent_withdrawal: 0d
  research:
    legal_basis: consent
    consent_purpose: research
    purposes: [research]
    retention: until_erasure
    on_consent_withdrawal: 0d
)";

class ConsentsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = ServerProcess::Start({kPolicy}).release();
    admin_ = server_->admin_token();
    dpo_ = server_->CreateToken("dpo", {});
    auditor_ = server_->CreateToken("auditor", {});
    marketing_ = server_->CreateToken("app", {"marketing", "service"});
    research_ = server_->CreateToken("app", {"research"});
    service_ = server_->CreateToken("app", {"service"});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  static HttpResult Consent(const std::string& sid, const std::string& purpose,
                            const std::string& token, const json& body) {
    return server_->CallJson("PUT", "/v1/subjects/" + sid + "/consents/" + purpose, token, body);
  }
  static HttpResult Consents(const std::string& sid, const std::string& token) {
    return server_->Call("GET", "/v1/subjects/" + sid + "/consents", token);
  }
  static HttpResult PutRecord(const std::string& sid, const std::string& category,
                              const std::string& rid, const std::string& token) {
    return server_->CallJson("PUT", "/v1/subjects/" + sid + "/records/" + category + "/" + rid,
                             token, {{"data", {{"note", rid}}}});
  }
  static int GetRecord(const std::string& sid, const std::string& category,
                       const std::string& rid) {
    return server_->Call("GET", "/v1/subjects/" + sid + "/records/" + category + "/" + rid, dpo_)
        .status;
  }
  static json Sweep() {
    const HttpResult r = server_->Call("POST", "/v1/admin/sweep", admin_);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json();
  }
  // A subject with account, marketing and research data and both consents granted.
  static void Populate(const std::string& sid) {
    ASSERT_EQ(Consent(sid, "marketing", marketing_, {{"granted", true}}).status, 200);
    ASSERT_EQ(Consent(sid, "research", research_, {{"granted", true}}).status, 200);
    ASSERT_EQ(PutRecord(sid, "account", "a", marketing_).status, 201);
    ASSERT_EQ(PutRecord(sid, "marketing", "m1", marketing_).status, 201);
    ASSERT_EQ(PutRecord(sid, "marketing", "m2", marketing_).status, 201);
    ASSERT_EQ(PutRecord(sid, "research", "r", research_).status, 201);
  }

  static ServerProcess* server_;
  static std::string admin_, dpo_, auditor_, marketing_, research_, service_;
};

ServerProcess* ConsentsTest::server_ = nullptr;
std::string ConsentsTest::admin_, ConsentsTest::dpo_, ConsentsTest::auditor_,
    ConsentsTest::marketing_, ConsentsTest::research_, ConsentsTest::service_;

TEST_F(ConsentsTest, EachRoleRecordsAndReadsWhatItMay) {
  const std::string sid = "roles-1";
  HttpResult r = Consent(sid, "marketing", marketing_,
                         {{"granted", true}, {"source", "signup form"}, {"policy_version", "v3"}});
  ASSERT_EQ(r.status, 200) << r.body;
  json c = r.Json();
  EXPECT_EQ(c["purpose"], "marketing");
  EXPECT_EQ(c["granted"], true);
  EXPECT_TRUE(c["at"].is_string());
  ASSERT_EQ(c["history"].size(), 1u);
  EXPECT_EQ(c["history"][0]["source"], "signup form");
  EXPECT_EQ(c["history"][0]["policy_version"], "v3");
  EXPECT_TRUE(c["proof_until"].is_null());

  EXPECT_EQ(Consent(sid, "research", dpo_, {{"granted", true}}).status, 200);
  r = Consent(sid, "research", admin_, {{"granted", false}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["granted"], false);
  EXPECT_TRUE(r.Json()["proof_until"].is_string());
  // The policy version defaults to the active policy's sha256.
  const std::string sha = server_->Call("GET", "/v1/policy", admin_).Json()["source_sha256"];
  EXPECT_EQ(r.Json()["history"][1]["policy_version"], sha);

  // An app records only the consents of its own purposes; auditors none.
  EXPECT_TRUE(IsProblem(Consent(sid, "marketing", service_, {{"granted", true}}), 403));
  EXPECT_TRUE(IsProblem(Consent(sid, "marketing", research_, {{"granted", false}}), 403));
  EXPECT_TRUE(IsProblem(Consent(sid, "marketing", auditor_, {{"granted", true}}), 403));
  EXPECT_TRUE(IsProblem(Consents(sid, auditor_), 403));

  r = Consents(sid, dpo_);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.Json()["consents"].size(), 2u);
  r = Consents(sid, marketing_);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.Json()["consents"].size(), 1u);
  EXPECT_EQ(r.Json()["consents"][0]["purpose"], "marketing");
  EXPECT_EQ(Consents(sid, service_).Json()["consents"].size(), 0u);
}

TEST_F(ConsentsTest, BadRequestsAreRefused) {
  const std::string sid = "bad-1";
  EXPECT_TRUE(IsProblem(Consent(sid, "service", admin_, {{"granted", true}}), 422));
  EXPECT_TRUE(IsProblem(Consent(sid, "nope", admin_, {{"granted", true}}), 422));
  EXPECT_TRUE(IsProblem(Consent(sid, "marketing", admin_, json::object()), 400));
  EXPECT_TRUE(IsProblem(Consent(sid, "marketing", admin_, {{"granted", "yes"}}), 400));
  EXPECT_TRUE(IsProblem(Consent(sid, "marketing", admin_, {{"granted", true}, {"x", 1}}), 400));
  EXPECT_TRUE(IsProblem(
      Consent(sid, "marketing", admin_, {{"granted", true}, {"source", std::string(300, 's')}}),
      400));
  EXPECT_TRUE(IsProblem(Consents(sid, dpo_), 404));
}

TEST_F(ConsentsTest, AWriteWithoutConsentGets409AndStoresNothing) {
  const HttpResult r = PutRecord("no-consent-1", "marketing", "m", marketing_);
  ASSERT_TRUE(IsProblem(r, 409));
  EXPECT_NE(r.Json()["detail"].get<std::string>().find("consent for purpose 'marketing'"),
            std::string::npos)
      << r.body;
  EXPECT_TRUE(IsProblem(server_->Call("GET", "/v1/subjects/no-consent-1", dpo_), 404));
  // Withdrawn is not granted either.
  ASSERT_EQ(Consent("no-consent-2", "marketing", marketing_, {{"granted", false}}).status, 200);
  EXPECT_TRUE(IsProblem(PutRecord("no-consent-2", "marketing", "m", marketing_), 409));
}

TEST_F(ConsentsTest, WithdrawalShredsExactlyTheCategoriesRestingOnIt) {
  const std::string sid = "withdraw-1";
  Populate(sid);
  ASSERT_EQ(Consent(sid, "marketing", marketing_, {{"granted", false}}).status, 200);
  const json sweep = Sweep();
  EXPECT_GE(sweep["consent_withdrawals_executed"].get<int>(), 1);
  EXPECT_EQ(GetRecord(sid, "marketing", "m1"), 404);
  EXPECT_EQ(GetRecord(sid, "marketing", "m2"), 404);
  EXPECT_EQ(GetRecord(sid, "account", "a"), 200);
  EXPECT_EQ(GetRecord(sid, "research", "r"), 200);
  const json sum = server_->Call("GET", "/v1/subjects/" + sid, dpo_).Json();
  for (const json& c : sum["categories"]) {
    EXPECT_EQ(c["records"], c["category"] == "marketing" ? 0 : 1) << c.dump();
  }
  EXPECT_TRUE(IsProblem(PutRecord(sid, "marketing", "m3", marketing_), 409));
}

TEST_F(ConsentsTest, ReGrantingBeforeTheSweepCancelsTheShredding) {
  const std::string sid = "regrant-1";
  Populate(sid);
  ASSERT_EQ(Consent(sid, "marketing", marketing_, {{"granted", false}}).status, 200);
  ASSERT_EQ(Consent(sid, "marketing", marketing_, {{"granted", true}}).status, 200);
  Sweep();
  EXPECT_EQ(GetRecord(sid, "marketing", "m1"), 200);
  EXPECT_EQ(Consents(sid, dpo_).Json()["consents"][0]["history"].size(), 3u);
}

TEST_F(ConsentsTest, ProofIsShreddedWhenItsRetentionEnds) {
  const std::string sid = "proof-1";
  Populate(sid);
  ASSERT_EQ(Consent(sid, "research", research_, {{"granted", false}}).status, 200);
  json list = Consents(sid, dpo_).Json()["consents"];
  ASSERT_EQ(list.size(), 2u);
  const json sweep = Sweep();
  EXPECT_GE(sweep["consent_proofs_shredded"].get<int>(), 1);
  list = Consents(sid, dpo_).Json()["consents"];
  ASSERT_EQ(list.size(), 1u);  // research's history is gone, marketing's (granted) stays
  EXPECT_EQ(list[0]["purpose"], "marketing");
  EXPECT_EQ(GetRecord(sid, "research", "r"), 404);
}

}  // namespace
}  // namespace vault::e2e
