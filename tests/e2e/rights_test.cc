// End-to-end: erasure (immediate, grace, cancel), receipts, legal holds, the sweeper.
#include <gtest/gtest.h>

#include <string>

#include "harness.h"
#include "vault/vault.h"

namespace vault::e2e {
namespace {

class RightsServer : public ::testing::Test {
 protected:
  static HttpResult Call(const std::string& method, const std::string& path,
                         const std::string& token,
                         const std::optional<std::string>& body = std::nullopt) {
    return server_->Call(method, path, token, body);
  }
  static HttpResult CallJson(const std::string& method, const std::string& path,
                             const std::string& token, const json& body) {
    return server_->CallJson(method, path, token, body);
  }
  static void Start(const ServerProcess::Config& config) {
    server_ = ServerProcess::Start(config).release();
    admin_ = server_->admin_token();
    dpo_ = server_->CreateToken("dpo", {});
    app_ = server_->CreateToken("app", {"service", "support", "billing"});
  }
  static void Stop() {
    delete server_;
    server_ = nullptr;
  }
  static void PutAccountAndBilling(const std::string& sid) {
    ASSERT_EQ(CallJson("PUT", "/v1/subjects/" + sid + "/records/account/profile", app_,
                       {{"data", {{"email", sid + "@example.com"}}}})
                  .status,
              201);
    ASSERT_EQ(CallJson("PUT", "/v1/subjects/" + sid + "/records/billing/inv-1", app_,
                       {{"data", {{"amount", 42}}}, {"event_time", "2025-03-01T00:00:00Z"}})
                  .status,
              201);
  }
  static json PublicKey() {
    const HttpResult r = Call("GET", "/v1/receipts/public-key", app_);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json();
  }

