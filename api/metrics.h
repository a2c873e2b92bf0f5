// Prometheus metrics of the server: requests and latency by route and method, build info,
// sweeps, readiness, the engine's gauges, the process and the store's map.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "vault/vault.h"

namespace vault::api {

// Latency histogram bounds, in seconds: 50 us to 10 s.
inline constexpr std::array<double, 17> kLatencyBounds = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,    0.1,    0.25,    0.5,    1,     2.5,    5,     10};

// What the server knows about itself at a scrape, beside the engine's stats.
struct ServerState {
  const VaultStats* stats = nullptr;         // null: the engine's gauges are left out
  bool ready = false;                        // what GET /readyz would answer
  const ComplianceReport* report = nullptr;  // null: the lethe_report_* gauges are left out
};

// Thread-safe. Observations go to one of kShards shards picked by the calling thread, each
// with its own lock, so request threads do not queue on one mutex; Render merges them.
class HttpMetrics {
 public:
  // sweep_interval: the background sweeper's period (0: none), exported for alerts.
  explicit HttpMetrics(std::chrono::seconds sweep_interval = std::chrono::seconds(0));
  // route: a route pattern or "unmatched"; method: an HTTP method name (see MethodLabel).
  void Observe(const std::string& route, const std::string& method, int status, double seconds);
  // A sweep finished (the background sweeper's or POST /v1/admin/sweep), ok or failed.
  void RecordSweep(bool ok, std::chrono::system_clock::time_point at);
  // Prometheus text exposition format 0.0.4.
  std::string Render(const ServerState& state) const;
  std::string Render(const VaultStats* stats) const { return Render(ServerState{stats, false}); }

 private:
  static constexpr std::size_t kShards = 16;
  struct Histogram {
    std::array<std::uint64_t, kLatencyBounds.size()> buckets{};  // not cumulative
    std::uint64_t count = 0;
    double sum = 0;
    void Add(const Histogram& other);
  };
  struct RouteStats {
    std::map<std::pair<std::string_view, int>, std::uint64_t> requests;  // (method, status)
    std::map<std::string_view, Histogram> latency;                       // by method
  };
  struct Shard {
    std::mutex mu;
    std::map<std::string, RouteStats, std::less<>> routes;  // looked up without allocating
  };
  using RequestCounts = std::map<std::tuple<std::string, std::string_view, int>, std::uint64_t>;
  using Latencies = std::map<std::pair<std::string, std::string_view>, Histogram>;
  void Merge(RequestCounts* requests, Latencies* latency) const;
  void RenderSweeps(std::string* out) const;

  const std::chrono::seconds sweep_interval_;
  mutable std::array<Shard, kShards> shards_;
  std::atomic<std::uint64_t> sweeps_ok_{0};
  std::atomic<std::uint64_t> sweeps_failed_{0};
  std::atomic<double> last_sweep_success_{0};  // Unix seconds; 0: none yet
};

// Normalizes a request method for labels: known methods as is, anything else "OTHER".
// The view refers to a string literal.
std::string_view MethodLabel(std::string_view method);

}  // namespace vault::api
