// Password verification cost: the engine's Vault::VerifyPassword against a bare libargon2
// argon2_verify of the same Argon2id hash parameters, in the same run, interleaved in rounds
// (latency on one thread, then throughput on as many threads as the gate runs at once).
// Usage: password_bench [--rounds N] [--verifies N] [--seconds S]; prints a table for
// docs/benchmarks.md ("Passwords").
#include <argon2.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "crypto/password_hash.h"
#include "vault/vault.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kPassword = "bench-password-1";

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Milliseconds per call of fn, n calls on this thread.
std::vector<double> Latencies(int n, const std::function<void()>& fn) {
  std::vector<double> out;
  for (int i = 0; i < n; ++i) {
    const auto t0 = Clock::now();
    fn();
    out.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  return out;
}

// Calls per second of fn on `threads` threads for `seconds`.
double Throughput(int threads, double seconds, const std::function<void()>& fn) {
  std::atomic<long> calls{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> ts;
  const auto t0 = Clock::now();
  for (int i = 0; i < threads; ++i) {
    ts.emplace_back([&] {
      while (!stop.load()) {
        fn();
        ++calls;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : ts) t.join();
  return static_cast<double>(calls.load()) /
         std::chrono::duration<double>(Clock::now() - t0).count();
}

int Flag(int argc, char** argv, const char* name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == name) return std::atoi(argv[i + 1]);
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = Flag(argc, argv, "--rounds", 3);
  const int verifies = Flag(argc, argv, "--verifies", 20);
  const int seconds = Flag(argc, argv, "--seconds", 3);
  const std::string dir = std::filesystem::temp_directory_path() / "lethe-password-bench";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  if (!vault::CreateRootKeyFile(dir + "/root.key").ok()) return 1;
  vault::Options o;
  o.data_dir = dir + "/data";
  o.root_key = vault::RootKeyFromFile(dir + "/root.key");
  o.create_if_missing = true;
  o.map_size_bytes = 1ull << 30;
  auto opened = vault::Vault::Open(o);
  if (!opened.ok()) return 1;
  vault::Vault& v = **opened;
  const vault::Actor app{"bench", vault::Role::kApp};
  if (!v.SetPassword(app, "bench-subject", kPassword).ok()) return 1;
  const auto& a = v.policy().argon2;
  const auto bare_hash = vault::crypto::HashArgon2id(vault::crypto::AsBytes(kPassword),
                                                     {a.memory_kib, a.iterations, a.parallelism});
  const auto bare = [&] {
    if (argon2_verify(bare_hash->c_str(), kPassword, std::strlen(kPassword), Argon2_id) != 0) {
      std::abort();
    }
  };
  const auto engine = [&] {
    auto r = v.VerifyPassword(app, "bench-subject", kPassword);
    if (!r.ok() || !r->valid) std::abort();
  };
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  std::printf("Argon2id m=%u KiB t=%u p=%u; %d rounds of %d verifies; throughput on %u threads\n",
              a.memory_kib, a.iterations, a.parallelism, rounds, verifies, cores);
  // Latency: bare and engine calls alternate, so both see the same machine load; the
  // overhead is the median of the per-pair ratios.
  std::vector<double> lb, le, ratio, tb, te;
  for (int r = 0; r < rounds; ++r) {
    for (int i = 0; i < verifies; ++i) {
      const double b = Latencies(1, bare)[0];
      const double e = Latencies(1, engine)[0];
      lb.push_back(b);
      le.push_back(e);
      ratio.push_back(e / b);
    }
    tb.push_back(Throughput(static_cast<int>(cores), seconds, bare));
    te.push_back(Throughput(static_cast<int>(cores), seconds, engine));
  }
  const double mb = Median(lb), me = Median(le), ttb = Median(tb), tte = Median(te);
  std::printf("| measure | bare argon2_verify | Vault::VerifyPassword | overhead |\n");
  std::printf("|---|---|---|---|\n");
  std::printf("| median latency, 1 thread (%zu pairs) | %.2f ms | %.2f ms | %+.1f%% |\n", lb.size(),
              mb, me, 100.0 * (Median(ratio) - 1.0));
  std::printf(
      "| throughput, %u threads (median of %d runs of %d s) | %.1f /s | %.1f /s | %+.1f%% |\n",
      cores, rounds, seconds, ttb, tte, 100.0 * (ttb - tte) / ttb);
  opened->reset();
  std::filesystem::remove_all(dir);
  return 0;
}
