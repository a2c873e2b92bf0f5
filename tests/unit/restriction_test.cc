// Restriction of processing (GDPR Art. 18): apps are refused, dpo/admin reads work and are
// audited as reads of a restricted subject, the reason is sealed and shown to dpo/admin only,
// lifting is audited.
#include <gtest/gtest.h>

#include "test_util.h"
#include "vault/testing.h"

namespace vault {
namespace {

using nlohmann::json;
using testing::TestVault;

class RestrictionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    t_ = TestVault::Make("restriction");
    ASSERT_TRUE(v().PutRecord(app_, "u", "account", "a", json{{"n", 1}}).ok());
  }
  Vault& v() { return *t_->vault; }
  // The actions of the audit log, in order.
  std::vector<std::string> Actions() {
    EXPECT_TRUE(v().VerifyAudit().ok());
    auto entries = v().ListAudit(0, 1000);
    EXPECT_TRUE(entries.ok());
    std::vector<std::string> out;
    for (const auto& e : *entries) out.push_back(e.action + ":" + e.outcome);
    return out;
  }
  static bool Has(const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  }
  std::unique_ptr<TestVault> t_;
  Actor app_{"app-1", Role::kApp};
};

TEST_F(RestrictionTest, AppsAreRefusedDpoReadsWorkAndAreAuditedAsSuch) {
  const UnixSeconds since = t_->clock->Now();
  auto r = v().RestrictProcessing(t_->dpo, "u", "the subject contests the accuracy");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->restricted);
  EXPECT_EQ(r->since, since);

  EXPECT_EQ(v().GetRecord(app_, "u", "account", "a").status().code(), Code::kRestricted);
  EXPECT_EQ(v().ListRecords(app_, "u", "account").status().code(), Code::kRestricted);
  EXPECT_EQ(v().PutRecord(app_, "u", "account", "b", json{{"n", 2}}).status().code(),
            Code::kRestricted);
  EXPECT_EQ(v().DeleteRecord(app_, "u", "account", "a").code(), Code::kRestricted);
  EXPECT_TRUE(v().GetRecord(t_->dpo, "u", "account", "a", ReadOptions{true}).ok());
  EXPECT_TRUE(v().ListRecords(t_->admin, "u", "account", ReadOptions{true}).ok());

  const auto actions = Actions();
  EXPECT_TRUE(Has(actions, "restriction.place:ok"));
  EXPECT_TRUE(Has(actions, "record.get:restricted"));
  EXPECT_TRUE(Has(actions, "record.get.restricted:ok"));
  EXPECT_TRUE(Has(actions, "record.list.restricted:ok"));
}

TEST_F(RestrictionTest, SummaryShowsSinceAndReasonToDpoOnly) {
  t_->clock->Advance(60);
  ASSERT_TRUE(v().RestrictProcessing(t_->dpo, "u", "first reason").ok());
  const UnixSeconds since = t_->clock->Now();
  t_->clock->Advance(60);
  // Placing it again replaces the reason and keeps since.
  ASSERT_TRUE(v().RestrictProcessing(t_->dpo, "u", "objection pending").ok());
  auto dpo = v().GetSubject(t_->dpo, "u");
  ASSERT_TRUE(dpo.ok());
  EXPECT_TRUE(dpo->restricted);
  EXPECT_EQ(dpo->restricted_since, since);
  EXPECT_EQ(dpo->restriction_reason, "objection pending");
  auto app = v().GetSubject(app_, "u", SummaryOptions{false, {"service"}});
  ASSERT_TRUE(app.ok());
  EXPECT_TRUE(app->restricted);
  EXPECT_FALSE(app->restricted_since.has_value());
  EXPECT_TRUE(app->restriction_reason.empty());
  auto got = v().GetRestriction(t_->dpo, "u");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->reason, "objection pending");

  t_->vault.reset();
  EXPECT_TRUE(
      testing::FindMarkers(t_->dir + "/data", {"objection pending", "first reason"}).empty());
}

TEST_F(RestrictionTest, LiftingRestoresAppAccessAndIsAudited) {
  ASSERT_TRUE(v().RestrictProcessing(t_->dpo, "u", "accuracy").ok());
  ASSERT_TRUE(v().LiftRestriction(t_->admin, "u").ok());
  EXPECT_TRUE(v().GetRecord(app_, "u", "account", "a").ok());
  EXPECT_FALSE(v().GetSubject(t_->dpo, "u")->restricted);
  EXPECT_FALSE(v().GetRestriction(t_->dpo, "u")->restricted);
  EXPECT_EQ(v().LiftRestriction(t_->admin, "u").code(), Code::kNotFound);
  EXPECT_TRUE(Has(Actions(), "restriction.lift:ok"));
  EXPECT_TRUE(Has(Actions(), "restriction.lift:not_found"));
}

TEST_F(RestrictionTest, BadRequestsChangeNothing) {
  EXPECT_EQ(v().RestrictProcessing(t_->dpo, "u", "").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(
      v().RestrictProcessing(t_->dpo, "u", std::string(kMaxReasonBytes + 1, 'r')).status().code(),
      Code::kInvalidArgument);
  EXPECT_EQ(v().RestrictProcessing(t_->dpo, "nobody", "x").status().code(), Code::kNotFound);
  EXPECT_FALSE(v().GetSubject(t_->dpo, "u")->restricted);
  EXPECT_TRUE(v().GetRecord(app_, "u", "account", "a").ok());
}

TEST_F(RestrictionTest, ErasureTakesTheReasonWithIt) {
  ASSERT_TRUE(v().RestrictProcessing(t_->dpo, "u", "accuracy").ok());
  ASSERT_TRUE(v().RequestErasure(t_->dpo, "u", "immediate", "").ok());
  auto got = v().GetRestriction(t_->dpo, "u");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(got->restricted);
  EXPECT_TRUE(got->reason.empty());
  EXPECT_EQ(v().RestrictProcessing(t_->dpo, "u", "again").status().code(), Code::kGone);
}

}  // namespace
}  // namespace vault
