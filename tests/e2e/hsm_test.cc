// `lethe root rotate` end to end with the real binary: a root key in a SoftHSM2 token (init,
// serve, rotate, a crash mid-rotation) and the development key file.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "tests/e2e/harness.h"
#include "tests/hsm/softhsm.h"

namespace vault::e2e {
namespace {

constexpr const char* kRecord = "/v1/subjects/s1/records/account/a";

// Sets an environment variable for the `lethe` processes this test starts.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() { ::unsetenv(name_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
};

CliResult RotateRoot(const std::string& data_dir, const char* stop_at = nullptr) {
  if (stop_at == nullptr) return RunVault({"root", "rotate", "--data-dir", data_dir});
  ScopedEnv stop("LETHE_TEST_ROOT_ROTATE_STOP", stop_at);
  return RunVault({"root", "rotate", "--data-dir", data_dir});
}

void PutAndCheck(ServerProcess& server) {
  ASSERT_EQ(
      server.CallJson("PUT", kRecord, server.admin_token(), json{{"data", {{"x", 1}}}}).status,
      201);
}

void ExpectReadable(ServerProcess& server) {
  const HttpResult r = server.Call("GET", kRecord, server.admin_token());
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["data"], json({{"x", 1}}));
}

// The rotation's audit entry (written by `lethe root rotate` under the new key).
bool AuditedRotation(ServerProcess& server) {
  const HttpResult r = server.Call("GET", "/v1/audit?limit=1000", server.admin_token());
  return r.status == 200 && r.body.find("\"root.rotate\"") != std::string::npos;
}

TEST(HsmRootKeyTest, InitServeAndRotateWithTheRootKeyInTheToken) {
  TempDir dir;
  VAULT_SOFTHSM_TOKEN(token, dir.path());
  ScopedEnv root("LETHE_ROOT_KEY_PKCS11", token.Spec());  // every command's --root-key-pkcs11
  ServerProcess::Config config;
  config.data_dir = dir.Join("data");
  auto server = ServerProcess::Start(config);
  PutAndCheck(*server);
  EXPECT_FALSE(std::filesystem::exists(dir.Join("data/root.key")));
  const CliResult printed = RunVault({"serve", "--data-dir", config.data_dir, "--print-config"});
  EXPECT_NE(printed.out.find("PKCS#11 key lethe-root in token lethe"), std::string::npos)
      << printed.out;
  EXPECT_EQ(printed.out.find(vault::testing::SoftHsmToken::kPin), std::string::npos);
  ASSERT_EQ(server->Terminate(), 0);

  // Killed after the first slot is sealed under the new key: the keyring still opens.
  EXPECT_EQ(RotateRoot(config.data_dir, "between-slots").exit_code, 75);
  server->Restart({"--sweep-interval", "0"});
  ExpectReadable(*server);
  ASSERT_EQ(server->Terminate(), 0);

  const CliResult rotated = RotateRoot(config.data_dir);
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  EXPECT_NE(rotated.out.find("C_DestroyObject"), std::string::npos) << rotated.out;
  server->Restart({"--sweep-interval", "0"});
  ExpectReadable(*server);
  EXPECT_TRUE(AuditedRotation(*server));
  ASSERT_EQ(server->Terminate(), 0);
  const CliResult audit = RunVault({"audit", "verify", "--data-dir", config.data_dir});
  EXPECT_EQ(audit.exit_code, 0) << audit.err;
  // No keyring file to restore against: the token holds the epochs, the backup the row.
  EXPECT_FALSE(std::filesystem::exists(config.data_dir + "/keyring"));
  const CliResult backup =
      RunVault({"backup", "--data-dir", config.data_dir, "--out", dir.Join("bk")});
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  // $LETHE_ROOT_KEY_PKCS11 names the key, as for every other command (no flag here).
  const CliResult restored =
      RunVault({"restore", "--from", dir.Join("bk"), "--data-dir", dir.Join("restored")});
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  EXPECT_EQ(RunVault({"audit", "verify", "--data-dir", dir.Join("restored")}).exit_code, 0);

  // A PIN on the command line is refused with a message that does not echo it.
  const CliResult inline_pin =
      RunVault({"audit", "verify", "--data-dir", config.data_dir, "--root-key-pkcs11",
                "module=" + token.Module() + ";token=lethe;key=lethe-root;pin=9999"});
  EXPECT_NE(inline_pin.exit_code, 0);
  EXPECT_NE(inline_pin.err.find("never given inline"), std::string::npos) << inline_pin.err;
  EXPECT_EQ(inline_pin.err.find("9999"), std::string::npos) << inline_pin.err;
}

TEST(RootRotateTest, FileKeySurvivesACrashBeforeTheOldKeyIsDestroyed) {
  TempDir dir;
  ServerProcess::Config config;
  config.data_dir = dir.Join("data");
  auto server = ServerProcess::Start(config);
  PutAndCheck(*server);
  ASSERT_EQ(server->Terminate(), 0);
  const std::string key_file = dir.Join("data/root.key");
  const std::string old_key = ReadFile(key_file);

  // Killed with the keyring sealed under root.key.next and root.key still the old key.
  EXPECT_EQ(RotateRoot(config.data_dir, "before-retire").exit_code, 75);
  EXPECT_TRUE(std::filesystem::exists(key_file + ".next"));
  server->Restart({"--sweep-interval", "0"});
  ExpectReadable(*server);
  ASSERT_EQ(server->Terminate(), 0);

  const CliResult rotated = RotateRoot(config.data_dir);
  ASSERT_EQ(rotated.exit_code, 0) << rotated.err;
  EXPECT_FALSE(std::filesystem::exists(key_file + ".next"));
  EXPECT_NE(ReadFile(key_file), old_key);
  server->Restart({"--sweep-interval", "0"});
  ExpectReadable(*server);
  EXPECT_TRUE(AuditedRotation(*server));
  ASSERT_EQ(server->Terminate(), 0);

  // The old key, given back, no longer opens the vault.
  WriteFile(dir.Join("old.key"), old_key);
  std::filesystem::permissions(dir.Join("old.key"), std::filesystem::perms::owner_read);
  const CliResult refused = RunVault(
      {"audit", "verify", "--data-dir", config.data_dir, "--root-key-file", dir.Join("old.key")});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("another root key"), std::string::npos) << refused.err;
}

}  // namespace
}  // namespace vault::e2e
