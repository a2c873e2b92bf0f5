// Lookup by blind index: normalisation of indexed values, and entries that follow their
// records (update, delete, erasure, retention shred), uniqueness, purposes, the audit trail.
#include <gtest/gtest.h>

#include "test_util.h"
#include "vault/index_value.h"
#include "vault/testing.h"

namespace vault {
namespace {

using nlohmann::json;
using testing::TestVault;

std::optional<std::string> Norm(IndexKind kind, const json& v) {
  auto r = NormaliseIndexValue(IndexedField{"f", false, kind}, v);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::nullopt;
}

Code NormCode(IndexKind kind, const json& v) {
  return NormaliseIndexValue(IndexedField{"f", false, kind}, v).status().code();
}

TEST(IndexValueTest, EmailIsTrimmedAndLowerCasedAsciiOnly) {
  EXPECT_EQ(Norm(IndexKind::kEmail, " Alice@Example.COM\t\n"), "alice@example.com");
  // Non-ASCII bytes are kept as sent: no Unicode case folding or normalisation.
  EXPECT_EQ(Norm(IndexKind::kEmail, "J\xC3\x96RG@x.de"), "j\xC3\x96rg@x.de");
  EXPECT_EQ(Norm(IndexKind::kEmail, "   "), std::nullopt);
  EXPECT_EQ(Norm(IndexKind::kEmail, nullptr), std::nullopt);
  EXPECT_EQ(NormCode(IndexKind::kEmail, 42), Code::kPolicyViolation);
}

TEST(IndexValueTest, PhoneBecomesE164Digits) {
  for (const char* v : {"+44 20 7946 0958", "+44-20-7946-0958", "(+44) 20.7946.0958",
                        "0044 20 7946 0958", " +442079460958 "}) {
    EXPECT_EQ(Norm(IndexKind::kPhone, v), "+442079460958") << v;
  }
  // Without a country code the digits stay national: they find only the same national form.
  EXPECT_EQ(Norm(IndexKind::kPhone, "020 7946 0958"), "02079460958");
  EXPECT_EQ(Norm(IndexKind::kPhone, "123456789012345"), "123456789012345");
}

TEST(IndexValueTest, WhatIsNotAPhoneNumberIsRefusedWithoutEchoingIt) {
  for (const char* v : {"call me", "+44 20 7946 x958", "123", "1234567890123456", "+0 20 7946",
                        "44+2079460958", "++442079460958", "tel:+442079460958"}) {
    auto r = NormaliseIndexValue(IndexedField{"phone", false, IndexKind::kPhone}, v);
    ASSERT_EQ(r.status().code(), Code::kPolicyViolation) << v;
    EXPECT_EQ(r.status().message().find(v), std::string::npos);
    EXPECT_NE(r.status().message().find("'phone'"), std::string::npos);
  }
  EXPECT_EQ(NormCode(IndexKind::kPhone, 442079460958), Code::kPolicyViolation);
}

TEST(IndexValueTest, TextIsTrimmedAndLowerCasedAndScalarsAreTheirJson) {
  EXPECT_EQ(Norm(IndexKind::kText, " AB-12 "), "ab-12");
  EXPECT_EQ(Norm(IndexKind::kText, 42), "42");
  EXPECT_EQ(Norm(IndexKind::kText, true), "true");
}

TEST(IndexValueTest, PolicyKindsComeFromTheNameOrNormalize) {
  auto p = Policy::Parse(R"(version: 1
categories:
  account:
    legal_basis: contract
    purposes: [service]
    retention: until_erasure
    index: {email: {unique: true}, work_email: {}, mobile: {}, handle: {}, ref: {normalize: phone}}
)");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  std::map<std::string, IndexKind> kinds;
  for (const auto& f : p->Find("account")->index) kinds[f.name] = f.kind;
  EXPECT_EQ(kinds["email"], IndexKind::kEmail);
  EXPECT_EQ(kinds["work_email"], IndexKind::kEmail);
  EXPECT_EQ(kinds["mobile"], IndexKind::kPhone);
  EXPECT_EQ(kinds["handle"], IndexKind::kText);
  EXPECT_EQ(kinds["ref"], IndexKind::kPhone);
  auto bad = Policy::Parse(R"(version: 1
categories:
  account:
    legal_basis: contract
    purposes: [service]
    retention: until_erasure
    index: {email: {normalize: soundex}}
)");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("normalize must be one of"), std::string::npos);
}

constexpr char kPolicy[] = R"(version: 1
erasure: {grace: 31d}
keys: {epoch: 1d, horizon: 31d}
categories:
  account:
    legal_basis: contract
    purposes: [service]
    retention: until_erasure
    index: {email: {unique: true}, phone: {unique: false}}
  support:
    legal_basis: legitimate_interest
    purposes: [support]
    retention: {after_collection: 12m}
    index: {email: {}, ticket: {}}
)";

class LookupTest : public ::testing::Test {
 protected:
  void SetUp() override { t_ = TestVault::Make("lookup", kPolicy); }
  Vault& v() { return *t_->vault; }
  StatusOr<Vault::LookupResult> Find(const std::string& field, const std::string& value,
                                     const std::string& category = "") {
    return v().Lookup(t_->admin, {field, value, category, {}});
  }
  void Put(const std::string& sid, const std::string& cat, const std::string& rid,
           const json& data) {
    auto r = v().PutRecord(t_->admin, sid, cat, rid, data);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  std::size_t BlindRows() {
    t_->vault.reset();
    std::size_t n = 0;
    EXPECT_TRUE(TEST_EditTable(t_->dir + "/data", Table::kBlind, [&](TEST_Rows& rows) {
                  n = rows.size();
                }).ok());
    t_->Reopen();
    return n;
  }
  std::unique_ptr<TestVault> t_;
};

TEST_F(LookupTest, FindsTheSubjectByANormalisedValue) {
  Put("alice", "account", "profile",
      {{"email", "Alice@Example.com"}, {"phone", "+44 20 7946 0958"}});
  auto r = Find("email", "  ALICE@example.COM ", "account");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->subject_ids, std::vector<std::string>{"alice"});
  EXPECT_EQ(r->category, "account");
  for (const char* phone : {"+442079460958", "0044 (20) 7946-0958", "+44.20.7946.0958"}) {
    auto p = Find("phone", phone);
    ASSERT_TRUE(p.ok()) << phone << ": " << p.status().ToString();
    EXPECT_EQ(p->subject_ids, std::vector<std::string>{"alice"});
  }
  EXPECT_EQ(Find("email", "bob@example.com", "account").status().code(), Code::kNotFound);
}

TEST_F(LookupTest, AnUpdateMovesTheEntryAndADeleteRemovesIt) {
  Put("alice", "account", "profile", {{"email", "old@example.com"}});
  Put("alice", "account", "profile", {{"email", "new@example.com"}});
  EXPECT_EQ(Find("email", "old@example.com", "account").status().code(), Code::kNotFound);
  EXPECT_EQ(Find("email", "new@example.com", "account")->subject_ids.size(), 1u);
  // The old value is free again for another subject.
  Put("bob", "account", "profile", {{"email", "old@example.com"}});
  ASSERT_TRUE(v().DeleteRecord(t_->admin, "alice", "account", "profile").ok());
  EXPECT_EQ(Find("email", "new@example.com", "account").status().code(), Code::kNotFound);
}

TEST_F(LookupTest, ErasureRemovesTheEntriesAndAPendingOneAnswersGone) {
  Put("alice", "account", "profile", {{"email", "a@example.com"}});
  Put("bob", "account", "profile", {{"email", "b@example.com"}});
  ASSERT_TRUE(v().RequestErasure(t_->dpo, "alice", "immediate", "").ok());
  EXPECT_EQ(Find("email", "a@example.com", "account").status().code(), Code::kNotFound);
  ASSERT_TRUE(v().RequestErasure(t_->dpo, "bob", "grace", "").ok());
  EXPECT_EQ(Find("email", "b@example.com", "account").status().code(), Code::kGone);
  EXPECT_EQ(BlindRows(), 2u);  // bob's entry and its reverse, until the erasure runs
}

TEST_F(LookupTest, AUniqueValueOfAnotherSubjectIsAConflictThatChangesNothing) {
  Put("alice", "account", "profile", {{"email", "a@example.com"}});
  Put("alice", "account", "second", {{"email", "A@example.com"}});  // the same subject: fine
  Put("bob", "account", "profile", {{"email", "b@example.com"}});
  auto clash = v().PutRecord(t_->admin, "bob", "account", "profile", {{"email", " A@EXAMPLE.com"}});
  EXPECT_EQ(clash.status().code(), Code::kConflict);
  EXPECT_EQ(clash.status().message().find("example.com"), std::string::npos);
  EXPECT_EQ(v().PutRecord(t_->admin, "carol", "account", "p", {{"email", "a@example.com"}})
                .status()
                .code(),
            Code::kConflict);
  EXPECT_EQ(Find("email", "a@example.com", "account")->subject_ids,
            std::vector<std::string>{"alice"});
  EXPECT_EQ(Find("email", "b@example.com", "account")->subject_ids,
            std::vector<std::string>{"bob"});
  EXPECT_EQ(v().GetSubject(t_->admin, "carol").status().code(), Code::kNotFound);
  // Uniqueness is per category: support indexes email without it.
  Put("carol", "support", "t1", {{"email", "a@example.com"}});
  EXPECT_EQ(Find("email", "a@example.com", "support")->subject_ids,
            std::vector<std::string>{"carol"});
  // Nor does another category's entry claim a value for a unique field.
  Put("erin", "support", "t1", {{"email", "e@example.com"}});
  Put("frank", "account", "profile", {{"email", "e@example.com"}});
  EXPECT_EQ(Find("email", "e@example.com", "account")->subject_ids,
            std::vector<std::string>{"frank"});
}

TEST_F(LookupTest, ANonUniqueValueListsEverySubject) {
  Put("bob", "account", "profile", {{"phone", "+1 555 0100"}});
  Put("alice", "account", "profile", {{"phone", "+15550100"}});
  auto r = Find("phone", "+1 (555) 0100");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->subject_ids, (std::vector<std::string>{"alice", "bob"}));
  EXPECT_FALSE(r->truncated);
}

