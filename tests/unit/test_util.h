// Shared test helpers: temp directories, a vault on a manual clock, raw file scanning.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "crypto/aead.h"
#include "crypto/primitives.h"
#include "vault/keyring.h"
#include "vault/testing.h"
#include "vault/vault.h"

namespace vault::testing {

inline std::string MakeTempDir(const std::string& tag) {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / ("vault-" + tag + "-XXXXXX")).string();
  char* d = ::mkdtemp(tmpl.data());
  EXPECT_NE(d, nullptr);
  return tmpl;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// Every regular file below dir, recursively.
inline std::vector<std::string> FilesBelow(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(e.path().string());
  }
  return out;
}

// Returns "file: marker" for each marker found in the raw bytes of any file below dir.
inline std::vector<std::string> FindMarkers(const std::string& dir,
                                            const std::vector<std::string>& markers) {
  std::vector<std::string> hits;
  for (const auto& f : FilesBelow(dir)) {
    const std::string bytes = ReadFile(f);
    for (const auto& m : markers) {
      if (bytes.find(m) != std::string::npos) hits.push_back(f + ": " + m);
    }
  }
  return hits;
}

// Every wrapped-key-shaped blob in bytes, opened with every KEK: key id (hex) -> DEK. What an
// attacker holding those KEKs recovers from a file.
inline void HarvestDeks(const std::string& bytes,
                        const std::map<std::uint64_t, crypto::SecretBytes>& keks,
                        std::map<std::string, crypto::SecretBytes>* deks) {
  for (std::size_t i = 0; i + crypto::kEnvelopeHeaderBytes <= bytes.size(); ++i) {
    if (bytes[i] != 'V' || bytes[i + 1] != 'K' || bytes[i + 2] != 1) continue;
    for (auto alg : {crypto::Aead::kXChaCha20Poly1305, crypto::Aead::kAes256Gcm}) {
      const std::size_t n = crypto::EnvelopeOverhead(alg) + crypto::kKeyBytes;
      if (i + n > bytes.size()) continue;
      auto env = std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()) + i, n);
      for (const auto& [epoch, kek] : keks) {
        crypto::SecretBytes dek;
        if (crypto::OpenSecret(crypto::EnvelopeKind::kWrappedKey, kek, env,
                               Keyring::DekWrapContext(epoch), &dek)) {
          (*deks)[crypto::ToHex(crypto::PeekEnvelope(env)->key_id)] = std::move(dek);
        }
      }
    }
  }
}

// The ids of the DEKs HarvestDeks recovers from bytes.
inline std::set<std::string> RecoverableKeyIds(
    const std::string& bytes, const std::map<std::uint64_t, crypto::SecretBytes>& keks) {
  std::map<std::string, crypto::SecretBytes> deks;
  HarvestDeks(bytes, keks, &deks);
  std::set<std::string> ids;
  for (const auto& [id, dek] : deks) ids.insert(id);
  return ids;
}

// A record's data, parsed.
inline nlohmann::json Data(const RecordView& r) { return nlohmann::json::parse(r.data_json); }

// A small policy (account, billing surviving erasure, usage) with the given shred horizon.
inline std::string PolicyWithHorizon(const std::string& horizon) {
  return R"(version: 1
erasure: {grace: 31d}
keys: {epoch: 1d, horizon: )" +
         horizon + R"(}
categories:
  account:
    legal_basis: contract
    purposes: [service]
    retention: until_erasure
    index: {email: {unique: true}}
  billing:
    legal_basis: legal_obligation
    purposes: [billing]
    retention: {after_event: 7y}
    survives_erasure: true
  usage:
    legal_basis: legitimate_interest
    purposes: [analytics]
    retention: {after_collection: 12m}
)";
}

struct TestVault {
  std::string dir;
  std::shared_ptr<ManualClock> clock;
  std::shared_ptr<RootKeyProvider> root;
  std::unique_ptr<Vault> vault;
  Actor admin{"test-admin", Role::kAdmin};
  Actor dpo{"test-dpo", Role::kDpo};

  static std::unique_ptr<TestVault> Make(const std::string& tag,
                                         const std::string& policy_yaml = "",
                                         UnixSeconds start = 1795381680 /* 2026-11-22T21:08Z */) {
    auto t = std::make_unique<TestVault>();
    t->dir = MakeTempDir(tag);
    t->clock = std::make_shared<ManualClock>(start);
    EXPECT_TRUE(CreateRootKeyFile(t->dir + "/root.key").ok());
    t->root = RootKeyFromFile(t->dir + "/root.key");
    Options o = t->Opts(policy_yaml);
    o.create_if_missing = true;
    auto v = Vault::Open(o);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    t->vault = std::move(v).value();
    return t;
  }
  Options Opts(const std::string& policy_yaml = "") {
    Options o;
    o.data_dir = dir + "/data";
    o.root_key = root;
    o.clock = clock;
    o.map_size_bytes = 1ull << 30;
    if (!policy_yaml.empty()) {
      WriteFile(dir + "/policy.yaml", policy_yaml);
      o.policy_path = dir + "/policy.yaml";
    } else if (std::filesystem::exists(dir + "/policy.yaml")) {
      o.policy_path = dir + "/policy.yaml";
    }
    return o;
  }
  void Reopen() {
    vault.reset();
    auto v = Vault::Open(Opts());
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    vault = std::move(v).value();
  }
  // Closes the vault, damages its one legal hold row so it no longer reads, and reopens.
  void BreakTheHoldRow() {
    vault.reset();
    ASSERT_TRUE(TEST_EditTable(dir + "/data", Table::kHolds, [](TEST_Rows& rows) {
                  ASSERT_EQ(rows.size(), 1u);
                  rows[0].second.resize(3);
                }).ok());
    Reopen();
  }
  ~TestVault() {
    vault.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

}  // namespace vault::testing
