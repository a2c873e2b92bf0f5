// Counters and latency histograms rendered in the Prometheus text format.
#include "api/metrics.h"

#include <cstdio>
#include <sstream>

namespace vault::api {
namespace {

std::string FormatDouble(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

// Label values are route patterns and method names we chose; escape anyway.
std::string Escape(const std::string& v) {
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

std::string MethodLabel(const std::string& method) {
  for (const char* m : {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    if (method == m) return method;
  }
  return "OTHER";
}

void HttpMetrics::Observe(const std::string& route, const std::string& method, int status,
                          double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{route, MethodLabel(method), status}];
  Histogram& h = latency_[route];
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
  std::ostringstream out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    out << "# HELP vault_http_requests_total HTTP requests by route pattern, method and status.\n"
        << "# TYPE vault_http_requests_total counter\n";
    for (const auto& [key, n] : requests_) {
      out << "vault_http_requests_total{route=\"" << Escape(std::get<0>(key)) << "\",method=\""
          << Escape(std::get<1>(key)) << "\",status=\"" << std::get<2>(key) << "\"} " << n << "\n";
    }
    out << "# HELP vault_http_request_duration_seconds HTTP request latency by route pattern.\n"
        << "# TYPE vault_http_request_duration_seconds histogram\n";
    for (const auto& [route, h] : latency_) {
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
