// Lookup benchmark (Google Benchmark): Vault::Lookup by a unique e-mail and by a phone number
// against a store of N subjects, next to GetRecord of a record of the same size in the same
// run, so the figures compare on the same machine and load.
//
//   BM_LookupEmail/threads:{1,8}  a unique e-mail, normalised (trimmed, lower-cased), HMAC,
//                                 one blind-index scan, the record liveness check, the subject
//                                 row, the sealed subject id opened (DEK unwrap + AEAD), async
//                                 audit entry.
//   BM_LookupPhone/threads:1      the same through phone normalisation (E.164 digits).
//   BM_LookupMiss/threads:1       a value no subject holds (404).
//   BM_Get/threads:{1,8}          GetRecord of one of those account records.
//
// VAULT_BENCH_SUBJECTS (default 10000) subjects, each with one account record {email, phone,
// name}; VAULT_BENCH_DIR (default /tmp) holds the store, removed at exit.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "vault/vault.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const vault::Actor kApp{"bench", vault::Role::kApp};
const std::vector<std::string> kPurposes = {"service"};

[[noreturn]] void Die(const std::string& what, const vault::Status& s) {
  std::fprintf(stderr, "lookup_bench: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

std::uint64_t Subjects() {
  const char* n = std::getenv("VAULT_BENCH_SUBJECTS");
  return n != nullptr && *n != '\0' ? std::strtoull(n, nullptr, 10) : 10000;
}

std::string Sid(std::uint64_t i) {
  std::string s("user-");
  s += std::to_string(i);
  return s;
}
std::string Email(std::uint64_t i) {
  std::string s("User.");
  s += std::to_string(i);
  s += "@Example.com";
  return s;
}
std::string Phone(std::uint64_t i) {
  std::string s = std::to_string(7000000000ULL + i);  // +44 7xxx xxxxxx
  return "+44 " + s.substr(0, 4) + " " + s.substr(4);
}

std::string MakeRunDir() {
  const char* d = std::getenv("VAULT_BENCH_DIR");
  std::string tmpl = std::string(d != nullptr && *d != '\0' ? d : "/tmp") + "/lookup-bench-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    std::exit(1);
  }
  static const std::string* dir = new std::string(tmpl);
  std::atexit([] {
    std::error_code ec;
    fs::remove_all(*dir, ec);
  });
  return tmpl;
}

vault::Vault& TheVault() {
  static std::unique_ptr<vault::Vault> v = [] {
    const std::string dir = MakeRunDir();
    const std::string key = dir + "/root.key";
    if (vault::Status s = vault::CreateRootKeyFile(key); !s.ok()) Die("CreateRootKeyFile", s);
    vault::Options o;
    o.data_dir = dir + "/data";
    o.root_key = vault::RootKeyFromFile(key);
    o.create_if_missing = true;
    auto opened = vault::Vault::Open(std::move(o));
    if (!opened.ok()) Die("Vault::Open", opened.status());
    const std::uint64_t n = Subjects();
    std::atomic<std::uint64_t> next{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < 32; ++t) {
      pool.emplace_back([&] {
        for (std::uint64_t i = next++; i < n; i = next++) {
          const json data = {{"email", Email(i)}, {"phone", Phone(i)}, {"name", Sid(i)}};
          auto r = (*opened)->PutRecord(kApp, Sid(i), "account", "profile", data);
          if (!r.ok()) Die("PutRecord", r.status());
        }
      });
    }
    for (auto& th : pool) th.join();
    return std::move(opened).value();
  }();
  return *v;
}

void RunLookup(benchmark::State& state, const char* field, std::string (*value)(std::uint64_t),
               bool hit) {
  vault::Vault& v = TheVault();
  const std::uint64_t n = Subjects();
  std::uint64_t i = static_cast<std::uint64_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    i = (i + 1) % n;
    std::string wanted = hit ? value(i) : "absent." + value(i);
    auto r = v.Lookup(kApp, {field, wanted, "", kPurposes});
    if (hit ? !r.ok() : r.status().code() != vault::Code::kNotFound) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["subjects"] = static_cast<double>(n);
}

void BM_LookupEmail(benchmark::State& state) { RunLookup(state, "email", Email, true); }
BENCHMARK(BM_LookupEmail)->Threads(1)->Threads(8)->UseRealTime()->MinTime(3.0);

void BM_LookupPhone(benchmark::State& state) { RunLookup(state, "phone", Phone, true); }
BENCHMARK(BM_LookupPhone)->Threads(1)->UseRealTime()->MinTime(3.0);

void BM_LookupMiss(benchmark::State& state) { RunLookup(state, "email", Email, false); }
BENCHMARK(BM_LookupMiss)->Threads(1)->UseRealTime()->MinTime(3.0);

void BM_Get(benchmark::State& state) {
  vault::Vault& v = TheVault();
  const std::uint64_t n = Subjects();
  std::uint64_t i = static_cast<std::uint64_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    i = (i + 1) % n;
    auto r = v.GetRecord(kApp, Sid(i), "account", "profile");
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Get)->Threads(1)->Threads(8)->UseRealTime()->MinTime(3.0);

}  // namespace

BENCHMARK_MAIN();
