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
  // The "listening" line may reach the log just after the port file (slow sanitizer builds).
  for (int i = 0; i < 100 && server->Log().find("\"listening\"") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
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
  EXPECT_EQ(r.err.rfind("lethe: ", 0), 0u) << r.err;
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
  EXPECT_EQ(r.err.rfind("lethe: ", 0), 0u) << r.err;

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
  EXPECT_EQ(r.err.rfind("lethe: ", 0), 0u) << r.err;
}

// Backup (by bytes), sweep (by steps) and audit verify (by entries) report progress on stderr
// with --progress when stderr is not a terminal, and stay silent without it.
TEST_F(CliTest, LongCommandsReportProgressWithTheFlag) {
  const std::string data = dir_.Join("data");
  ASSERT_EQ(RunVault({"init", "--data-dir", data, "--json"}).exit_code, 0);
  CliResult r = RunVault({"backup", "--data-dir", data, "--out", dir_.Join("quiet")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");

  r = RunVault({"backup", "--data-dir", data, "--out", dir_.Join("b"), "--progress"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("backup: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" MiB (100%)\n"), std::string::npos) << r.err;
  // The last line's total is what was written: the backup's two files.
  const auto written = std::filesystem::file_size(dir_.Join("b") + "/data.mdb") +
                       std::filesystem::file_size(dir_.Join("b") + "/keyslots");
  char last[64];
  std::snprintf(last, sizeof last, "%.1f MiB of %.1f MiB (100%%)",
                static_cast<double>(written) / (1024.0 * 1024.0),
                static_cast<double>(written) / (1024.0 * 1024.0));
  EXPECT_NE(r.err.find(last), std::string::npos) << r.err << " want " << last;

  r = RunVault({"sweep", "--data-dir", data, "--progress"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("sweep steps: 8 of 8 (100%)"), std::string::npos) << r.err;
  r = RunVault({"audit", "verify", "--data-dir", data, "--progress"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("audit entries: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(100%)"), std::string::npos) << r.err;
}

TEST_F(CliTest, GroupHelpListsItsCommands) {
  for (const std::vector<std::string>& cmd : std::vector<std::vector<std::string>>{
           {"token", "--help"}, {"epoch", "-h"}, {"audit", "--help"}, {"policy", "--help"}}) {
    const CliResult r = RunVault(cmd);
    EXPECT_EQ(r.exit_code, 0) << cmd[0] << ": " << r.err;
    EXPECT_NE(r.out.find("  " + cmd[0] + " "), std::string::npos) << r.out;
  }
  EXPECT_NE(RunVault({"token", "--help"}).out.find("token create"), std::string::npos);
  // Without --help a group still needs a subcommand.
  const CliResult r = RunVault({"token"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("lethe: ", 0), 0u) << r.err;
}

TEST_F(CliTest, VersionForTheBinaryAndEveryCommand) {
  const std::string want = std::string("lethe ") + VAULT_VERSION + "\n";
  for (const std::vector<std::string>& cmd :
       std::vector<std::vector<std::string>>{{"--version"},
                                             {"init", "--version"},
                                             {"serve", "--version"},
                                             {"token", "--version"},
                                             {"token", "create", "--version"},
                                             {"backup", "--version"},
                                             {"restore", "--version"},
                                             {"epoch", "rotate", "--version"},
                                             {"sweep", "--version"},
                                             {"audit", "verify", "--version"},
                                             {"policy", "check", "--version"},
                                             {"policy", "render", "--version"}}) {
    const CliResult r = RunVault(cmd);
    EXPECT_EQ(r.exit_code, 0) << cmd[0];
    EXPECT_EQ(r.out, want) << cmd[0];
  }
  EXPECT_NE(RunVault({"sweep", "--help"}).out.find("--version"), std::string::npos);
}

// The warning comes before the store is opened, so these runs (on a directory that does not
// exist) stop before anything listens: nothing is bound to a non-loopback address.
TEST_F(CliTest, ServeWarnsAboutPlainHttpOffLoopback) {
  const std::string missing = dir_.Join("missing");
  const std::string warning = "\"event\":\"warning\"";
  for (const char* listen : {"0.0.0.0:0", "[::]:0", "192.0.2.1:8270"}) {
    const CliResult r = RunVault({"serve", "--data-dir", missing, "--listen", listen});
    EXPECT_NE(r.exit_code, 0) << listen << ": " << r.err;
    EXPECT_NE(r.err.find("cannot open the vault"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(warning), std::string::npos) << listen << ": " << r.err;
    EXPECT_NE(r.err.find("plain HTTP"), std::string::npos) << r.err;
  }
  for (const char* listen : {"127.0.0.1:0", "127.8.9.10:0", "[::1]:0", "localhost:0"}) {
    const CliResult r = RunVault({"serve", "--data-dir", missing, "--listen", listen});
    EXPECT_NE(r.exit_code, 0) << listen << ": " << r.err;
    EXPECT_EQ(r.err.find(warning), std::string::npos) << listen << ": " << r.err;
  }
  const CliResult tls =
      RunVault({"serve", "--data-dir", missing, "--listen", "0.0.0.0:0", "--tls-cert",
                dir_.Join("cert.pem"), "--tls-key", dir_.Join("key.pem")});
  EXPECT_EQ(tls.err.find(warning), std::string::npos) << tls.err;
}

// "lethe: <what>; <fix>" -> "<what>".
std::string CliProblem(const CliResult& r) {
  const std::size_t start = std::string("lethe: ").size();
  return r.err.rfind("lethe: ", 0) == 0 ? r.err.substr(start, r.err.find(';') - start) : r.err;
}

// One rule for tokens (vault/rules.h): HTTP and CLI refuse the same specs with the same words.
TEST_F(CliTest, TokenRulesAreTheSameOverHttpAndCli) {
  auto server = ServerProcess::Start({});
  const std::string data = server->data_dir();
  std::vector<std::string> many;
  for (int i = 0; i < 33; ++i) many.push_back("p" + std::to_string(i));
  const std::vector<std::string> just_enough(many.begin(), many.begin() + 32);
  auto join = [](const std::vector<std::string>& list) {
    std::string out;
    for (const std::string& p : list) out += (out.empty() ? "" : ",") + p;
    return out;
  };
  struct Case {
    std::string name;
    std::vector<std::string> purposes;
    std::string want;  // the refusal; empty: accepted
  };
  for (const Case& c :
       std::vector<Case>{{std::string(129, 'n'), {"billing"}, "name is longer than 128 bytes"},
                         {"shop", many, "at most 32 purposes"},
                         {std::string(128, 'n'), just_enough, ""}}) {
    const HttpResult http =
        server->CallJson("POST", "/v1/tokens", server->admin_token(),
                         json{{"role", "app"}, {"purposes", c.purposes}, {"name", c.name}});
    const CliResult cli =
        RunVaultOn(*server, {"token", "create", "--data-dir", data, "--role", "app", "--purposes",
                             join(c.purposes), "--name", c.name});
    if (c.want.empty()) {
      EXPECT_EQ(http.status, 201) << http.body;
      EXPECT_EQ(cli.exit_code, 0) << cli.err;
      continue;
    }
    ASSERT_TRUE(IsProblem(http, 400)) << c.want;
    EXPECT_EQ(http.Json()["detail"], c.want);
    EXPECT_EQ(cli.exit_code, 2) << cli.err;
    EXPECT_EQ(CliProblem(cli), c.want) << cli.err;
  }
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

// Settings under the flags (api/cli/config.h): flags over LETHE_* over the config file over the
// defaults, shown by `serve --print-config`; a bad file is a usage error naming file and line.
TEST_F(CliTest, ConfigFileEnvironmentAndFlagsInThatOrder) {
  const std::string config = dir_.Join("lethe.yaml");
  WriteFile(config,
            "# comment\nlisten: 127.0.0.1:9001\nthreads: 8\nmax-queued: 32\n"
            "sweep-interval: 5\n");
  setenv("LETHE_THREADS", "16", 1);
  setenv("LETHE_MAX_QUEUED", "64", 1);
  const CliResult r = RunVault({"serve", "--config", config, "--data-dir", dir_.Join("d"),
                                "--max-queued", "128", "--print-config"});
  unsetenv("LETHE_THREADS");
  unsetenv("LETHE_MAX_QUEUED");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["settings"]["listen"], "127.0.0.1:9001");
  EXPECT_EQ(j["sources"]["listen"], "config file");
  EXPECT_EQ(j["settings"]["threads"], 16);
  EXPECT_EQ(j["sources"]["threads"], "environment");
  EXPECT_EQ(j["settings"]["max-queued"], 128);
  EXPECT_EQ(j["sources"]["max-queued"], "flag");
  EXPECT_EQ(j["settings"]["sweep-interval"], 5);
  EXPECT_EQ(j["settings"]["max-body-bytes"], 1048576);
  EXPECT_EQ(j["sources"]["max-body-bytes"], "default");
  EXPECT_EQ(j["settings"]["root-key"], "file " + dir_.Join("d") + "/root.key");

  WriteFile(config, "threads: 8\nlisten: [a, b]\n");
  CliResult bad = RunVault({"serve", "--config", config, "--print-config"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("config " + config + " line 2: listen must be a single value"),
            std::string::npos)
      << bad.err;
  WriteFile(config, "thread: 8\n");
  bad = RunVault({"serve", "--config", config, "--print-config"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("line 1: 'thread' is not a setting here"), std::string::npos) << bad.err;
  // Settings are validated whatever their source.
  setenv("LETHE_THREADS", "0", 1);
  bad = RunVault({"serve", "--print-config"});
  unsetenv("LETHE_THREADS");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--threads must be 1..1024"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace vault::e2e