  static ServerProcess* server_;
  static std::string admin_, dpo_, app_;
};

ServerProcess* RightsServer::server_ = nullptr;
std::string RightsServer::admin_, RightsServer::dpo_, RightsServer::app_;

class RightsTest : public RightsServer {
 protected:
  static void SetUpTestSuite() { Start({}); }
  static void TearDownTestSuite() { Stop(); }
};

TEST_F(RightsTest, ImmediateErasureGivesVerifiableReceiptAndKeepsSurvivingCategory) {
  const std::string sid = "erase-now-1";
  PutAccountAndBilling(sid);
  HttpResult r = CallJson("POST", "/v1/subjects/" + sid + "/erasure", dpo_,
                          {{"mode", "immediate"}, {"reason", "user request"}});
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.Json();
  EXPECT_EQ(j["state"], "completed");
  const std::string erasure_id = j["erasure_id"];
  const json receipt = j["receipt"];
  ASSERT_TRUE(receipt.is_object()) << r.body;
  for (const char* f : {"erasure_id", "subject_ref", "completed_at", "shredded", "retained",
                        "unrecoverable_after", "signature", "key_id"}) {
    EXPECT_TRUE(receipt.contains(f)) << f;
  }
  EXPECT_EQ(receipt.dump().find(sid), std::string::npos) << "receipt names the subject";

  // Erased: account is gone for everyone, billing survives for the DPO only.
  EXPECT_TRUE(
      IsProblem(Call("GET", "/v1/subjects/" + sid + "/records/account/profile", app_), 410));
  EXPECT_TRUE(
      IsProblem(Call("GET", "/v1/subjects/" + sid + "/records/account/profile", dpo_), 410));
  EXPECT_TRUE(IsProblem(Call("GET", "/v1/subjects/" + sid + "/records/billing/inv-1", app_), 410));
  r = Call("GET", "/v1/subjects/" + sid + "/records/billing/inv-1", dpo_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["data"], json({{"amount", 42}}));
  r = Call("GET", "/v1/subjects/" + sid, dpo_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["state"], "erased");

  r = Call("GET", "/v1/erasures/" + erasure_id, dpo_);
  ASSERT_EQ(r.status, 200) << r.body;
  j = r.Json();
  EXPECT_EQ(j["erasure_id"], erasure_id);
  EXPECT_EQ(j["state"], "completed");
  for (const char* f : {"requested_at", "execute_at", "completed_at", "receipt"}) {
    EXPECT_TRUE(j.contains(f)) << f;
  }
  EXPECT_EQ(j["receipt"], receipt);

  const json key = PublicKey();
  EXPECT_EQ(key["algorithm"], "ed25519");
  EXPECT_EQ(key["key_id"], receipt["key_id"]);
  const std::string public_key = key["public_key"];
  EXPECT_TRUE(Vault::VerifyReceipt(receipt, public_key));
  json tampered = receipt;
  tampered["unrecoverable_after"] = "2000-01-01T00:00:00Z";
  EXPECT_FALSE(Vault::VerifyReceipt(tampered, public_key));
  tampered = receipt;
  tampered["retained"] = json::array();
  EXPECT_FALSE(Vault::VerifyReceipt(tampered, public_key));

  // Completed erasures cannot be cancelled; the subject cannot be written again.
  EXPECT_TRUE(IsProblem(Call("DELETE", "/v1/subjects/" + sid + "/erasure", dpo_), 409));
}

TEST_F(RightsTest, GraceErasureCancelRestoresReads) {
  const std::string sid = "grace-cancel-1";
  PutAccountAndBilling(sid);
  const std::string path = "/v1/subjects/" + sid + "/records/account/profile";
  HttpResult r = CallJson("POST", "/v1/subjects/" + sid + "/erasure", admin_,
                          {{"mode", "grace"}, {"reason", "user request"}});
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(r.Json()["state"], "scheduled");
  EXPECT_TRUE(r.Json()["execute_at"].is_string());
  EXPECT_FALSE(r.Json()["erasure_id"].get<std::string>().empty());

  EXPECT_TRUE(IsProblem(Call("GET", path, app_), 410));
  r = Call("GET", "/v1/subjects/" + sid, dpo_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["state"], "erasure_pending");
  EXPECT_EQ(r.Json()["erasure"]["state"], "scheduled");

  r = Call("DELETE", "/v1/subjects/" + sid + "/erasure", dpo_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["state"], "cancelled");
  r = Call("GET", path, app_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["data"], json({{"email", sid + "@example.com"}}));
  EXPECT_EQ(Call("GET", "/v1/subjects/" + sid, dpo_).Json()["state"], "active");
}

TEST_F(RightsTest, LegalHoldBlocksImmediateErasureUntilReleased) {
  const std::string sid = "held-1";
  PutAccountAndBilling(sid);
  HttpResult r = CallJson("POST", "/v1/subjects/" + sid + "/legal-holds", dpo_,
                          {{"reason", "litigation 2025-17"}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string hold_id = r.Json()["hold_id"];
  ASSERT_FALSE(hold_id.empty());
  r = Call("GET", "/v1/subjects/" + sid, dpo_);
  ASSERT_EQ(r.Json()["legal_holds"].size(), 1u) << r.body;
  EXPECT_EQ(r.Json()["legal_holds"][0]["hold_id"], hold_id);

  r = CallJson("POST", "/v1/subjects/" + sid + "/erasure", dpo_,
               {{"mode", "immediate"}, {"reason", "user request"}});
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(r.Json()["state"], "scheduled");
  EXPECT_EQ(r.Json()["blocked_by_hold"], true);
  const std::string erasure_id = r.Json()["erasure_id"];

  // Held: the sweeper does not execute it.
  ASSERT_EQ(Call("POST", "/v1/admin/sweep", admin_).status, 200);
  EXPECT_EQ(Call("GET", "/v1/erasures/" + erasure_id, dpo_).Json()["state"], "scheduled");

  EXPECT_EQ(Call("DELETE", "/v1/subjects/" + sid + "/legal-holds/" + hold_id, dpo_).status, 204);
  EXPECT_TRUE(
      IsProblem(Call("DELETE", "/v1/subjects/" + sid + "/legal-holds/" + hold_id, dpo_), 404));
  r = Call("POST", "/v1/admin/sweep", admin_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_GE(r.Json()["erasures_executed"].get<std::uint64_t>(), 1u);

  r = Call("GET", "/v1/erasures/" + erasure_id, dpo_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["state"], "completed");
  EXPECT_TRUE(Vault::VerifyReceipt(r.Json()["receipt"], PublicKey()["public_key"]));
  EXPECT_TRUE(
      IsProblem(Call("GET", "/v1/subjects/" + sid + "/records/account/profile", dpo_), 410));
}

TEST_F(RightsTest, RightsInputIsChecked) {
  const std::string sid = "rights-input-1";
  PutAccountAndBilling(sid);
  const std::string erasure = "/v1/subjects/" + sid + "/erasure";
  EXPECT_TRUE(
      IsProblem(CallJson("POST", erasure, dpo_, {{"mode", "later"}, {"reason", "x"}}), 400));
  EXPECT_TRUE(IsProblem(CallJson("POST", erasure, dpo_, {{"mode", "grace"}}), 400));
  EXPECT_TRUE(IsProblem(CallJson("POST", erasure, dpo_, {{"mode", 1}, {"reason", "x"}}), 400));
  EXPECT_TRUE(IsProblem(CallJson("POST", "/v1/subjects/" + sid + "/legal-holds", dpo_,
                                 {{"reason", "x"}, {"until", "next tuesday"}}),
                        400));
  EXPECT_TRUE(IsProblem(Call("DELETE", erasure, dpo_), 404));
  EXPECT_TRUE(IsProblem(Call("GET", "/v1/erasures/nope", dpo_), 404));
  // Nothing above changed the subject.
  EXPECT_EQ(Call("GET", "/v1/subjects/" + sid, dpo_).Json()["state"], "active");
  EXPECT_EQ(Call("GET", "/v1/subjects/" + sid, dpo_).Json()["legal_holds"].size(), 0u);
}

class GraceZeroTest : public RightsServer {
 protected:
  static void SetUpTestSuite() {
    ServerProcess::Config config;
    config.policy_yaml = GraceZeroPolicyYaml();
    Start(config);
  }
  static void TearDownTestSuite() { Stop(); }
};

TEST_F(GraceZeroTest, DueGraceErasureRunsOnSweep) {
  const std::string sid = "grace-zero-1";
  PutAccountAndBilling(sid);
  HttpResult r = CallJson("POST", "/v1/subjects/" + sid + "/erasure", dpo_,
                          {{"mode", "grace"}, {"reason", "user request"}});
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string erasure_id = r.Json()["erasure_id"];
  r = Call("POST", "/v1/admin/sweep", admin_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_GE(r.Json()["erasures_executed"].get<std::uint64_t>(), 1u);
  r = Call("GET", "/v1/erasures/" + erasure_id, dpo_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["state"], "completed");
  EXPECT_TRUE(Vault::VerifyReceipt(r.Json()["receipt"], PublicKey()["public_key"]));
  EXPECT_TRUE(
      IsProblem(Call("GET", "/v1/subjects/" + sid + "/records/account/profile", dpo_), 410));
  EXPECT_EQ(Call("GET", "/v1/subjects/" + sid + "/records/billing/inv-1", dpo_).status, 200);
  EXPECT_EQ(Call("GET", "/v1/policy", app_).Json()["erasure"]["grace"], "0d");
}

}  // namespace
}  // namespace vault::e2e
