// Several `lethe serve` processes over one PostgreSQL database (issue 13, storage): a write
// through one server is read through another, an erasure through one is a 410 through all
// at once, an epoch rotation through one leaves every server reading. The servers share one
// data directory (keyring and root key) on this machine; the rows live in PostgreSQL.
#include <memory>
#include <string>
#include <vector>

#include "harness.h"
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

}  // namespace
}  // namespace vault::e2e
