// Several `lethe serve` processes over one PostgreSQL database (issue 13, storage): a write
// through one server is read through another, an erasure through one is a 410 through all
// at once, an epoch rotation through one leaves every server reading. The servers share one
// data directory (keyring and root key) on this machine; the rows live in PostgreSQL. With
// the root key in a PKCS#11 token (SoftHSM2), they share nothing but the store and the token.
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "harness.h"
#include "tests/hsm/softhsm.h"
#include "tests/pg_cluster.h"

namespace vault::e2e {
namespace {

class FleetTest : public ::testing::Test {
 protected:
  void StartFleet(int servers) {
    std::string url;
    LETHE_PG_DATABASE_OR_SKIP(url);
    ServerProcess::Config first;
    first.store = url;
    fleet_.push_back(ServerProcess::Start(first));
    for (int i = 1; i < servers; ++i) {
      ServerProcess::Config more = first;
      more.join = true;
      more.data_dir = fleet_[0]->data_dir();
      more.admin_token = fleet_[0]->admin_token();
      fleet_.push_back(ServerProcess::Start(more));
    }
    admin_ = fleet_[0]->admin_token();
  }
  HttpResult Put(ServerProcess& s, const std::string& sid, const std::string& rec, int v) {
    return s.CallJson("PUT", "/v1/subjects/" + sid + "/records/account/" + rec, admin_,
                      {{"data", {{"v", v}}}});
  }
  HttpResult Get(ServerProcess& s, const std::string& sid, const std::string& rec) {
    return s.Call("GET", "/v1/subjects/" + sid + "/records/account/" + rec, admin_);
  }

  std::vector<std::unique_ptr<ServerProcess>> fleet_;
  std::string admin_;
};

TEST_F(FleetTest, TwoServersShareWritesAndTokens) {
  StartFleet(2);
  if (fleet_.empty()) return;  // skipped
  ASSERT_EQ(Put(*fleet_[0], "fleet-a", "r1", 1).status, 201);
  HttpResult r = Get(*fleet_[1], "fleet-a", "r1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["data"]["v"], 1);
  // An update through the second is read through the first; a token made through one
  // works on the other.
  ASSERT_EQ(Put(*fleet_[1], "fleet-a", "r1", 2).status, 200);
  EXPECT_EQ(Get(*fleet_[0], "fleet-a", "r1").Json()["data"]["v"], 2);
  const std::string app = fleet_[1]->CreateToken("app", {"service"});
  EXPECT_EQ(fleet_[0]->Call("GET", "/v1/subjects/fleet-a/records/account/r1", app).status, 200);
}

TEST_F(FleetTest, AnErasureThroughOneServerIsGoneThroughAllAtOnce) {
  StartFleet(3);
  if (fleet_.empty()) return;
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Put(*fleet_[i], "fleet-e", "r" + std::to_string(i), i).status, 201);
  }
  for (auto& s : fleet_) ASSERT_EQ(Get(*s, "fleet-e", "r2").status, 200);  // warm every server
  HttpResult r = fleet_[1]->CallJson("POST", "/v1/subjects/fleet-e/erasure", admin_,
                                     {{"mode", "immediate"}, {"reason", "user request"}});
  ASSERT_EQ(r.status, 200) << r.body;
  for (auto& s : fleet_) {
    for (int i = 0; i < 3; ++i) {
      EXPECT_TRUE(IsProblem(Get(*s, "fleet-e", "r" + std::to_string(i)), 410));
    }
    EXPECT_TRUE(IsProblem(Put(*s, "fleet-e", "r9", 9), 410));
  }
}

TEST_F(FleetTest, AnEpochRotationThroughOneServerLeavesEveryServerReading) {
  StartFleet(2);
  if (fleet_.empty()) return;
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(Put(*fleet_[i % 2], "fleet-r" + std::to_string(i), "r", i).status, 201);
  }
  HttpResult r = fleet_[0]->CallJson("POST", "/v1/admin/epochs/rotate", admin_, json::object());
  ASSERT_EQ(r.status, 200) << r.body;
  for (int i = 0; i < 20; ++i) {
    for (auto& s : fleet_) {
      HttpResult g = Get(*s, "fleet-r" + std::to_string(i), "r");
      ASSERT_EQ(g.status, 200) << g.body;
      EXPECT_EQ(g.Json()["data"]["v"], i);
    }
  }
  // New writes after the rotation, through the server that did not rotate, read everywhere.
  ASSERT_EQ(Put(*fleet_[1], "fleet-r-new", "r", 7).status, 201);
  EXPECT_EQ(Get(*fleet_[0], "fleet-r-new", "r").Json()["data"]["v"], 7);
  // The audit chain written by both servers verifies.
  r = fleet_[1]->Call("GET", "/v1/audit/verify", admin_);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["ok"], true) << r.body;
}

