// End-to-end: system endpoints, policy, records, roles, purpose limitation, tokens, admin, audit.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

namespace vault::e2e {
namespace {

class ApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = ServerProcess::Start({}).release();
    std::set<std::string> purposes;
    const json policy = server_->Call("GET", "/v1/policy", server_->admin_token()).Json();
    for (const auto& [name, cat] : policy["categories"].items()) {
      for (const auto& p : cat["purposes"]) purposes.insert(p.get<std::string>());
    }
    tokens_["admin"] = server_->admin_token();
    tokens_["dpo"] = server_->CreateToken("dpo", {});
    tokens_["auditor"] = server_->CreateToken("auditor", {});
    tokens_["app"] = server_->CreateToken("app", {purposes.begin(), purposes.end()});
    tokens_["app_billing"] = server_->CreateToken("app", {"billing"});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  static HttpResult Call(const std::string& method, const std::string& path,
                         const std::string& role,
                         const std::optional<std::string>& body = std::nullopt) {
    return server_->Call(method, path, role.empty() ? "" : tokens_[role], body);
  }
  static HttpResult CallJson(const std::string& method, const std::string& path,
                             const std::string& role, const json& body) {
    return server_->CallJson(method, path, tokens_[role], body);
  }

  static ServerProcess* server_;
  static std::map<std::string, std::string> tokens_;
};

ServerProcess* ApiTest::server_ = nullptr;
std::map<std::string, std::string> ApiTest::tokens_;

TEST_F(ApiTest, HealthzAnswersWithoutToken) {
  const HttpResult r = Call("GET", "/healthz", "");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Json(), json({{"status", "ok"}}));
}

TEST_F(ApiTest, PolicyShowsCategoriesToEveryRole) {
  for (const std::string role : {"admin", "dpo", "app", "auditor"}) {
    const HttpResult r = Call("GET", "/v1/policy", role);
    ASSERT_EQ(r.status, 200) << role;
    const json j = r.Json();
    ASSERT_TRUE(j["categories"].is_object());
    for (const std::string cat : {"account", "billing", "usage", "support", "marketing"}) {
      ASSERT_TRUE(j["categories"].contains(cat)) << cat;
      const json& c = j["categories"][cat];
      EXPECT_TRUE(c["legal_basis"].is_string());
      EXPECT_TRUE(c["purposes"].is_array());
      EXPECT_TRUE(c.contains("retention"));
      EXPECT_TRUE(c["survives_erasure"].is_boolean());
    }
    EXPECT_EQ(j["categories"]["billing"]["survives_erasure"], true);
    EXPECT_EQ(j["categories"]["billing"]["legal_basis"], "legal_obligation");
    EXPECT_EQ(j["categories"]["account"]["retention"], "until_erasure");
  }
}

