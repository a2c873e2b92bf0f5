// Engine benchmarks (Google Benchmark) against a real, durable store on a temp directory.
//
//   BM_Put/threads:{1,8}        1 KiB record puts; every put is fsynced before it returns,
//                               concurrent writers share group commits.
//   BM_Get/threads:{1,8}        1 KiB record gets (decrypt + async audit entry).
//   BM_EraseSubject/records:N   Vault::RequestErasure(immediate) of a subject holding N
//                               1 KiB records (N = 1, 10000). Setup is outside the timed
//                               region (manual time around the one call).
//   BM_RotateEpoch/deks:N       Vault::RotateEpoch with N live DEKs (default 1,000,000;
//                               VAULT_BENCH_DEKS overrides; VAULT_BENCH_ROTATIONS sets
//                               the timed rotations, default 2, each rewraps every DEK).
//                               Setup time is reported in the setup_s counter, CPU per
//                               rewrapped DEK (all threads) in cpu_us_per_dek.
//
// Data lives in VAULT_BENCH_DIR (default /tmp) under a fresh mkdtemp directory, removed at
// exit. Run: <build>/bench/engine_bench [--benchmark_filter=...] [--benchmark_repetitions=N]
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "vault/vault.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr vault::UnixSeconds kStart = 1767225600;  // 2026-01-01T00:00:00Z

const vault::Actor kActor{"bench", vault::Role::kAdmin};

[[noreturn]] void Die(const std::string& what, const vault::Status& s) {
  std::fprintf(stderr, "engine_bench: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}

// A 1 KiB record: {"r":"<id>","d":{"blob":"..."}} serialises to about 1024 bytes.
const json& KiBRecord() {
  static const json data = {{"blob", std::string(1000, 'x')}};
  return data;
}

std::string BaseDir() {
  const char* d = std::getenv("VAULT_BENCH_DIR");
  return d != nullptr && *d != '\0' ? d : "/tmp";
}

// prefix + decimal n. (Not `"lit" + std::to_string(n)`: GCC 12 -O2 reports a false
// -Wrestrict on that, which -Werror builds would turn into an error.)
std::string Id(const char* prefix, std::uint64_t n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

// One temp directory for the whole process, removed at exit. The path is never destroyed
// (a function-local static string would be destroyed before the atexit handler runs); the
// handler is registered before any Vault exists, so it runs after their destructors.
const std::string& RunDir() {
  static const std::string* dir = [] {
    std::string tmpl = BaseDir() + "/vault-engine-bench-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::perror("mkdtemp");
      std::exit(1);
    }
    return new std::string(tmpl);
  }();
  static const bool registered = [] {
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(*dir, ec);
    });
    return true;
  }();
  (void)registered;
  return *dir;
}

std::unique_ptr<vault::Vault> OpenFresh(const std::string& name) {
  const std::string dir = RunDir() + "/" + name;
  fs::create_directories(dir);
  const std::string key = dir + "/root.key";
  if (vault::Status s = vault::CreateRootKeyFile(key); !s.ok()) Die("CreateRootKeyFile", s);
  vault::Options o;
  o.data_dir = dir + "/data";
  o.root_key = vault::RootKeyFromFile(key);
  o.clock = std::make_shared<vault::ManualClock>(kStart);
  o.create_if_missing = true;
  auto v = vault::Vault::Open(std::move(o));
  if (!v.ok()) Die("Vault::Open", v.status());
  return std::move(v).value();
}

// Runs fn(i) for i in [0, n) from `threads` threads, so the puts share group commits.
template <typename Fn>
void ParallelFor(std::uint64_t n, unsigned threads, Fn fn) {
  std::atomic<std::uint64_t> next{0};
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (std::uint64_t i = next++; i < n; i = next++) fn(i);
    });
  }
  for (auto& th : pool) th.join();
}

void MustPut(vault::Vault& v, const std::string& sid, const std::string& cat,
             const std::string& rid, const json& data) {
  auto r = v.PutRecord(kActor, sid, cat, rid, data);
  if (!r.ok()) Die("PutRecord " + sid + "/" + rid, r.status());
}

// --- Put / Get -------------------------------------------------------------------------

vault::Vault& RecordsVault() {
  static std::unique_ptr<vault::Vault> v = [] {
    auto fresh = OpenFresh("records");
    // Subjects for the get benchmark: 64 subjects x 16 records of 1 KiB.
    ParallelFor(64 * 16, 32, [&](std::uint64_t i) {
      MustPut(*fresh, Id("get-", i / 16), "account", Id("r", i % 16), KiBRecord());
    });
    return fresh;
  }();
  return *v;
}

std::atomic<std::uint64_t> g_put_seq{0};

void BM_Put(benchmark::State& state) {
  vault::Vault& v = RecordsVault();
  // Existing subjects (no new subject DEK per put); each put writes a new record id.
  const std::string sid = Id("put-", state.thread_index() % 64);
  for (auto _ : state) {
    const std::uint64_t n = g_put_seq.fetch_add(1, std::memory_order_relaxed);
    auto r = v.PutRecord(kActor, sid, "account", Id("r", n), KiBRecord());
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * 1024);
}
BENCHMARK(BM_Put)->Threads(1)->Threads(8)->UseRealTime()->MinTime(3.0);

