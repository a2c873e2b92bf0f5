// Counters and latency histograms rendered in the Prometheus text format.
#include "api/metrics.h"

#include <cstdio>
#include <functional>
#include <sstream>
#include <thread>

namespace vault::api {
namespace {

std::string FormatDouble(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

// Label values are route patterns and method names we chose; escape anyway.
std::string Escape(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

HttpMetrics::HttpMetrics()
    : bounds_{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10} {}

std::string_view MethodLabel(std::string_view method) {
  for (std::string_view m : {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    if (method == m) return m;
  }
  return "OTHER";
}

void HttpMetrics::Observe(const std::string& route, const std::string& method, int status,
                          double seconds) {
  thread_local const std::size_t shard_index =
      std::hash<std::thread::id>{}(std::this_thread::get_id()) % kShards;
  Shard& shard = shards_[shard_index];
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.routes.find(std::string_view(route));
  if (it == shard.routes.end()) it = shard.routes.emplace(route, RouteStats{}).first;
  RouteStats& stats = it->second;
  ++stats.requests[{MethodLabel(method), status}];
  Histogram& h = stats.latency;
  if (h.buckets.empty()) h.buckets.assign(bounds_.size(), 0);
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    if (seconds <= bounds_[i]) {
      ++h.buckets[i];
      break;
    }
  }
  ++h.count;
  h.sum += seconds;
}

std::string HttpMetrics::Render(const VaultStats* stats) const {
  std::map<std::tuple<std::string, std::string_view, int>, std::uint64_t> requests;
  std::map<std::string, Histogram> latency;
  for (Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    for (const auto& [route, rs] : shard.routes) {
      for (const auto& [key, n] : rs.requests) {
        requests[std::make_tuple(route, key.first, key.second)] += n;
      }
      const Histogram& h = rs.latency;
      Histogram& sum = latency[route];
      if (sum.buckets.empty()) sum.buckets.assign(bounds_.size(), 0);
      for (std::size_t i = 0; i < bounds_.size(); ++i) sum.buckets[i] += h.buckets[i];
      sum.count += h.count;
      sum.sum += h.sum;
    }
  }
  std::ostringstream out;
  {
    out << "# HELP vault_http_requests_total HTTP requests by route pattern, method and status.\n"
        << "# TYPE vault_http_requests_total counter\n";
    for (const auto& [key, n] : requests) {
      out << "vault_http_requests_total{route=\"" << Escape(std::get<0>(key)) << "\",method=\""
          << Escape(std::get<1>(key)) << "\",status=\"" << std::get<2>(key) << "\"} " << n << "\n";
    }
    out << "# HELP vault_http_request_duration_seconds HTTP request latency by route pattern.\n"
        << "# TYPE vault_http_request_duration_seconds histogram\n";
    for (const auto& [route, h] : latency) {
      const std::string label = "route=\"" + Escape(route) + "\"";
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < bounds_.size(); ++i) {
        cumulative += h.buckets[i];
        out << "vault_http_request_duration_seconds_bucket{" << label << ",le=\""
            << FormatDouble(bounds_[i]) << "\"} " << cumulative << "\n";
      }
      out << "vault_http_request_duration_seconds_bucket{" << label << ",le=\"+Inf\"} " << h.count
          << "\n";
      out << "vault_http_request_duration_seconds_sum{" << label << "} " << FormatDouble(h.sum)
          << "\n";
      out << "vault_http_request_duration_seconds_count{" << label << "} " << h.count << "\n";
    }
  }
  if (stats != nullptr) {
    auto gauge = [&out](const char* name, const char* type, const char* help, std::uint64_t v) {
      out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n"
          << name << " " << v << "\n";
    };
    gauge("vault_records", "gauge", "Records stored.", stats->records);
    gauge("vault_subjects", "gauge", "Subjects known.", stats->subjects);
    gauge("vault_pending_erasures", "gauge", "Erasures scheduled and not yet executed.",
          stats->pending_erasures);
    gauge("vault_keys_shredded_total", "counter", "Data keys destroyed.", stats->keys_shredded);
    gauge("vault_keys_live", "gauge", "Data keys alive.", stats->keys_live);
    gauge("vault_epoch", "gauge", "Current key epoch.", stats->epoch);
  }
  return out.str();
}

}  // namespace vault::api
