// Prometheus metrics of the HTTP API. Labels carry route patterns, never concrete paths.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "vault/vault.h"

namespace vault::api {

// Thread-safe.
class HttpMetrics {
 public:
  HttpMetrics();
  // route: a route pattern or "unmatched"; method: an HTTP method name or "OTHER".
  void Observe(const std::string& route, const std::string& method, int status, double seconds);
  // Prometheus text exposition format 0.0.4; stats adds the engine gauges when present.
  std::string Render(const VaultStats* stats) const;

 private:
  struct Histogram {
    std::vector<std::uint64_t> buckets;  // cumulative counts are computed when rendering
    std::uint64_t count = 0;
    double sum = 0;
  };
  const std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;
  std::map<std::string, Histogram> latency_;
};

// Normalizes a request method for labels: known methods as is, anything else "OTHER".
std::string MethodLabel(const std::string& method);

}  // namespace vault::api
