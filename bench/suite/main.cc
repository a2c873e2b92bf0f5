// suite_bench: one workload of the benchmark suite per invocation, one JSON line on stdout
// (scripts/bench-suite.sh runs it; docs/benchmarks.md, "Benchmark suite").
//
//   suite_bench limits   --dir D [--seconds S]
//   suite_bench pg-schema --pg CONNINFO
//   suite_bench load     SYSTEM --op put-new|put-existing|get|list --clients N --seconds S --run
//   TAG suite_bench erase    SYSTEM --records N --reps R --run TAG suite_bench rotate   --dir D
//   --keys N --reps R suite_bench export   --url U --token T --records N --reps R --run TAG
//   suite_bench password --url U --token T --clients N --seconds S --run TAG
// SYSTEM: --system engine --dir D | --system pg --pg CONNINFO --crypto pgcrypto|sodium
//       | --system http --url http://127.0.0.1:PORT --token ADMIN_TOKEN
#include <sodium.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <thread>

#include "bench/suite/engine_system.h"
#include "bench/suite/http_system.h"
#include "bench/suite/limits.h"
#include "bench/suite/pg_system.h"
#include "bench/suite/workloads.h"

namespace {

using bench::BenchError;

class Flags {
 public:
  Flags(int argc, char** argv) {
    for (int i = 2; i < argc; i += 2) {
      const std::string k = argv[i];
      if (k.rfind("--", 0) != 0 || i + 1 >= argc) throw BenchError("bad flag: " + k);
      values_[k.substr(2)] = argv[i + 1];
    }
  }
  std::string Get(const std::string& k) const {
    auto it = values_.find(k);
    if (it == values_.end()) throw BenchError("missing --" + k);
    return it->second;
  }
  std::string Get(const std::string& k, const std::string& fallback) const {
    auto it = values_.find(k);
    return it == values_.end() ? fallback : it->second;
  }
  std::uint64_t Num(const std::string& k, std::uint64_t fallback) const {
    return std::stoull(Get(k, std::to_string(fallback)));
  }
  double Real(const std::string& k, double fallback) const {
    return std::stod(Get(k, std::to_string(fallback)));
  }

 private:
  std::map<std::string, std::string> values_;
};

std::unique_ptr<bench::System> MakeSystem(const Flags& f) {
  const std::string system = f.Get("system");
  if (system == "engine") return bench::MakeEngineSystem(f.Get("dir"));
  if (system == "http") return bench::MakeHttpSystem(f.Get("url"), f.Get("token"));
  if (system == "pg") {
    const std::string c = f.Get("crypto");
    if (c != "pgcrypto" && c != "sodium") throw BenchError("--crypto must be pgcrypto or sodium");
    return bench::MakePgSystem(
        f.Get("pg"), c == "sodium" ? bench::PgCrypto::kSodium : bench::PgCrypto::kPgcrypto);
  }
  throw BenchError("--system must be engine, pg or http");
}

bench::LoadSpec Spec(const Flags& f) {
  bench::LoadSpec s;
  s.clients = static_cast<unsigned>(f.Num("clients", 1));
  s.seconds = f.Real("seconds", 5);
  return s;
}

nlohmann::json Limits(const Flags& f) {
  const double s = f.Real("seconds", 3);
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  return {{"fdatasync", bench::FdatasyncLimit(f.Get("dir"), s)},
          {"aead_1_thread", bench::AeadLimit(1, s)},
          {"aead_all_cores", bench::AeadLimit(cores, s)},
          {"argon2id_1_thread", bench::Argon2idLimit(1, s, 19456, 2)},
          {"argon2id_all_cores", bench::Argon2idLimit(cores, s, 19456, 2)},
          {"cores", cores}};
}

nlohmann::json Run(const std::string& cmd, const Flags& f) {
  if (cmd == "limits") return Limits(f);
  if (cmd == "pg-schema") {
    bench::CreatePgSchema(f.Get("pg"));
    return {{"ok", true}};
  }
  if (cmd == "load") return bench::LoadWorkload(*MakeSystem(f), f.Get("op"), Spec(f), f.Get("run"));
  if (cmd == "seed") {
    MakeSystem(f)->Seed(f.Get("sid"), f.Num("records", 1));
    return {{"ok", true}};
  }
  if (cmd == "erase") {
    return bench::EraseWorkload(*MakeSystem(f), f.Num("records", 1),
                                static_cast<unsigned>(f.Num("reps", 3)), f.Get("run"));
  }
  if (cmd == "rotate") {
    return bench::RotationBench(f.Get("dir"), f.Num("keys", 1000000),
                                static_cast<unsigned>(f.Num("reps", 1)));
  }
  if (cmd == "export") {
    return bench::ExportWorkload(f.Get("url"), f.Get("token"), f.Num("records", 10000),
                                 static_cast<unsigned>(f.Num("reps", 3)), f.Get("run"));
  }
  if (cmd == "password")
    return bench::PasswordWorkload(f.Get("url"), f.Get("token"), Spec(f), f.Get("run"));
  throw BenchError("unknown command " + cmd);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: suite_bench COMMAND [--flag value]... (see bench/suite/main.cc)\n");
    return 2;
  }
  if (sodium_init() < 0) {
    std::fprintf(stderr, "suite_bench: sodium_init failed\n");
    return 1;
  }
  try {
    const Flags flags(argc, argv);
    std::cout << Run(argv[1], flags).dump() << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "suite_bench %s: %s\n", argv[1], e.what());
    return 1;
  }
}
