// End-to-end: the command line (exit codes, messages) and the server's lifecycle.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "harness.h"

namespace vault::e2e {
namespace {

TEST(LifecycleTest, SigtermShutsDownGracefullyWithExitZero) {
  auto server = ServerProcess::Start({});
  ASSERT_EQ(server->Call("GET", "/healthz", "").status, 200);
  ASSERT_EQ(server
                ->CallJson("PUT", "/v1/subjects/life/records/account/a", server->admin_token(),
                           json{{"data", {{"x", 1}}}})
                .status,
            201);
  EXPECT_EQ(server->Terminate(), 0);
  const std::string log = server->Log();
  EXPECT_NE(log.find("\"event\":\"shutdown\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"event\":\"stopped\""), std::string::npos) << log;
}

TEST(LifecycleTest, ServesHttpsWithTlsCertAndKey) {
  TempDir dir;
  const std::string cert = dir.Join("cert.pem"), key = dir.Join("key.pem");
  const std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
      "-nodes -days 1 -subj /CN=127.0.0.1 -keyout " +
      key + " -out " + cert + " >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "openssl cannot make a test certificate";
  ServerProcess::Config config;
  config.extra_args = {"--sweep-interval", "0", "--tls-cert", cert, "--tls-key", key};
  auto server = ServerProcess::Start(config);
  EXPECT_NE(server->Log().find("\"tls\":true"), std::string::npos) << server->Log();
  httplib::SSLClient client("127.0.0.1", server->port());
  client.enable_server_certificate_verification(false);
  client.set_connection_timeout(5);
  auto res = client.Get("/healthz");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  res = client.Get("/v1/policy", {{"Authorization", "Bearer " + server->admin_token()}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  // Plain HTTP on the TLS port gets no HTTP answer.
  EXPECT_EQ(server->Call("GET", "/healthz", "").status, 0);
  EXPECT_EQ(server->Terminate(), 0);
}

TEST(LifecycleTest, BackgroundSweeperExecutesDueErasures) {
  ServerProcess::Config config;
  config.policy_yaml = GraceZeroPolicyYaml();
  config.extra_args = {"--sweep-interval", "1"};
  auto server = ServerProcess::Start(config);
  const std::string admin = server->admin_token();
  ASSERT_EQ(server
                ->CallJson("PUT", "/v1/subjects/swept/records/account/a", admin,
                           json{{"data", {{"x", 1}}}})
                .status,
            201);
  const HttpResult r = server->CallJson("POST", "/v1/subjects/swept/erasure", admin,
                                        json{{"mode", "grace"}, {"reason", "user request"}});
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string erasure_id = r.Json()["erasure_id"];
  std::string state;
  for (int i = 0; i < 60 && state != "completed"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    state = server->Call("GET", "/v1/erasures/" + erasure_id, admin).Json().value("state", "");
  }
  EXPECT_EQ(state, "completed");
}

class CliTest : public ::testing::Test {
 protected:
  TempDir dir_;
};

TEST_F(CliTest, HelpAndUsageErrors) {
  CliResult r = RunVault({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("Exit codes"), std::string::npos);
  for (const char* cmd : {"init", "serve", "backup", "restore", "sweep"}) {
    r = RunVault({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd;
    EXPECT_NE(r.out.find("--"), std::string::npos) << cmd;
  }
  for (const std::vector<std::string>& cmd :
       std::vector<std::vector<std::string>>{{"token", "create", "--help"},
                                             {"epoch", "rotate", "--help"},
                                             {"audit", "verify", "--help"},
                                             {"policy", "check", "--help"},
                                             {"policy", "render", "--help"}}) {
    EXPECT_EQ(RunVault(cmd).exit_code, 0) << cmd[0];
  }
  r = RunVault({"frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("vault: ", 0), 0u) << r.err;
  EXPECT_EQ(RunVault({"serve"}).exit_code, 2);
  EXPECT_EQ(RunVault({"init", "--data-dir"}).exit_code, 2);
  EXPECT_EQ(RunVault({"init", "--data-dir", dir_.Join("d"), "--bogus"}).exit_code, 2);
  EXPECT_EQ(RunVault({"serve", "--data-dir", dir_.Join("d"), "--listen", "nope"}).exit_code, 2);
}

TEST_F(CliTest, PolicyCheckNamesTheLine) {
  const std::string bad = dir_.Join("bad.yaml");
  WriteFile(bad,
            "version: 1\n"
            "erasure: {grace: 31d}\n"
            "categories:\n"
            "  account:\n"
            "    legal_basis: because_we_can\n"
            "    purposes: [service]\n"
            "    retention: until_erasure\n");
  CliResult r = RunVault({"policy", "check", bad});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("line 5"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.rfind("vault: ", 0), 0u) << r.err;

  const std::string good = dir_.Join("good.yaml");
  WriteFile(good, GraceZeroPolicyYaml());
  r = RunVault({"policy", "check", good});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = RunVault({"policy", "render", good});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("billing"), std::string::npos);
  EXPECT_NE(r.out.find("|"), std::string::npos);
  EXPECT_EQ(RunVault({"policy", "check", dir_.Join("missing.yaml")}).exit_code, 3);
}

TEST_F(CliTest, InitTokenOperationsBackupRestore) {
  const std::string data = dir_.Join("data");
  CliResult r = RunVault({"init", "--data-dir", data, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j.size(), 3u);
  EXPECT_TRUE(j["admin_token"].is_string());
  EXPECT_EQ(j["data_dir"], data);
  EXPECT_EQ(j["root_key_file"], data + "/root.key");
  struct stat st {};
  ASSERT_EQ(stat((data + "/root.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  r = RunVault({"init", "--data-dir", data});
  EXPECT_EQ(r.exit_code, 1) << "second init must refuse";

  r = RunVault({"token", "create", "--data-dir", data, "--role", "app", "--purposes",
                "billing,service", "--name", "shop"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(r.out.empty());
  EXPECT_EQ(RunVault({"token", "create", "--data-dir", data, "--role", "app"}).exit_code, 2);
  EXPECT_EQ(RunVault({"token", "create", "--data-dir", data, "--role", "king"}).exit_code, 2);

  r = RunVault({"epoch", "rotate", "--data-dir", data, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(json::parse(r.out, nullptr, false).contains("epoch")) << r.out;
  r = RunVault({"sweep", "--data-dir", data});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = RunVault({"audit", "verify", "--data-dir", data, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out, nullptr, false)["ok"], true) << r.out;

  const std::string backup = dir_.Join("backup");
  r = RunVault({"backup", "--data-dir", data, "--out", backup});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(std::filesystem::exists(backup + "/keyring"));
  EXPECT_FALSE(std::filesystem::exists(backup + "/root.key"));
  const std::string restored = dir_.Join("restored");
  r = RunVault({"restore", "--from", backup, "--data-dir", restored, "--keyring", data + "/keyring",
                "--root-key-file", data + "/root.key"});
  EXPECT_EQ(r.exit_code, 0) << r.err;

  // A missing root key is a runtime failure with a one-line message.
  r = RunVault({"sweep", "--data-dir", data, "--root-key-file", dir_.Join("no.key")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.err.rfind("vault: ", 0), 0u) << r.err;
}

TEST_F(CliTest, ServeRefusesMissingTlsFiles) {
  const std::string data = dir_.Join("data");
  ASSERT_EQ(RunVault({"init", "--data-dir", data}).exit_code, 0);
  const std::string cert = dir_.Join("missing-cert.pem");
  const CliResult r = RunVault({"serve", "--data-dir", data, "--listen", "127.0.0.1:0",
                                "--tls-cert", cert, "--tls-key", dir_.Join("missing-key.pem")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(cert), std::string::npos) << r.err;
}

}  // namespace
}  // namespace vault::e2e
