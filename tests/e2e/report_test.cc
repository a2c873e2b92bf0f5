// End-to-end: the compliance report over HTTP (admin only), in /metrics, and from the CLI,
// whose exit code turns 4 when something is overdue (--at moves the report's clock).
#include <gtest/gtest.h>

#include <string>

#include "harness.h"
#include "vault/clock.h"

namespace vault::e2e {
namespace {

TEST(ReportTest, FiguresOverHttpMetricsAndTheCliWithItsOverdueExitCode) {
  auto server = ServerProcess::Start({});
  const std::string admin = server->admin_token();
  const std::string dpo = server->CreateToken("dpo", {});
  const std::string app = server->CreateToken("app", {"service", "analytics"});
  for (const char* sid : {"rep-a", "rep-b"}) {
    ASSERT_EQ(server
                  ->CallJson("PUT", std::string("/v1/subjects/") + sid + "/records/account/p", app,
                             {{"data", {{"x", 1}}}})
                  .status,
              201);
  }
  ASSERT_EQ(
      server->CallJson("PUT", "/v1/subjects/rep-a/records/usage/u", app, {{"data", {{"x", 1}}}})
          .status,
      201);
  const HttpResult erasure = server->CallJson("POST", "/v1/subjects/rep-b/erasure", dpo,
                                              {{"mode", "grace"}, {"reason", "user request"}});
  ASSERT_EQ(erasure.status, 202) << erasure.body;

  const HttpResult r = server->Call("GET", "/v1/admin/report", admin);
  ASSERT_EQ(r.status, 200) << r.body;
  const json report = r.Json();
  EXPECT_EQ(report["overdue"], false);
  EXPECT_EQ(report["categories"]["account"]["subjects"], 2);
  EXPECT_EQ(report["categories"]["account"]["keys_alive"], 2);
  EXPECT_EQ(report["categories"]["usage"]["subjects"], 1);
  EXPECT_EQ(report["shreds_overdue"], 0);
  ASSERT_EQ(report["erasures_pending"].size(), 1u);
  const json& pending = report["erasures_pending"][0];
  EXPECT_EQ(pending["erasure_id"], erasure.Json()["erasure_id"]);
  const auto requested = ParseRfc3339(pending["requested_at"].get<std::string>());
  ASSERT_TRUE(requested.has_value());
  EXPECT_EQ(pending["deadline"],
            FormatRfc3339(Duration{1, Duration::Unit::kMonths}.AddTo(*requested)));
  EXPECT_EQ(pending["overdue"], false);
  EXPECT_TRUE(report["backups"]["oldest_epoch"].is_number());
  EXPECT_TRUE(IsProblem(server->Call("GET", "/v1/admin/report", dpo), 403));
  EXPECT_TRUE(IsProblem(server->Call("GET", "/v1/admin/report", app), 403));

  const HttpResult metrics = server->Call("GET", "/metrics", "");
  EXPECT_NE(metrics.body.find("\nlethe_report_shreds_overdue{category=\"usage\"} 0\n"),
            std::string::npos);
  EXPECT_NE(metrics.body.find("\nlethe_report_subjects{category=\"account\"} 2\n"),
            std::string::npos);
  EXPECT_NE(metrics.body.find("\nlethe_report_erasures_pending 1\n"), std::string::npos);
  EXPECT_NE(metrics.body.find("\nlethe_report_overdue 0\n"), std::string::npos);

  // The CLI on the same data directory (LMDB admits a second process; PostgreSQL many clients): the
  // same JSON, exit 0.
  CliResult cli = RunVaultOn(*server, {"report", "--data-dir", server->data_dir(), "--json"});
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  const json from_cli = json::parse(cli.out, nullptr, false);
  EXPECT_EQ(from_cli["categories"], report["categories"]);
  EXPECT_EQ(from_cli["erasures_pending"], report["erasures_pending"]);

  // 13 months on, with nothing run: usage is past its 12 months, the erasure past its month.
  const std::string later = FormatRfc3339(*requested + 400 * 86400);
  cli = RunVaultOn(*server, {"report", "--data-dir", server->data_dir(), "--json", "--at", later});
  EXPECT_EQ(cli.exit_code, 4) << cli.out << cli.err;
  const json overdue = json::parse(cli.out, nullptr, false);
  EXPECT_EQ(overdue["overdue"], true);
  EXPECT_EQ(overdue["categories"]["usage"]["shreds_overdue"], 1);
  EXPECT_EQ(overdue["erasures_pending"][0]["overdue"], true);
  cli = RunVaultOn(*server, {"report", "--data-dir", server->data_dir(), "--at", later});
  EXPECT_EQ(cli.exit_code, 4);
  EXPECT_NE(cli.out.find("OVERDUE"), std::string::npos) << cli.out;
  cli = RunVaultOn(*server, {"report", "--data-dir", server->data_dir(), "--at", "next tuesday"});
  EXPECT_EQ(cli.exit_code, 2);
  EXPECT_NE(cli.err.find("--at"), std::string::npos) << cli.err;
}

}  // namespace
}  // namespace vault::e2e