TEST_F(LookupTest, FieldsAreResolvedToOneCategoryAndPurposesApply) {
  Put("alice", "account", "profile", {{"email", "a@example.com"}});
  EXPECT_EQ(Find("name", "Alice").status().code(), Code::kPolicyViolation);
  EXPECT_EQ(Find("email", "a@example.com").status().code(), Code::kPolicyViolation);  // 2 cats
  EXPECT_EQ(Find("phone", "+1 555 0100", "support").status().code(), Code::kPolicyViolation);
  EXPECT_EQ(Find("phone", "not a phone").status().code(), Code::kPolicyViolation);
  EXPECT_EQ(Find("phone", "  ").status().code(), Code::kPolicyViolation);
  const Actor app{"app-token", Role::kApp};
  EXPECT_EQ(v().Lookup(app, {"email", "a@example.com", "account", {"support"}}).status().code(),
            Code::kPermissionDenied);
  EXPECT_EQ(v().Lookup(app, {"email", "a@example.com", "account", {"service"}})->subject_ids,
            std::vector<std::string>{"alice"});
  // The phone field's value is refused at write as at lookup, and nothing is stored.
  EXPECT_EQ(
      v().PutRecord(t_->admin, "dave", "account", "p", {{"phone", "ring me"}}).status().code(),
      Code::kPolicyViolation);
  EXPECT_EQ(v().GetSubject(t_->admin, "dave").status().code(), Code::kNotFound);
}

