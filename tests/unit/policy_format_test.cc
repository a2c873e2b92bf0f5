// The policy format's rules: several legal bases, named and compound retention, retention
// from the first receipt, transforms and minimisation on write, and a render that states
// only what is enforced and what the file states.
#include <gtest/gtest.h>

#include <string>

#include "test_util.h"
#include "vault/policy.h"
#include "vault/write_rules.h"

namespace vault {
namespace {

using nlohmann::json;
using testing::TestVault;

std::string WithCategory(const std::string& body) {
  return "version: 1\ncategories:\n  c:\n" + body;
}

std::string ErrorOf(const std::string& yaml) {
  auto r = Policy::Parse(yaml);
  return r.ok() ? "parsed" : r.status().message();
}

TEST(PolicyFormatTest, SeveralLegalBasesOrOne) {
  auto p = Policy::Parse(WithCategory(
      "    legal_basis: [contract, legal_obligation]\n    purposes: [billing]\n"
      "    retention: {after_event: 7y, event: transaction}\n    survives_erasure: true\n"));
  ASSERT_TRUE(p.ok()) << p.status().message();
  const Category& c = *p->Find("c");
  ASSERT_EQ(c.legal_bases.size(), 2u);
  EXPECT_EQ(c.legal_basis, LegalBasis::kContract);
  EXPECT_EQ(c.legal_bases[1], LegalBasis::kLegalObligation);
  EXPECT_EQ(c.retention.event, "transaction");
  EXPECT_EQ(c.retention.ToString(), "after_event: 7y, event: transaction");
  EXPECT_NE(p->RenderMarkdown().find("| c | contract + legal obligation | billing | 7y after "
                                     "the transaction"),
            std::string::npos)
      << p->RenderMarkdown();
  EXPECT_EQ(Policy::Default().Find("billing")->legal_bases.size(), 1u);
}

TEST(PolicyFormatTest, BadRulesAreRefusedNamingLineAndProblem) {
  const std::string base = "    purposes: [x]\n";
  const std::pair<std::string, std::string> cases[] = {
      {"    legal_basis: [contract, contract]\n" + base + "    retention: until_erasure\n",
       "line 4: legal_basis lists contract twice"},
      {"    legal_basis: []\n" + base + "    retention: until_erasure\n",
       "line 4: legal_basis must not be an empty list"},
      {"    legal_basis: [contract, gossip]\n" + base + "    retention: until_erasure\n",
       "line 4: legal_basis must be one of"},
      {"    legal_basis: [contract, consent]\n" + base + "    retention: until_erasure\n",
       "needs consent_purpose"},
      {"    legal_basis: contract\n" + base + "    retention: {after_collection: 2y, event: x}\n",
       "line 6: retention.event names the event of after_event"},
      {"    legal_basis: contract\n" + base +
           "    retention: {after_collection: 2y, after_first_collection: 2y}\n",
       "line 6: retention takes exactly one of"},
      {"    legal_basis: contract\n" + base +
           "    retention: {after_collection: 2y, or_until: consent_withdrawn}\n",
       "line 6: retention.or_until: consent_withdrawn needs consent_purpose"},
      {"    legal_basis: contract\n" + base +
           "    retention: {after_collection: 2y, or_until: "
           "forever}\n",
       "line 6: retention.or_until must be consent_withdrawn"},
      {"    legal_basis: contract\n" + base +
           "    retention: until_erasure\n    transforms: {ip: hash}\n",
       "line 7: transforms.ip must be truncate_ip"},
      {"    legal_basis: contract\n" + base +
           "    retention: until_erasure\n    forbid: [payment_card_number, ssn]\n",
       "line 7: forbid entries must be payment_card_number or cvv"},
      {"    legal_basis: contract\n" + base + "    retention: until_erasure\n    forbid: []\n",
       "line 7: forbid must be a non-empty list"},
  };
  for (const auto& [body, expect] : cases) {
    const std::string m = ErrorOf(WithCategory(body));
    EXPECT_NE(m.find(expect), std::string::npos) << body << "\n=> " << m;
  }
}

TEST(PolicyFormatTest, RenderStatesOnlyTheSettingsTheFileStates) {
  auto p = Policy::Parse(WithCategory(
      "    legal_basis: consent\n    consent_purpose: news\n    purposes: [marketing]\n"
      "    retention: {after_last_activity: 2y, or_until: consent_withdrawn}\n"
      "    on_consent_withdrawal: 30d\n"));
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_TRUE(p->stated.empty());
  const std::string md = p->RenderMarkdown();
  for (const char* absent : {"31d", "grace", "backup", "epoch", "horizon"}) {
    EXPECT_EQ(md.find(absent), std::string::npos) << absent << " in:\n" << md;
  }
  // Withdrawal shredding and `or_until: consent_withdrawn` are enforced (the consents part's
  // schedule) and stated, so both are published.
  EXPECT_NE(md.find("deleted within 30d of consent withdrawal"), std::string::npos) << md;
  EXPECT_NE(md.find("or earlier when consent is withdrawn"), std::string::npos) << md;
  EXPECT_NE(md.find("2y of inactivity"), std::string::npos) << md;
  const std::string all = p->RenderMarkdown(/*with_defaults=*/true);
  EXPECT_NE(all.find("31d (vault default: this policy does not state it)"), std::string::npos)
      << all;
}

TEST(PolicyFormatTest, RenderGivesTheTrueBackupAndErasureFigures) {
  // The default policy: grace 31d, horizon 31d, epoch 1d. A backup lives horizon + epoch; erased
  // data is gone from every copy grace + horizon + epoch after the request.
  const std::string md = Policy::Default().RenderMarkdown();
  EXPECT_NE(md.find("unreadable at most 32d after it is taken"), std::string::npos) << md;
  EXPECT_NE(md.find("at most 63d after a deletion request"), std::string::npos) << md;
  EXPECT_NE(md.find("or 32d after an immediate erasure"), std::string::npos) << md;
  EXPECT_NE(md.find("deleted within 30d of consent withdrawal"), std::string::npos) << md;
  EXPECT_EQ(md.find("(vault default"), std::string::npos) << md;
}

TEST(WriteRulesTest, RecognisesCardNumbersByLuhn) {
  EXPECT_TRUE(HoldsPaymentCardNumber("4111111111111111"));
  EXPECT_TRUE(HoldsPaymentCardNumber("card 4111 1111 1111 1111 exp 12/29"));
  EXPECT_TRUE(HoldsPaymentCardNumber("5500-0000-0000-0004"));
  EXPECT_TRUE(HoldsPaymentCardNumber("378282246310005"));    // 15 digits
  EXPECT_FALSE(HoldsPaymentCardNumber("4111111111111112"));  // Luhn fails
  EXPECT_FALSE(HoldsPaymentCardNumber("4242"));              // the last four are fine
  EXPECT_FALSE(HoldsPaymentCardNumber("ch_3MmlLrLkdIwHu7ix0snN0B15"));
  EXPECT_FALSE(HoldsPaymentCardNumber("41111111111111111111111"));  // 23 digits: no card
}

TEST(WriteRulesTest, TruncatesIpAddresses) {
  EXPECT_EQ(TruncateIp("203.0.113.195"), "203.0.113.0");
  EXPECT_EQ(TruncateIp("2001:db8:85a3:8d3:1319:8a2e:370:7348"), "2001:db8:85a3::");
  EXPECT_EQ(TruncateIp("::ffff:198.51.100.7"), "::ffff:198.51.100.0");
  EXPECT_EQ(TruncateIp("203.0.113.0"), "203.0.113.0");
  EXPECT_EQ(TruncateIp("not an address"), std::nullopt);
  EXPECT_EQ(TruncateIp("fe80::1%eth0"), std::nullopt);
}

const char kWritePolicy[] = R"(version: 1
categories:
  billing:
    legal_basis: [contract, legal_obligation]
    purposes: [billing]
    retention: {after_event: 7y, event: transaction}
    survives_erasure: true
    forbid: [payment_card_number, cvv]
  usage:
    legal_basis: legitimate_interest
    purposes: [analytics]
    retention: {after_first_collection: 12m}
    transforms: {ip: truncate_ip}
)";

TEST(WriteRulesTest, ForbiddenDataIsRefusedNamingTheFieldNeverTheValue) {
  auto t = TestVault::Make("forbid", kWritePolicy);
  auto r = t->vault->PutRecord(t->dpo, "s1", "billing", "inv1",
                               json{{"last4", "1111"}, {"note", "paid 4111 1111 1111 1111"}});
  ASSERT_EQ(r.status().code(), Code::kPolicyViolation);
  EXPECT_NE(r.status().message().find("field 'note'"), std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().message().find("4111"), std::string::npos) << r.status().message();
  r = t->vault->PutRecord(t->dpo, "s1", "billing", "inv1",
                          json{{"card", {{"exp", "12/29"}, {"CVV", "123"}}}});
  ASSERT_EQ(r.status().code(), Code::kPolicyViolation);
  EXPECT_NE(r.status().message().find("field 'card.CVV'"), std::string::npos);
  EXPECT_EQ(r.status().message().find("123"), std::string::npos);
  EXPECT_EQ(t->vault->GetRecord(t->dpo, "s1", "billing", "inv1").status().code(), Code::kNotFound);
  EXPECT_TRUE(t->vault->PutRecord(t->dpo, "s1", "billing", "inv1", json{{"last4", "1111"}}).ok());
}

TEST(WriteRulesTest, IpIsTruncatedBeforeItIsStored) {
  auto t = TestVault::Make("truncate", kWritePolicy);
  ASSERT_TRUE(t->vault->PutRecord(t->dpo, "s1", "usage", "e1", json{{"ip", "198.51.100.77"}}).ok());
  auto got = t->vault->GetRecord(t->dpo, "s1", "usage", "e1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(testing::Data(*got)["ip"], "198.51.100.0");
  auto bad = t->vault->PutRecord(t->dpo, "s1", "usage", "e2", json{{"ip", "secret-host"}});
  EXPECT_EQ(bad.status().code(), Code::kPolicyViolation);
  EXPECT_EQ(bad.status().message().find("secret-host"), std::string::npos);
}

TEST(WriteRulesTest, AnUpdateCannotExtendRetentionFromFirstReceipt) {
  auto t = TestVault::Make("first", kWritePolicy);
  auto first = t->vault->PutRecord(t->dpo, "s1", "usage", "e1", json{{"n", 1}});
  ASSERT_TRUE(first.ok());
  t->clock->Advance(200 * 86400);
  auto second = t->vault->PutRecord(t->dpo, "s1", "usage", "e1", json{{"n", 2}});
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(second->retain_until, first->retain_until);
  EXPECT_EQ(second->version, 2u);
  t->clock->Set(first->retain_until);
  auto late = t->vault->PutRecord(t->dpo, "s1", "usage", "e1", json{{"n", 3}});
  EXPECT_EQ(late.status().code(), Code::kPolicyViolation);
}

}  // namespace
}  // namespace vault