void BM_Get(benchmark::State& state) {
  vault::Vault& v = RecordsVault();
  std::uint64_t i = static_cast<std::uint64_t>(state.thread_index()) * 977;
  for (auto _ : state) {
    ++i;
    auto r = v.GetRecord(kActor, Id("get-", i % 64), "account", Id("r", (i / 64) % 16));
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * 1024);
}
BENCHMARK(BM_Get)->Threads(1)->Threads(8)->UseRealTime()->MinTime(3.0);

// --- Erasure ---------------------------------------------------------------------------

void BM_EraseSubject(benchmark::State& state) {
  static std::unique_ptr<vault::Vault> v = OpenFresh("erase");
  const auto records = static_cast<std::uint64_t>(state.range(0));
  static std::atomic<std::uint64_t> subject_seq{0};
  double setup_s = 0;
  for (auto _ : state) {
    // Setup (untimed): a fresh subject with `records` 1 KiB account records.
    const auto s0 = std::chrono::steady_clock::now();
    const std::string sid = Id("erase-", subject_seq++);
    MustPut(*v, sid, "account", "r0", KiBRecord());  // creates the subject first
    ParallelFor(records - 1, 32,
                [&](std::uint64_t i) { MustPut(*v, sid, "account", Id("r", i + 1), KiBRecord()); });
    const auto t0 = std::chrono::steady_clock::now();
    setup_s += std::chrono::duration<double>(t0 - s0).count();
    auto r = v->RequestErasure(kActor, sid, "immediate", "bench");
    const auto t1 = std::chrono::steady_clock::now();
    if (!r.ok() || r->state != "completed") {
      state.SkipWithError(r.ok() ? ("erasure state " + r->state).c_str()
                                 : r.status().ToString().c_str());
      break;
    }
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
  }
  state.counters["records"] = static_cast<double>(records);
  state.counters["setup_s"] = setup_s;
}
BENCHMARK(BM_EraseSubject)
    ->ArgName("records")
    ->Arg(1)
    ->Arg(10000)
    ->Iterations(10)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// --- Epoch rotation --------------------------------------------------------------------

std::uint64_t EnvU64(const char* name, std::uint64_t fallback) {
  const char* e = std::getenv(name);
  if (e != nullptr && *e != '\0') return std::strtoull(e, nullptr, 10);
  return fallback;
}

// User and system CPU time of this process so far, every thread.
double ProcessCpuSeconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  const auto sec = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

void BM_RotateEpoch(benchmark::State& state) {
  const auto want = static_cast<std::uint64_t>(state.range(0));
  // Every new subject with one account record holds two DEKs: the subject scope (sealed
  // subject id) and the account scope. Records are small; rotation never touches them.
  static double setup_s = 0;
  static std::uint64_t live_keys = 0;
  static std::unique_ptr<vault::Vault> v = [&] {
    auto fresh = OpenFresh("rotate");
    const json small = {{"n", 1}};
    const std::uint64_t subjects = want / 2;
    const auto s0 = std::chrono::steady_clock::now();
    std::atomic<std::uint64_t> done{0};
    ParallelFor(subjects, 128, [&](std::uint64_t i) {
      MustPut(*fresh, Id("rot-", i), "account", "r", small);
      const std::uint64_t d = ++done;
      if (d % 100000 == 0) {
        std::fprintf(stderr, "rotate setup: %llu/%llu subjects, %.0f s\n",
                     static_cast<unsigned long long>(d), static_cast<unsigned long long>(subjects),
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count());
      }
    });
    setup_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
    auto st = fresh->Stats();
    if (!st.ok()) Die("Stats", st.status());
    live_keys = st->keys_live;
    std::fprintf(stderr, "rotate setup: %llu live DEKs in %.1f s\n",
                 static_cast<unsigned long long>(live_keys), setup_s);
    return fresh;
  }();
  std::uint64_t rewrapped = 0;
  double cpu_s = 0;  // the process's CPU time (all threads) in the timed rotations
  for (auto _ : state) {
    const double c0 = ProcessCpuSeconds();
    const auto t0 = std::chrono::steady_clock::now();
    auto r = v->RotateEpoch(kActor);
    const auto t1 = std::chrono::steady_clock::now();
    cpu_s += ProcessCpuSeconds() - c0;
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    rewrapped = r->rewrapped;
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
  }
  state.counters["live_deks"] = static_cast<double>(live_keys);
  state.counters["rewrapped"] = static_cast<double>(rewrapped);
  state.counters["setup_s"] = setup_s;
  // CPU per rewrapped key: on a machine shared with other work the wall-clock rate says
  // little; two idle cores would give at most 2 / cpu_us_per_dek million keys/s.
  const double keys = static_cast<double>(rewrapped) * static_cast<double>(state.iterations());
  state.counters["cpu_us_per_dek"] = keys > 0 ? cpu_s * 1e6 / keys : 0;
  state.counters["deks_per_s"] = benchmark::Counter(static_cast<double>(rewrapped),
                                                    benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::RegisterBenchmark("BM_RotateEpoch", BM_RotateEpoch)
      ->ArgName("deks")
      ->Arg(static_cast<std::int64_t>(EnvU64("VAULT_BENCH_DEKS", 1000000)))
      ->Iterations(static_cast<std::int64_t>(EnvU64("VAULT_BENCH_ROTATIONS", 2)))
      ->UseManualTime()
      ->Unit(benchmark::kSecond);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::fprintf(stderr, "engine_bench: data in %s\n", RunDir().c_str());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
