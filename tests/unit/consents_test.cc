// Consents: append-only history, the 409 on writes without consent, withdrawal shredding
// exactly the categories resting on it (after their delay; a re-grant cancels), and the
// history kept as proof for the policy's period, through an erasure, then shredded.
#include <gtest/gtest.h>

#include "test_util.h"
#include "vault/testing.h"

namespace vault {
namespace {

using nlohmann::json;
using testing::TestVault;

constexpr UnixSeconds kDay = 86400;
const Duration kTwoYears{2, Duration::Unit::kYears};

const char kPolicy[] = R"(version: 1
erasure: {grace: 31d}
consents: {proof_retention: 2y}
categories:
  account:
    legal_basis: contract
    purposes: [service]
    retention: until_erasure
  billing:
    legal_basis: legal_obligation
    purposes: [billing]
    retention: {after_event: 7y}
    survives_erasure: true
  marketing:
    legal_basis: consent
    consent_purpose: marketing
    purposes: [marketing]
    retention: until_erasure
    on_consent_withdrawal: 30d
    index: {email: {unique: false}}
  offers:
    legal_basis: consent
    consent_purpose: marketing
    purposes: [marketing]
    retention: {after_collection: 12m}
    on_consent_withdrawal: 0d
  research:
    legal_basis: consent
    consent_purpose: research
    purposes: [research]
    retention: until_erasure
    on_consent_withdrawal: 0d
)";

ConsentChange Grant(const std::string& source = "") { return {true, source, std::nullopt}; }
ConsentChange Withdraw(const std::string& source = "") { return {false, source, std::nullopt}; }

class ConsentsTest : public ::testing::Test {
 protected:
  void SetUp() override { t_ = TestVault::Make("consents", kPolicy); }
  Vault& v() { return *t_->vault; }
  void Put(const std::string& category, const std::string& rid) {
    auto r = v().PutRecord(t_->admin, "u", category, rid, json{{"email", rid + "@example.com"}});
    ASSERT_TRUE(r.ok()) << category << ": " << r.status().ToString();
  }
  Code Read(const std::string& category, const std::string& rid) {
    return v().GetRecord(t_->dpo, "u", category, rid).status().code();
  }
  // A subject with data in every category and both consents granted.
  void Populate() {
    ASSERT_TRUE(v().RecordConsent(app_, "u", "marketing", Grant("signup form")).ok());
    ASSERT_TRUE(v().RecordConsent(t_->dpo, "u", "research", Grant()).ok());
    Put("account", "a");
    ASSERT_TRUE(
        v().PutRecord(t_->admin, "u", "billing", "b", json{{"n", 1}}, t_->clock->Now()).ok());
    Put("marketing", "m1");
    Put("marketing", "m2");
    Put("offers", "o");
    Put("research", "r");
  }
  std::unique_ptr<TestVault> t_;
  Actor app_{"app-marketing", Role::kApp};
};

TEST(ConsentPolicyTest, ProofRetentionIsItsOwnSettingWithADefault) {
  EXPECT_EQ(Policy::Default().consent_proof_retention.ToString(), "3y");
  auto p = Policy::Parse(kPolicy);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->consent_proof_retention.ToString(), "2y");
  EXPECT_TRUE(p->IsConsentPurpose("marketing"));
  EXPECT_FALSE(p->IsConsentPurpose("service"));
  EXPECT_EQ(p->ConsentCategories("marketing").size(), 2u);
  EXPECT_NE(p->RenderMarkdown().find("kept as proof for 2y after it is withdrawn"),
            std::string::npos)
      << p->RenderMarkdown();
  auto bad = Policy::Parse(std::string(kPolicy).replace(
      std::string(kPolicy).find("proof_retention"), 15, "proof_retension"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 3"), std::string::npos) << bad.status().message();
  EXPECT_NE(bad.status().message().find("consents"), std::string::npos);
}

TEST_F(ConsentsTest, AWriteWithoutAGrantedConsentIsRefusedAndStoresNothing) {
  auto r = v().PutRecord(app_, "new", "marketing", "m", json{{"email", "x@example.com"}});
  EXPECT_EQ(r.status().code(), Code::kConflict);
  EXPECT_NE(r.status().message().find("consent for purpose 'marketing' is not granted"),
            std::string::npos)
      << r.status().message();
  // Not even the subject was created.
  EXPECT_EQ(v().GetSubject(t_->dpo, "new").status().code(), Code::kNotFound);

  Put("account", "a");
  EXPECT_EQ(v().PutRecord(t_->dpo, "u", "marketing", "m", json{{"n", 1}}).status().code(),
            Code::kConflict);
  ASSERT_TRUE(v().RecordConsent(app_, "u", "marketing", Withdraw()).ok());
  EXPECT_EQ(v().PutRecord(app_, "u", "marketing", "m", json{{"n", 1}}).status().code(),
            Code::kConflict);
  EXPECT_EQ(v().GetSubject(t_->dpo, "u")->records_by_category["marketing"], 0u);
  ASSERT_TRUE(v().RecordConsent(app_, "u", "marketing", Grant()).ok());
  EXPECT_TRUE(v().PutRecord(app_, "u", "marketing", "m", json{{"n", 1}}).ok());
  // Categories that do not rest on consent never ask.
  EXPECT_TRUE(v().PutRecord(app_, "u2", "account", "a", json{{"n", 1}}).ok());
}

TEST_F(ConsentsTest, HistoryIsAppendOnlyWithTimeSourceAndPolicyVersion) {
  const UnixSeconds t0 = t_->clock->Now();
  ASSERT_TRUE(v().RecordConsent(app_, "u", "marketing", Grant("signup form v3")).ok());
  t_->clock->Advance(kDay);
  ASSERT_TRUE(
      v().RecordConsent(t_->dpo, "u", "marketing", {false, "letter", std::string("2026-01")}).ok());
  t_->clock->Advance(kDay);
  auto last = v().RecordConsent(app_, "u", "marketing", Grant("settings page"));
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  EXPECT_TRUE(last->granted);
  EXPECT_EQ(last->at, t0 + 2 * kDay);
  EXPECT_FALSE(last->proof_until.has_value());

  auto list = v().ListConsents(t_->dpo, "u");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 1u);
  const ConsentView& c = (*list)[0];
  EXPECT_EQ(c.purpose, "marketing");
  ASSERT_EQ(c.history.size(), 3u);
  EXPECT_EQ(c.history[0].at, t0);
  EXPECT_TRUE(c.history[0].granted);
  EXPECT_EQ(c.history[0].source, "signup form v3");
  EXPECT_EQ(c.history[0].policy_version, v().policy().source_sha256);
  EXPECT_EQ(c.history[0].recorded_by, "app-marketing");
  EXPECT_FALSE(c.history[1].granted);
  EXPECT_EQ(c.history[1].policy_version, "2026-01");
  EXPECT_EQ(c.history[1].recorded_by, "test-dpo");
  EXPECT_EQ(c.history[2].source, "settings page");

  // An app sees only the consents of its purposes.
  ASSERT_TRUE(v().RecordConsent(t_->dpo, "u", "research", Grant()).ok());
  EXPECT_EQ(v().ListConsents(t_->dpo, "u")->size(), 2u);
  auto mine = v().ListConsents(app_, "u", ConsentQuery{false, {"marketing"}});
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ((*mine)[0].purpose, "marketing");

  // Sealed: the free text is nowhere in the files in clear.
  t_->vault.reset();
  EXPECT_TRUE(testing::FindMarkers(t_->dir + "/data", {"signup form v3", "settings page"}).empty());
}

TEST_F(ConsentsTest, BadRequestsAreRefusedAndChangeNothing) {
  EXPECT_EQ(v().RecordConsent(app_, "u", "service", Grant()).status().code(),
            Code::kPolicyViolation);  // a purpose, but no category rests on consent for it
  EXPECT_EQ(v().RecordConsent(app_, "u", "nope", Grant()).status().code(), Code::kPolicyViolation);
  EXPECT_EQ(v().RecordConsent(app_, "u", "marketing", Grant(std::string(257, 's'))).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(v().RecordConsent(app_, "u", "marketing", {true, "", std::string()}).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(v().RecordConsent(app_, "bad/id", "marketing", Grant()).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(v().ListConsents(t_->dpo, "u").status().code(), Code::kNotFound);
}

TEST_F(ConsentsTest, WithdrawalShredsExactlyTheCategoriesRestingOnItAfterTheirDelay) {
  Populate();
  const UnixSeconds withdrawn = t_->clock->Now();
  ASSERT_TRUE(v().RecordConsent(app_, "u", "marketing", Withdraw("unsubscribe link")).ok());

  // offers has a 0d delay: gone at the first sweep; marketing waits its 30 days.
  auto sw = v().Sweep(t_->admin);
  ASSERT_TRUE(sw.ok()) << sw.status().ToString();
  EXPECT_EQ(sw->consent_withdrawals_executed, 1u);
  EXPECT_EQ(Read("offers", "o"), Code::kNotFound);
  EXPECT_EQ(Read("marketing", "m1"), Code::kOk);

  t_->clock->Set(withdrawn + 30 * kDay - 1);
  ASSERT_EQ(v().Sweep(t_->admin)->consent_withdrawals_executed, 0u);
  EXPECT_EQ(Read("marketing", "m1"), Code::kOk);

  t_->clock->Set(withdrawn + 30 * kDay);
  sw = v().Sweep(t_->admin);
  ASSERT_TRUE(sw.ok()) << sw.status().ToString();
  EXPECT_EQ(sw->consent_withdrawals_executed, 1u);
  EXPECT_GE(sw->records_collected, 2u);
  EXPECT_EQ(Read("marketing", "m1"), Code::kNotFound);
  EXPECT_EQ(Read("marketing", "m2"), Code::kNotFound);
  // Everything else stays: other purposes' consent categories and the other legal bases.
  EXPECT_EQ(Read("account", "a"), Code::kOk);
  EXPECT_EQ(Read("billing", "b"), Code::kOk);
  EXPECT_EQ(Read("research", "r"), Code::kOk);
  auto sum = v().GetSubject(t_->dpo, "u");
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(sum->records_by_category["marketing"], 0u);
  EXPECT_EQ(sum->records_by_category["offers"], 0u);
  EXPECT_EQ(sum->records_by_category["research"], 1u);
  // The history stays (proof); nothing more runs for it.
  EXPECT_EQ(v().ListConsents(t_->dpo, "u")->at(0).history.size(), 2u);
  EXPECT_EQ(v().Sweep(t_->admin)->consent_withdrawals_executed, 0u);
}

TEST_F(ConsentsTest, ReGrantingBeforeTheDelayCancelsTheShredding) {
  Populate();
  const UnixSeconds withdrawn = t_->clock->Now();
  ASSERT_TRUE(v().RecordConsent(app_, "u", "marketing", Withdraw()).ok());
  t_->clock->Advance(10 * kDay);
  ASSERT_TRUE(v().RecordConsent(app_, "u", "marketing", Grant()).ok());
  t_->clock->Set(withdrawn + 3 * 365 * kDay);
  auto sw = v().Sweep(t_->admin);
  ASSERT_TRUE(sw.ok()) << sw.status().ToString();
  EXPECT_EQ(sw->consent_withdrawals_executed, 0u);
  EXPECT_EQ(sw->consent_proofs_shredded, 0u);
  EXPECT_EQ(Read("marketing", "m1"), Code::kOk);
  EXPECT_EQ(v().ListConsents(t_->dpo, "u")->at(0).history.size(), 3u);
}

TEST_F(ConsentsTest, AWithdrawalRepeatedDoesNotPostponeTheShredding) {
  Populate();
  const UnixSeconds withdrawn = t_->clock->Now();
  ASSERT_TRUE(v().RecordConsent(app_, "u", "marketing", Withdraw()).ok());
  t_->clock->Advance(20 * kDay);
  auto again = v().RecordConsent(app_, "u", "marketing", Withdraw());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->proof_until, kTwoYears.AddTo(withdrawn));
  t_->clock->Set(withdrawn + 30 * kDay);
  ASSERT_TRUE(v().Sweep(t_->admin).ok());
  EXPECT_EQ(Read("marketing", "m1"), Code::kNotFound);
}

TEST_F(ConsentsTest, ALegalHoldSuspendsTheShredding) {
  Populate();
  ASSERT_TRUE(v().PlaceLegalHold(t_->dpo, "u", "litigation", std::nullopt).ok());
  ASSERT_TRUE(v().RecordConsent(app_, "u", "marketing", Withdraw()).ok());
  t_->clock->Advance(31 * kDay);
  ASSERT_EQ(v().Sweep(t_->admin)->consent_withdrawals_executed, 0u);
  EXPECT_EQ(Read("marketing", "m1"), Code::kOk);
  auto holds = v().GetSubject(t_->dpo, "u")->legal_holds;
  ASSERT_EQ(holds.size(), 1u);
  ASSERT_TRUE(v().ReleaseLegalHold(t_->dpo, "u", holds[0].hold_id).ok());
  EXPECT_EQ(v().Sweep(t_->admin)->consent_withdrawals_executed, 2u);
  EXPECT_EQ(Read("marketing", "m1"), Code::kNotFound);
}

TEST_F(ConsentsTest, ProofIsKeptForItsRetentionThenShredded) {
  ASSERT_TRUE(v().RecordConsent(app_, "u", "marketing", Grant("signup")).ok());
  const UnixSeconds withdrawn = t_->clock->Now();
  auto w = v().RecordConsent(app_, "u", "marketing", Withdraw());
  ASSERT_TRUE(w.ok());
  const UnixSeconds until = kTwoYears.AddTo(withdrawn);
  EXPECT_EQ(w->proof_until, until);

  t_->clock->Set(until - 1);
  ASSERT_EQ(v().Sweep(t_->admin)->consent_proofs_shredded, 0u);
  EXPECT_EQ(v().ListConsents(t_->dpo, "u")->size(), 1u);

  t_->clock->Set(until);
  auto sw = v().Sweep(t_->admin);
  ASSERT_TRUE(sw.ok()) << sw.status().ToString();
  EXPECT_EQ(sw->consent_proofs_shredded, 1u);
  EXPECT_TRUE(v().ListConsents(t_->dpo, "u")->empty());
  // A new grant starts a new history.
  ASSERT_TRUE(v().RecordConsent(app_, "u", "marketing", Grant()).ok());
  EXPECT_EQ(v().ListConsents(t_->dpo, "u")->at(0).history.size(), 1u);
}

// Regression: with a proof retention shorter than a category's delay (or equal, both 0d), the
// proof was shredded first and the category's entry, finding no history, was dropped: the data
// was never shredded.
TEST(ConsentProofTest, TheProofOutlivesTheDataItJustifies) {
  std::string yaml = kPolicy;
  yaml.replace(yaml.find("proof_retention: 2y"), 19, "proof_retention: 1d");
  auto t = TestVault::Make("consent-proof", yaml);
  Vault& v = *t->vault;
  const Actor app{"app", Role::kApp};
  ASSERT_TRUE(v.RecordConsent(app, "u", "marketing", Grant()).ok());
  ASSERT_TRUE(v.PutRecord(app, "u", "marketing", "m", json{{"n", 1}}).ok());
  const UnixSeconds withdrawn = t->clock->Now();
  auto w = v.RecordConsent(app, "u", "marketing", Withdraw());
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->proof_until, withdrawn + 30 * kDay);
  t->clock->Set(withdrawn + 2 * kDay);
  ASSERT_EQ(v.Sweep(t->admin)->consent_proofs_shredded, 0u);
  EXPECT_EQ(v.ListConsents(t->dpo, "u")->size(), 1u);
  t->clock->Set(withdrawn + 30 * kDay);
  auto sw = v.Sweep(t->admin);
  ASSERT_TRUE(sw.ok()) << sw.status().ToString();
  EXPECT_EQ(sw->consent_withdrawals_executed, 1u);
  EXPECT_EQ(sw->consent_proofs_shredded, 1u);
  EXPECT_EQ(v.GetRecord(t->dpo, "u", "marketing", "m").status().code(), Code::kNotFound);
  EXPECT_TRUE(v.ListConsents(t->dpo, "u")->empty());
}

TEST_F(ConsentsTest, ProofSurvivesErasureForItsRetention) {
  Populate();
  const UnixSeconds erased_at = t_->clock->Now();
  auto e = v().RequestErasure(t_->dpo, "u", "immediate", "user request");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  ASSERT_EQ(e->state, "completed");
  EXPECT_EQ(Read("marketing", "m1"), Code::kGone);

  auto list = v().ListConsents(t_->dpo, "u");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 2u);
  for (const ConsentView& c : *list) {
    EXPECT_FALSE(c.granted);
    ASSERT_EQ(c.history.size(), 2u);
    EXPECT_EQ(c.history.back().source, "erasure");
    EXPECT_EQ(c.proof_until, kTwoYears.AddTo(erased_at));
  }
  // Apps no longer see the subject; a grant is refused.
  EXPECT_EQ(v().ListConsents(app_, "u", ConsentQuery{false, {"marketing"}}).status().code(),
            Code::kGone);
  EXPECT_EQ(v().RecordConsent(app_, "u", "marketing", Grant()).status().code(), Code::kGone);

  t_->clock->Set(kTwoYears.AddTo(erased_at));
  auto sw = v().Sweep(t_->admin);
  ASSERT_TRUE(sw.ok()) << sw.status().ToString();
  EXPECT_EQ(sw->consent_proofs_shredded, 2u);
  EXPECT_TRUE(v().ListConsents(t_->dpo, "u")->empty());
}

TEST_F(ConsentsTest, AnAppMayWithdrawButNotGrantUnderRestriction) {
  Populate();
  ASSERT_TRUE(v().RestrictProcessing(t_->dpo, "u", "accuracy contested").ok());
  EXPECT_EQ(v().RecordConsent(app_, "u", "marketing", Grant()).status().code(), Code::kRestricted);
  EXPECT_TRUE(v().RecordConsent(app_, "u", "marketing", Withdraw()).ok());
  EXPECT_TRUE(v().RecordConsent(t_->dpo, "u", "marketing", Grant()).ok());
}

}  // namespace
}  // namespace vault

