// Export benchmark (Google Benchmark): Vault::Export of one subject holding N records of
// ~200 bytes (default 100,000; VAULT_BENCH_EXPORT_RECORDS overrides), drained piece by piece
// as the HTTP server does, in each format. Reports records/s (target: 50,000/s or more).
//
//   BM_Export/format:0 (JSON), /format:1 (CSV), /format:2 (XML)
//
// Data lives in VAULT_BENCH_DIR (default /tmp) under a fresh mkdtemp directory, removed at
// exit. Run: <build>/bench/export_bench [--benchmark_repetitions=3]
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

const vault::Actor kActor{"bench", vault::Role::kAdmin};

[[noreturn]] void Die(const std::string& what, const vault::Status& s) {
  std::fprintf(stderr, "export_bench: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

std::int64_t RecordCount() {
  const char* n = std::getenv("VAULT_BENCH_EXPORT_RECORDS");
  return n != nullptr && *n != '\0' ? std::atoll(n) : 100000;
}

// One vault with subject "big" holding RecordCount() usage records, made once.
struct Fixture {
  std::string dir;
  std::unique_ptr<vault::Vault> vault;

  Fixture() {
    const char* base = std::getenv("VAULT_BENCH_DIR");
    std::string tmpl = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                       "/lethe-export-bench-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) Die("mkdtemp", vault::Status::Ok());
    dir = tmpl;
    const std::string key = dir + "/root.key";
    if (auto s = vault::CreateRootKeyFile(key); !s.ok()) Die("root key", s);
    vault::Options o;
    o.data_dir = dir + "/data";
    o.root_key = vault::RootKeyFromFile(key);
    o.create_if_missing = true;
    auto v = vault::Vault::Open(o);
    if (!v.ok()) Die("open", v.status());
    vault = std::move(v).value();
    Fill();
  }
  ~Fixture() {
    vault.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  // Concurrent writers share group commits, so the setup takes seconds, not minutes.
  void Fill() {
    const nlohmann::json data = {{"event", "page_view"}, {"path", std::string(150, 'p')}};
    std::atomic<std::int64_t> next{0};
    std::vector<std::thread> writers;
    for (int t = 0; t < 64; ++t) {
      writers.emplace_back([&] {
        for (std::int64_t i = next++; i < RecordCount(); i = next++) {
          auto r = vault->PutRecord(kActor, "big", "usage", "r" + std::to_string(i), data);
          if (!r.ok()) Die("put", r.status());
        }
      });
    }
    for (std::thread& w : writers) w.join();
  }
};

Fixture& Shared() {
  static Fixture f;
  return f;
}

void BM_Export(benchmark::State& state) {
  const auto format = static_cast<vault::ExportFormat>(state.range(0));
  vault::Vault& v = *Shared().vault;
  std::uint64_t bytes = 0;
  for (auto _ : state) {
    auto stream = v.Export(kActor, "big", format);
    if (!stream.ok()) Die("export", stream.status());
    std::string piece;
    for (;;) {
      piece.clear();
      auto more = (*stream)->Next(&piece);
      if (!more.ok()) Die("export piece", more.status());
      if (!*more) break;
      bytes += piece.size();
      benchmark::DoNotOptimize(piece.data());
    }
  }
  state.counters["records/s"] = benchmark::Counter(
      static_cast<double>(RecordCount()) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(BM_Export)
    ->ArgName("format")
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
