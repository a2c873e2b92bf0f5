// Policy parsing: the default, and invalid files named by line and problem.
#include "vault/policy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "test_util.h"

namespace vault {
namespace {

TEST(PolicyTest, DefaultPolicyMirrorsThePublishedOne) {
  const Policy& p = Policy::Default();
  for (const char* c : {"account", "billing", "usage", "support", "marketing"}) {
    ASSERT_NE(p.Find(c), nullptr) << c;
  }
  EXPECT_EQ(p.erasure_grace.ToString(), "31d");
  EXPECT_EQ(p.horizon.ToString(), "31d");
  EXPECT_TRUE(p.Find("billing")->survives_erasure);
  EXPECT_EQ(p.Find("billing")->retention.ToString(), "after_event: 7y");
  EXPECT_EQ(p.Find("billing")->legal_basis, LegalBasis::kLegalObligation);
  EXPECT_EQ(p.Find("usage")->retention.ToString(), "after_collection: 12m");
  EXPECT_EQ(p.Find("marketing")->consent_purpose, "marketing");
  EXPECT_EQ(p.Find("account")->index.size(), 2u);
  EXPECT_TRUE(p.PurposeAllows(*p.Find("account"), {"support"}));
  EXPECT_FALSE(p.PurposeAllows(*p.Find("account"), {"billing"}));
  EXPECT_EQ(p.source_sha256.size(), 64u);
}

TEST(PolicyTest, RenderShowsEveryCategory) {
  const std::string md = Policy::Default().RenderMarkdown();
  EXPECT_NE(md.find("| billing | legal obligation | billing | 7y after the event"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| account |"), std::string::npos);
  EXPECT_NE(md.find("carried out 31d after it is made"), std::string::npos) << md;
}

struct BadPolicy {
  const char* yaml;
  const char* expect;  // substring of the error
};

class BadPolicyTest : public ::testing::TestWithParam<BadPolicy> {};

TEST_P(BadPolicyTest, IsRefusedNamingLineAndProblem) {
  auto r = Policy::Parse(GetParam().yaml);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find(GetParam().expect), std::string::npos)
      << r.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadPolicyTest,
    ::testing::Values(
        BadPolicy{"version: 2\ncategories: {a: {legal_basis: contract, purposes: [x], retention: "
                  "until_erasure}}\n",
                  "line 1: unsupported policy version"},
        BadPolicy{"version: 1\ncategories:\n  a:\n    legal_basis: contrakt\n    purposes: [x]\n   "
                  " retention: until_erasure\n",
                  "line 4: legal_basis must be one of"},
        BadPolicy{"version: 1\ncategories:\n  a:\n    legal_basis: contract\n    purposes: [x]\n   "
                  " retention: {after_event: 7w}\n",
                  "line 6: retention.after_event must be a duration"},
        BadPolicy{"version: 1\nfoo: 1\ncategories: {}\n", "line 2: unknown key 'foo'"},
        BadPolicy{"version: 1\ncategories:\n  b:\n    legal_basis: legal_obligation\n    purposes: "
                  "[x]\n    retention: until_erasure\n    survives_erasure: true\n",
                  "line 7: category 'b' survives erasure but is retained until erasure"},
        BadPolicy{"version: 1\ncategories:\n  m:\n    legal_basis: consent\n    purposes: [x]\n    "
                  "retention: until_erasure\n",
                  "needs consent_purpose"},
        BadPolicy{"version: 1\ncategories:\n  a:\n    legal_basis: contract\n    retention: "
                  "until_erasure\n",
                  "needs a non-empty list of purposes"},
        BadPolicy{"version: 1\npasswords: {argon2id: {memory_kib: 1024}}\ncategories: {a: "
                  "{legal_basis: contract, purposes: [x], retention: until_erasure}}\n",
                  "line 2: memory_kib must be between 19456"},
        BadPolicy{"version: 1\ncategories: [\n", "line "},
        BadPolicy{"version: 1\nkeys: {cipher: des}\ncategories: {a: {legal_basis: contract, "
                  "purposes: [x], retention: until_erasure}}\n",
                  "keys.cipher must be"}),
    [](const ::testing::TestParamInfo<BadPolicy>& p) { return "case" + std::to_string(p.index); });

TEST(PolicyTest, LoadFileNamesTheFile) {
  auto r = Policy::LoadFile("/nonexistent/policy.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/nonexistent/policy.yaml"), std::string::npos);
}

TEST(PolicyTest, CheckNamesEveryBrokenSectionAtOnce) {
  // Three problems in three sections: the keys, one category, another category.
  const std::string yaml =
      "version: 1\n"
      "keys: {cipher: des}\n"
      "categories:\n"
      "  a: {legal_basis: contract, purposes: [x], retention: forever}\n"
      "  b: {legal_basis: contract, purposes: [x], retention: until_erasure}\n"
      "  c: {legal_basis: gossip, purposes: [x], retention: until_erasure}\n";
  auto r = Policy::Parse(yaml);
  ASSERT_FALSE(r.ok());
  const std::string m = r.status().message();
  EXPECT_NE(m.find("line 2: keys.cipher must be"), std::string::npos) << m;
  EXPECT_NE(m.find("line 4:"), std::string::npos) << m;
  EXPECT_NE(m.find("line 6:"), std::string::npos) << m;
  EXPECT_EQ(std::count(m.begin(), m.end(), '\n'), 2) << m;

  const std::string dir = testing::MakeTempDir("policy");
  testing::WriteFile(dir + "/p.yaml", yaml);
  auto f = Policy::LoadFile(dir + "/p.yaml");
  ASSERT_FALSE(f.ok());
  const std::string fm = f.status().message();
  EXPECT_EQ(fm.find(dir + "/p.yaml: policy line 2"), 0u) << fm;
  EXPECT_NE(fm.find("\n" + dir + "/p.yaml: policy line 6"), std::string::npos) << fm;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vault
