// The benchmark suite's load runner: N client threads, each with its own session (connection),
// run one operation for a fixed time or a fixed count; reports rate and latency percentiles.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

// A failed operation (a refused request, a database error): the run stops and says why.
class BenchError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One client's connection to the system under test. Used by one thread only.
class Session {
 public:
  virtual ~Session() = default;
  // Stores a 1 KiB record durably; new_subject: the subject does not exist yet.
  virtual void Put(const std::string& sid, const std::string& rid, bool new_subject) = 0;
  // Reads and decrypts one record.
  virtual void Get(const std::string& sid, const std::string& rid) = 0;
  // Reads and decrypts the first `limit` records of a subject; returns how many.
  virtual std::size_t List(const std::string& sid, std::size_t limit) = 0;
  // Erases a subject and all its records, durably.
  virtual void Erase(const std::string& sid) = 0;
  // A request that does no work (the server's liveness route): the edge's own ceiling.
  virtual void Noop() { throw BenchError("this system has no no-op request"); }
};

// A system under test: opens sessions, and loads many records fast (untimed setup).
class System {
 public:
  virtual ~System() = default;
  virtual std::unique_ptr<Session> Connect() = 0;
  // Puts `count` records r0..r<count-1> into subject sid (r0 creates the subject).
  virtual void Seed(const std::string& sid, std::uint64_t count);
};

// The operation one thread runs: seq is unique across threads (0, 1, 2, ...).
using Op = std::function<void(Session&, unsigned thread, std::uint64_t seq)>;

struct LoadSpec {
  unsigned clients = 1;
  double seconds = 5;       // run for this long, unless count is set
  std::uint64_t count = 0;  // run exactly this many operations (0: by time)
};

struct LoadResult {
  std::uint64_t ops = 0;
  double seconds = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  nlohmann::json ToJson() const;
};

// Runs op from spec.clients threads, each with its own session from system.Connect().
LoadResult RunLoad(System& system, const LoadSpec& spec, const Op& op);

// Runs fn(i) for i in [0, n) from `threads` threads, each with its own session.
void ParallelSeed(System& system, std::uint64_t n, unsigned threads,
                  const std::function<void(Session&, std::uint64_t)>& fn);

// The record every workload writes: {"blob":"xxx..."}, 1,011 bytes of JSON (1 KiB with ids).
const std::string& RecordJson();

// prefix + decimal n. (Not `"lit" + std::to_string(n)`: GCC 12 -O2 reports a false -Wrestrict
// on that.)
std::string Id(std::string prefix, std::uint64_t n);

double SecondsSince(std::chrono::steady_clock::time_point t0);

}  // namespace bench