// Two servers, each on its own empty data directory, over one database and one token: the
// keyring is the token's (epoch keys as token objects, system keys in a store row), so a
// rotation through one is followed by the other, and `lethe root rotate` works with --store.
TEST_F(FleetTest, ServersOnTheirOwnDataDirectoriesShareTheTokensKeyring) {
  std::string url;
  LETHE_PG_DATABASE_OR_SKIP(url);
  TempDir dir;
  VAULT_SOFTHSM_TOKEN(token, dir.path());
  ::setenv("LETHE_ROOT_KEY_PKCS11", token.Spec("fleet-root").c_str(), 1);
  struct Unset {
    ~Unset() { ::unsetenv("LETHE_ROOT_KEY_PKCS11"); }
  } unset;
  ServerProcess::Config first;
  first.store = url;
  first.data_dir = dir.Join("a");
  fleet_.push_back(ServerProcess::Start(first));
  ServerProcess::Config second = first;
  second.join = true;
  second.data_dir = dir.Join("b");
  second.admin_token = fleet_[0]->admin_token();
  std::filesystem::create_directory(second.data_dir);
  fleet_.push_back(ServerProcess::Start(second));
  admin_ = fleet_[0]->admin_token();
  for (const char* d : {"a", "b"}) {
    EXPECT_FALSE(std::filesystem::exists(dir.Join(d) + "/keyring")) << d;
    EXPECT_FALSE(std::filesystem::exists(dir.Join(d) + "/root.key")) << d;
  }
  ASSERT_EQ(Put(*fleet_[0], "own-a", "r", 1).status, 201);
  EXPECT_EQ(Get(*fleet_[1], "own-a", "r").Json()["data"]["v"], 1);
  HttpResult r = fleet_[1]->CallJson("POST", "/v1/admin/epochs/rotate", admin_, json::object());
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(Put(*fleet_[0], "own-b", "r", 2).status, 201);  // wrapped under the new epoch
  for (auto& s : fleet_) {
    EXPECT_EQ(Get(*s, "own-a", "r").Json()["data"]["v"], 1);
    EXPECT_EQ(Get(*s, "own-b", "r").Json()["data"]["v"], 2);
  }
  r = fleet_[0]->CallJson("POST", "/v1/subjects/own-a/erasure", admin_,
                          {{"mode", "immediate"}, {"reason", "user request"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(IsProblem(Get(*fleet_[1], "own-a", "r"), 410));

  // Root rotation with every server stopped, through the second's (empty) directory.
  for (auto& s : fleet_) ASSERT_EQ(s->Terminate(), 0);
  const CliResult rotated =
      RunVault({"root", "rotate", "--data-dir", second.data_dir, "--store", url});
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  EXPECT_NE(rotated.out.find("C_DestroyObject"), std::string::npos) << rotated.out;
  for (auto& s : fleet_) {
    s->Restart({"--sweep-interval", "0"});
    EXPECT_EQ(Get(*s, "own-b", "r").Json()["data"]["v"], 2);
  }
  fleet_.clear();  // before the token's directory goes
}

}  // namespace
}  // namespace vault::e2e