namespace vault {
namespace {

// `or_until: consent_withdrawn` on a category of another legal basis (issue 15): the data is
// shredded at the earlier of its period and the withdrawal (after on_consent_withdrawal), by
// the consents part's own schedule; other categories stay.
TEST(ConsentOrUntilTest, RetentionEndsAtTheEarlierOfItsPeriodAndTheWithdrawal) {
  auto t = TestVault::Make("or-until", R"(version: 1
categories:
  account:
    legal_basis: contract
    purposes: [service]
    retention: until_erasure
  panel:
    legal_basis: legitimate_interest
    consent_purpose: panel
    purposes: [research]
    retention: {after_collection: 2y, or_until: consent_withdrawn}
    on_consent_withdrawal: 7d
)");
  Vault& v = *t->vault;
  ASSERT_TRUE(v.PutRecord(t->admin, "u", "account", "a", json{{"n", 1}}).ok());
  ASSERT_TRUE(v.PutRecord(t->admin, "u", "panel", "p", json{{"n", 1}}).ok());
  ASSERT_TRUE(v.PutRecord(t->admin, "w", "panel", "p", json{{"n", 1}}).ok());
  ASSERT_TRUE(v.RecordConsent(t->dpo, "u", "panel", Grant()).ok());
  const UnixSeconds withdrawn = t->clock->Now();
  ASSERT_TRUE(v.RecordConsent(t->dpo, "u", "panel", Withdraw()).ok());
  t->clock->Set(withdrawn + 7 * kDay - 1);
  ASSERT_TRUE(v.Sweep(t->admin).ok());
  EXPECT_EQ(v.GetRecord(t->dpo, "u", "panel", "p").status().code(), Code::kOk);
  t->clock->Set(withdrawn + 7 * kDay);
  auto sw = v.Sweep(t->admin);
  ASSERT_TRUE(sw.ok()) << sw.status().ToString();
  EXPECT_EQ(sw->consent_withdrawals_executed, 1u);
  EXPECT_EQ(v.GetRecord(t->dpo, "u", "panel", "p").status().code(), Code::kNotFound);
  EXPECT_EQ(v.GetRecord(t->dpo, "u", "account", "a").status().code(), Code::kOk);
  // Another subject, who never withdrew, keeps the data for its period.
  EXPECT_EQ(v.GetRecord(t->dpo, "w", "panel", "p").status().code(), Code::kOk);
  // The render publishes it now that it is enforced.
  EXPECT_NE(v.policy().RenderMarkdown().find("or earlier when consent is withdrawn"),
            std::string::npos)
      << v.policy().RenderMarkdown();
}

}  // namespace
}  // namespace vault
