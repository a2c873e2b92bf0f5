// API tokens: create, authenticate, revoke, and the token rules.
#include <gtest/gtest.h>

#include "test_util.h"

namespace vault {
namespace {

using nlohmann::json;
using testing::TestVault;

TEST(TokensTest, CreateAuthenticateRevoke) {
  auto t = TestVault::Make("tokens");
  auto& v = *t->vault;
  auto tok = v.CreateToken(t->admin, Role::kApp, {"service", "billing"}, "backend");
  ASSERT_TRUE(tok.ok());
  auto info = v.Authenticate(tok->secret);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->role, Role::kApp);
  EXPECT_EQ(info->purposes, (std::vector<std::string>{"service", "billing"}));
  EXPECT_EQ(tok->info.name, "backend");
  std::string wrong = tok->secret;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(v.Authenticate(wrong).status().code(), Code::kUnauthenticated);
  EXPECT_EQ(v.Authenticate("garbage").status().code(), Code::kUnauthenticated);
  EXPECT_EQ(v.CreateToken(t->admin, Role::kApp, {}, "").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(v.CreateToken(t->admin, Role::kDpo, {"x"}, "").status().code(), Code::kInvalidArgument);
  ASSERT_TRUE(v.RevokeToken(t->admin, tok->info.token_id).ok());
  EXPECT_EQ(v.Authenticate(tok->secret).status().code(), Code::kUnauthenticated);
}

}  // namespace
}  // namespace vault
