// Prometheus metrics of the HTTP API. Labels carry route patterns, never concrete paths.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "vault/vault.h"

namespace vault::api {

// Thread-safe. Observations go to one of kShards shards picked by the calling thread, each
// with its own lock, so request threads do not queue on one mutex; Render merges them.
class HttpMetrics {
 public:
  HttpMetrics();
  // route: a route pattern or "unmatched"; method: an HTTP method name (see MethodLabel).
  void Observe(const std::string& route, const std::string& method, int status, double seconds);
  // Prometheus text exposition format 0.0.4; stats adds the engine gauges when present.
  std::string Render(const VaultStats* stats) const;

 private:
  static constexpr std::size_t kShards = 16;
  struct Histogram {
    std::vector<std::uint64_t> buckets;  // cumulative counts are computed when rendering
    std::uint64_t count = 0;
    double sum = 0;
  };
  struct RouteStats {
    std::map<std::pair<std::string_view, int>, std::uint64_t> requests;  // (method, status)
    Histogram latency;
  };
  struct Shard {
    std::mutex mu;
    std::map<std::string, RouteStats, std::less<>> routes;  // looked up without allocating
  };
  const std::vector<double> bounds_;
  mutable std::array<Shard, kShards> shards_;
};

// Normalizes a request method for labels: known methods as is, anything else "OTHER".
// The view refers to a string literal.
std::string_view MethodLabel(std::string_view method);

}  // namespace vault::api