TEST_F(ApiTest, RecordLifecycle) {
  const std::string path = "/v1/subjects/crud-subject/records/account/profile";
  HttpResult r = CallJson("PUT", path, "app", {{"data", {{"email", "a@example.com"}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  json j = r.Json();
  EXPECT_EQ(j["subject_id"], "crud-subject");
  EXPECT_EQ(j["category"], "account");
  EXPECT_EQ(j["record_id"], "profile");
  EXPECT_EQ(j["version"], 1);
  EXPECT_TRUE(j["retain_until"].is_null());

  r = CallJson("PUT", path, "app", {{"data", {{"email", "b@example.com"}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["version"], 2);

  r = Call("GET", path, "app");
  ASSERT_EQ(r.status, 200) << r.body;
  j = r.Json();
  EXPECT_EQ(j["data"], json({{"email", "b@example.com"}}));
  EXPECT_EQ(j["version"], 2);
  for (const char* field : {"subject_id", "category", "record_id", "created_at", "updated_at"}) {
    EXPECT_TRUE(j.contains(field)) << field;
  }
  EXPECT_TRUE(j.contains("retain_until"));

  r = CallJson("PUT", "/v1/subjects/crud-subject/records/billing/inv-1", "admin",
               {{"data", {{"amount", 12}}}, {"event_time", "2024-01-15T10:00:00Z"}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_TRUE(r.Json()["retain_until"].is_string());
  r = Call("GET", "/v1/subjects/crud-subject/records/billing/inv-1", "dpo");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["event_time"], "2024-01-15T10:00:00Z");

  r = Call("GET", "/v1/subjects/crud-subject/records/account", "dpo");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.Json()["records"].size(), 1u);
  EXPECT_EQ(r.Json()["records"][0]["record_id"], "profile");

  r = Call("GET", "/v1/subjects/crud-subject", "app");
  ASSERT_EQ(r.status, 200) << r.body;
  j = r.Json();
  EXPECT_EQ(j["subject_id"], "crud-subject");
  EXPECT_EQ(j["state"], "active");
  EXPECT_EQ(j["restricted"], false);
  EXPECT_TRUE(j["legal_holds"].is_array());
  EXPECT_TRUE(j["erasure"].is_null());
  bool saw_account = false;
  for (const json& c : j["categories"]) {
    if (c["category"] == "account") {
      saw_account = true;
      EXPECT_EQ(c["records"], 1);
    }
  }
  EXPECT_TRUE(saw_account);

  r = Call("DELETE", path, "app");
  ASSERT_EQ(r.status, 204) << r.body;
  EXPECT_TRUE(IsProblem(Call("GET", path, "app"), 404));
  EXPECT_TRUE(IsProblem(Call("GET", "/v1/subjects/never-seen", "dpo"), 404));
}

TEST_F(ApiTest, PurposeLimitation) {
  const std::string account = "/v1/subjects/purpose-subject/records/account/p";
  const std::string billing = "/v1/subjects/purpose-subject/records/billing/b";
  ASSERT_EQ(CallJson("PUT", account, "admin", {{"data", {{"x", 1}}}}).status, 201);
  EXPECT_TRUE(IsProblem(Call("GET", account, "app_billing"), 403));
  EXPECT_TRUE(IsProblem(CallJson("PUT", account, "app_billing", {{"data", {{"x", 2}}}}), 403));
  EXPECT_TRUE(
      IsProblem(Call("GET", "/v1/subjects/purpose-subject/records/account", "app_billing"), 403));
  EXPECT_TRUE(IsProblem(Call("DELETE", account, "app_billing"), 403));
  EXPECT_EQ(CallJson("PUT", billing, "app_billing", {{"data", {{"amount", 3}}}}).status, 201);
  EXPECT_EQ(Call("GET", billing, "app_billing").status, 200);
  // The refused write changed nothing.
  EXPECT_EQ(Call("GET", account, "admin").Json()["data"], json({{"x", 1}}));
}

struct Endpoint {
  std::string method;
  std::string path;
  std::optional<std::string> body;
  std::set<std::string> allowed;
};

TEST_F(ApiTest, EachRoleAgainstEachEndpoint) {
  const std::set<std::string> all = {"admin", "dpo", "app", "auditor"};
  const std::set<std::string> records = {"admin", "dpo", "app"};
  const std::set<std::string> rights = {"admin", "dpo"};
  const std::set<std::string> admin = {"admin"};
  const std::set<std::string> audit = {"admin", "auditor"};
  const std::string data = R"({"data":{"k":"v"}})";
  // {S} in a path is replaced by a subject id unique to the (endpoint, role) pair.
  const std::vector<Endpoint> endpoints = {
      {"GET", "/v1/policy", std::nullopt, all},
      {"PUT", "/v1/subjects/{S}/records/account/r1", data, records},
      {"GET", "/v1/subjects/{S}/records/account/r1", std::nullopt, records},
      {"GET", "/v1/subjects/{S}/records/account", std::nullopt, records},
      {"DELETE", "/v1/subjects/{S}/records/account/r1", std::nullopt, records},
      {"GET", "/v1/subjects/{S}", std::nullopt, records},
      {"POST", "/v1/subjects/{S}/erasure", R"({"mode":"grace","reason":"user asked"})", rights},
      {"DELETE", "/v1/subjects/{S}/erasure", std::nullopt, rights},
      {"GET", "/v1/erasures/no-such-erasure", std::nullopt, rights},
      {"POST", "/v1/subjects/{S}/legal-holds", R"({"reason":"litigation"})", rights},
      {"DELETE", "/v1/subjects/{S}/legal-holds/no-such-hold", std::nullopt, rights},
      {"GET", "/v1/receipts/public-key", std::nullopt, all},
      {"POST", "/v1/tokens", R"({"role":"auditor"})", admin},
      {"DELETE", "/v1/tokens/no-such-token", std::nullopt, admin},
      {"POST", "/v1/admin/epochs/rotate", std::nullopt, admin},
      {"POST", "/v1/admin/sweep", std::nullopt, admin},
      {"GET", "/v1/audit?limit=5", std::nullopt, audit},
      {"GET", "/v1/audit/verify", std::nullopt, audit},
  };
  int n = 0;
  for (const Endpoint& e : endpoints) {
    for (const std::string& role : all) {
      std::string path = e.path;
      if (const auto at = path.find("{S}"); at != std::string::npos) {
        path.replace(at, 3, "role-table-" + std::to_string(n++));
      }
      const std::string what = role + " " + e.method + " " + e.path;
      const HttpResult r = Call(e.method, path, role, e.body);
      if (e.allowed.count(role) > 0) {
        EXPECT_NE(r.status, 401) << what << ": " << r.body;
        EXPECT_NE(r.status, 403) << what << ": " << r.body;
        EXPECT_LT(r.status, 500) << what << ": " << r.body;
        EXPECT_GT(r.status, 0) << what;
      } else {
        EXPECT_TRUE(IsProblem(r, 403)) << what;
      }
      // Without a token every /v1/ endpoint answers 401 with a Bearer challenge.
      const HttpResult anon = Call(e.method, path, "", e.body);
      EXPECT_TRUE(IsProblem(anon, 401)) << e.method << " " << e.path;
      EXPECT_NE(anon.headers.find("WWW-Authenticate"), anon.headers.end());
    }
  }
}

TEST_F(ApiTest, TokensCreateUseAndRevoke) {
  HttpResult r = CallJson("POST", "/v1/tokens", "admin",
                          {{"role", "app"}, {"purposes", {"billing"}}, {"name", "shop"}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string token = r.Json()["token"];
  const std::string token_id = r.Json()["token_id"];
  ASSERT_FALSE(token.empty());
  EXPECT_EQ(server_
                ->CallJson("PUT", "/v1/subjects/token-subject/records/billing/b", token,
                           json{{"data", {{"a", 1}}}})
                .status,
            201);
  EXPECT_EQ(Call("DELETE", "/v1/tokens/" + token_id, "admin").status, 204);
  EXPECT_TRUE(
      IsProblem(server_->Call("GET", "/v1/subjects/token-subject/records/billing/b", token), 401));

  EXPECT_TRUE(IsProblem(CallJson("POST", "/v1/tokens", "admin", {{"role", "app"}}), 400));
  EXPECT_TRUE(IsProblem(
      CallJson("POST", "/v1/tokens", "admin", {{"role", "app"}, {"purposes", json::array()}}),
      400));
  EXPECT_TRUE(IsProblem(
      CallJson("POST", "/v1/tokens", "admin", {{"role", "dpo"}, {"purposes", {"billing"}}}), 400));
  EXPECT_TRUE(IsProblem(CallJson("POST", "/v1/tokens", "admin", {{"role", "root"}}), 400));
  EXPECT_TRUE(IsProblem(CallJson("POST", "/v1/tokens", "admin", {{"role", 7}}), 400));
  EXPECT_TRUE(IsProblem(
      CallJson("POST", "/v1/tokens", "admin", {{"role", "app"}, {"purposes", "billing"}}), 400));
}

TEST_F(ApiTest, RotateAndSweep) {
  HttpResult r = Call("POST", "/v1/admin/epochs/rotate", "admin");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.Json();
  EXPECT_TRUE(j["epoch"].is_number_unsigned());
  EXPECT_TRUE(j["rewrapped"].is_number_unsigned());
  EXPECT_TRUE(j["destroyed_epochs"].is_array());
  const auto first = j["epoch"].get<std::uint64_t>();
  r = Call("POST", "/v1/admin/epochs/rotate", "admin");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["epoch"].get<std::uint64_t>(), first + 1);

  r = Call("POST", "/v1/admin/sweep", "admin");
  ASSERT_EQ(r.status, 200) << r.body;
  j = r.Json();
  EXPECT_TRUE(j["erasures_executed"].is_number_unsigned());
  EXPECT_TRUE(j["scopes_shredded"].is_number_unsigned());
}

TEST_F(ApiTest, AuditListPagesAndVerifies) {
  ASSERT_EQ(CallJson("PUT", "/v1/subjects/audit-subject/records/account/a", "admin",
                     {{"data", {{"x", 1}}}})
                .status,
            201);
  HttpResult r = Call("GET", "/v1/audit?limit=2", "auditor");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.Json();
  ASSERT_EQ(j["entries"].size(), 2u);
  for (const char* f :
       {"seq", "at", "actor", "action", "subject_ref", "category", "outcome", "hash"}) {
    EXPECT_TRUE(j["entries"][0].contains(f)) << f;
  }
  const auto last = j["entries"][1]["seq"].get<std::uint64_t>();
  r = Call("GET", "/v1/audit?after=" + std::to_string(last) + "&limit=1", "admin");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.Json()["entries"].size(), 1u);
  EXPECT_GT(r.Json()["entries"][0]["seq"].get<std::uint64_t>(), last);
  EXPECT_EQ(r.body.find("audit-subject"), std::string::npos);

  r = Call("GET", "/v1/audit/verify", "auditor");
  ASSERT_EQ(r.status, 200) << r.body;
  j = r.Json();
  EXPECT_EQ(j["ok"], true);
  EXPECT_GT(j["entries"].get<std::uint64_t>(), 0u);
  EXPECT_TRUE(j["head"].is_string());

  EXPECT_TRUE(IsProblem(Call("GET", "/v1/audit?limit=abc", "auditor"), 400));
  EXPECT_TRUE(IsProblem(Call("GET", "/v1/audit?limit=0", "auditor"), 400));
  EXPECT_TRUE(IsProblem(Call("GET", "/v1/audit?after=-1", "auditor"), 400));
}

TEST_F(ApiTest, MetricsUseRoutePatternsAndEngineGauges) {
  ASSERT_EQ(CallJson("PUT", "/v1/subjects/metrics-subject-77/records/account/m", "admin",
                     {{"data", {{"x", 1}}}})
                .status,
            201);
  const HttpResult r = Call("GET", "/metrics", "");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type.rfind("text/plain", 0), 0u);
  EXPECT_NE(r.body.find("lethe_http_requests_total{route=\"/v1/subjects/{sid}/records/{category}/"
                        "{rid}\",method=\"PUT\",status=\"201\"}"),
            std::string::npos)
      << r.body;
  EXPECT_NE(
      r.body.find("lethe_http_request_duration_seconds_bucket{route=\"/v1/subjects/{sid}/records/"
                  "{category}/{rid}\",method=\"PUT\",le=\"5e-05\"}"),
      std::string::npos);
  for (const char* gauge :
       {"lethe_records ", "lethe_subjects ", "lethe_pending_erasures ",
        "lethe_keys_shredded_total ", "lethe_keys_live ", "lethe_epoch ", "lethe_audit_queued "}) {
    EXPECT_NE(r.body.find(std::string("\n") + gauge), std::string::npos) << gauge;
  }
  EXPECT_EQ(r.body.find("metrics-subject-77"), std::string::npos);
}

TEST_F(ApiTest, AccessLogNamesRoutesNotSubjectsOrData) {
  ASSERT_EQ(CallJson("PUT", "/v1/subjects/log-subject-91/records/account/l", "admin",
                     {{"data", {{"email", "log-secret@example.com"}}}})
                .status,
            201);
  ASSERT_EQ(Call("GET", "/v1/subjects/log-subject-91/records/account/l", "admin").status, 200);
  // The access log is written in batches, at least every 100 ms.
  const std::string get_line =
      "\"method\":\"GET\",\"route\":\"/v1/subjects/{sid}/records/{category}/{rid}\"";
  std::string log;
  for (int i = 0; i < 50; ++i) {
    log = server_->Log();
    if (log.find(get_line) != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(log.find(get_line), std::string::npos) << log;
  EXPECT_NE(log.find("\"event\":\"listening\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"route\":\"/v1/subjects/{sid}/records/{category}/{rid}\""),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("log-subject-91"), std::string::npos);
  EXPECT_EQ(log.find("log-secret"), std::string::npos);
  EXPECT_EQ(log.find(server_->admin_token()), std::string::npos);
}

}  // namespace
}  // namespace vault::e2e