TEST_F(LookupTest, EveryLookupIsAuditedWithoutTheValue) {
  Put("alice", "account", "profile", {{"email", "audited@example.com"}});
  const Actor app{"app-token", Role::kApp};
  ASSERT_TRUE(v().Lookup(app, {"email", "audited@example.com", "account", {"service"}}).ok());
  (void)v().Lookup(app, {"email", "nobody@example.com", "account", {"service"}});
  (void)v().Lookup(app, {"email", "audited@example.com", "account", {"support"}});
  // A category that is no category (here: a value sent in the wrong member) is not logged.
  (void)v().Lookup(app, {"email", "x", "audited@example.com", {"service"}});
  auto entries = v().ListAudit(0, 1000);
  ASSERT_TRUE(entries.ok());
  std::vector<std::pair<std::string, bool>> seen;  // outcome, names a subject
  for (const auto& e : *entries) {
    EXPECT_EQ(json(e.actor + e.action + e.subject_ref + e.category + e.outcome)
                  .dump()
                  .find("example.com"),
              std::string::npos);
    if (e.action != "lookup") continue;
    EXPECT_EQ(e.category, e.outcome == "policy_violation" ? "" : "account");
    seen.emplace_back(e.outcome, !e.subject_ref.empty());
  }
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, bool>>{{"ok", true},
                                                             {"not_found", false},
                                                             {"permission_denied", false},
                                                             {"policy_violation", false}}));
}

TEST_F(LookupTest, ARetentionShredRemovesTheEntries) {
  Put("alice", "support", "t1", {{"ticket", "T-1"}, {"email", "a@example.com"}});
  EXPECT_EQ(Find("ticket", "t-1")->subject_ids, std::vector<std::string>{"alice"});
  t_->clock->Advance(400LL * 86400);
  auto swept = v().Sweep(t_->admin);
  ASSERT_TRUE(swept.ok()) << swept.status().ToString();
  EXPECT_EQ(swept->records_collected, 1u);
  EXPECT_EQ(Find("ticket", "t-1").status().code(), Code::kNotFound);
  EXPECT_EQ(Find("email", "a@example.com", "support").status().code(), Code::kNotFound);
  EXPECT_EQ(BlindRows(), 0u);
}

// Entries written before lookup existed hold no pseudonym: the subject is still found.
TEST_F(LookupTest, EntriesWithoutAPseudonymAreStillResolved) {
  Put("alice", "account", "profile", {{"email", "a@example.com"}});
  Put("bob", "account", "profile", {{"email", "b@example.com"}});
  t_->vault.reset();
  ASSERT_TRUE(TEST_EditTable(t_->dir + "/data", Table::kBlind, [](TEST_Rows& rows) {
                for (auto& [k, val] : rows) val.clear();
              }).ok());
  t_->Reopen();
  EXPECT_EQ(Find("email", "b@example.com", "account")->subject_ids,
            std::vector<std::string>{"bob"});
  EXPECT_EQ(v().PutRecord(t_->admin, "carol", "account", "p", {{"email", "a@example.com"}})
                .status()
                .code(),
            Code::kConflict);
}

}  // namespace
}  // namespace vault
