// Counters, latency histograms and gauges rendered in the Prometheus text format.
#include "api/metrics.h"

#include <charconv>
#include <cstdio>
#include <functional>
#include <thread>

#include "api/metrics_process.h"

#ifndef VAULT_VERSION
#define VAULT_VERSION "unknown"
#endif

namespace vault::api {
namespace {

std::string FormatDouble(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

// The shortest text that reads back as v: Unix times keep their sub-second digits.
std::string FormatExact(double v) {
  char buf[64];
  return std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

// Label values are route patterns, method names and the version we chose; escape anyway.
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

void Header(std::string* out, std::string_view name, std::string_view type, std::string_view help) {
  *out += "# HELP ";
  *out += name;
  *out += ' ';
  *out += help;
  *out += "\n# TYPE ";
  *out += name;
  *out += ' ';
  *out += type;
  *out += '\n';
}

void Gauge(std::string* out, std::string_view name, std::string_view type, std::string_view help,
           const std::string& value) {
  Header(out, name, type, help);
  *out += name;
  *out += ' ' + value + '\n';
}

void EngineGauges(std::string* out, const VaultStats& s) {
  auto u = [](std::uint64_t v) { return std::to_string(v); };
  Gauge(out, "lethe_records", "gauge", "Records stored.", u(s.records));
  Gauge(out, "lethe_subjects", "gauge", "Subjects known.", u(s.subjects));
  Gauge(out, "lethe_pending_erasures", "gauge", "Erasures scheduled and not yet executed.",
        u(s.pending_erasures));
  Gauge(out, "lethe_keys_shredded_total", "counter", "Data keys destroyed.", u(s.keys_shredded));
  Gauge(out, "lethe_keys_live", "gauge", "Data keys alive.", u(s.keys_live));
  Gauge(out, "lethe_epoch", "gauge", "Current key epoch.", u(s.epoch));
  Gauge(out, "lethe_audit_queued", "gauge",
        "Read audit entries queued for the writer, not yet committed (reads wait at the limit).",
        u(s.audit_queued));
}

// One gauge per policy category.
void CategoryGauge(std::string* out, std::string_view name, std::string_view help,
                   const ComplianceReport& r, std::uint64_t CategoryFigures::*field) {
  Header(out, name, "gauge", help);
  for (const auto& [category, c] : r.categories) {
    *out += std::string(name) + "{category=\"" + Escape(category) + "\"} " +
            std::to_string(c.*field) + "\n";
  }
}

// The compliance report's figures (GET /v1/admin/report) as lethe_report_* gauges.
void ReportGauges(std::string* out, const ComplianceReport& r) {
  auto u = [](std::uint64_t v) { return std::to_string(v); };
  CategoryGauge(out, "lethe_report_subjects", "Subjects with a live key, by category.", r,
                &CategoryFigures::subjects);
  CategoryGauge(out, "lethe_report_keys_alive", "Live data keys, by category.", r,
                &CategoryFigures::keys_alive);
  CategoryGauge(out, "lethe_report_shreds_overdue",
                "Keys past their retention, not held, not yet shredded (must be 0).", r,
                &CategoryFigures::shreds_overdue);
  CategoryGauge(out, "lethe_report_shreds_held", "Keys past their retention kept by a legal hold.",
                r, &CategoryFigures::shreds_held);
  Gauge(out, "lethe_report_legal_holds", "gauge", "Legal holds in force.", u(r.legal_holds));
  Gauge(out, "lethe_report_erasures_pending", "gauge", "Erasure requests not yet executed.",
        u(r.erasures_pending.size()));
  Gauge(out, "lethe_report_erasures_overdue", "gauge",
        "Erasure requests pending past their statutory deadline (one month; must be 0).",
        u(r.ErasuresOverdue()));
  Header(out, "lethe_report_pending_overdue", "gauge",
         "Other promised actions past their deadline, by queue (must be 0).");
  for (const auto& [queue, p] : r.pending) {
    *out += "lethe_report_pending_overdue{queue=\"" + Escape(queue) + "\"} " + u(p.overdue) + "\n";
  }
  Gauge(out, "lethe_report_oldest_epoch", "gauge",
        "Oldest epoch whose KEK is alive: what the oldest restorable backup may need.",
        u(r.oldest_epoch));
  Gauge(out, "lethe_report_epochs_overdue", "gauge",
        "Epoch KEKs past their destruction time, still alive (must be 0).", u(r.epochs_overdue));
  Gauge(out, "lethe_report_overdue", "gauge",
        "1 when anything in the compliance report is overdue.", r.AnythingOverdue() ? "1" : "0");
}

void StoreMapGauges(std::string* out) {
  const std::optional<StoreMapUsage> map = ReadStoreMapUsage();
  if (!map) return;
  Gauge(out, "lethe_store_map_used_bytes", "gauge",
        "Bytes of the store's LMDB map in use (the data file's length).",
        std::to_string(map->used_bytes));
  Gauge(out, "lethe_store_map_size_bytes", "gauge",
        "Size of the store's LMDB map; writes fail once the used bytes reach it.",
        std::to_string(map->size_bytes));
}

}  // namespace

HttpMetrics::HttpMetrics(std::chrono::seconds sweep_interval) : sweep_interval_(sweep_interval) {}

std::string_view MethodLabel(std::string_view method) {
  for (std::string_view m : {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    if (method == m) return m;
  }
  return "OTHER";
}

void HttpMetrics::Histogram::Add(const Histogram& other) {
  for (std::size_t i = 0; i < buckets.size(); ++i) buckets[i] += other.buckets[i];
  count += other.count;
  sum += other.sum;
}

void HttpMetrics::Observe(const std::string& route, const std::string& method, int status,
                          double seconds) {
  thread_local const std::size_t shard_index =
      std::hash<std::thread::id>{}(std::this_thread::get_id()) % kShards;
  Shard& shard = shards_[shard_index];
  const std::string_view label = MethodLabel(method);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.routes.find(std::string_view(route));
  if (it == shard.routes.end()) it = shard.routes.emplace(route, RouteStats{}).first;
  RouteStats& stats = it->second;
  ++stats.requests[{label, status}];
  Histogram& h = stats.latency[label];
  for (std::size_t i = 0; i < kLatencyBounds.size(); ++i) {
    if (seconds <= kLatencyBounds[i]) {
      ++h.buckets[i];
      break;
    }
  }
  ++h.count;
  h.sum += seconds;
}

void HttpMetrics::RecordSweep(bool ok, std::chrono::system_clock::time_point at) {
  if (!ok) {
    ++sweeps_failed_;
    return;
  }
  ++sweeps_ok_;
  const double t = std::chrono::duration<double>(at.time_since_epoch()).count();
  double seen = last_sweep_success_.load();
  while (seen < t && !last_sweep_success_.compare_exchange_weak(seen, t)) {
  }
}

void HttpMetrics::Merge(RequestCounts* requests, Latencies* latency) const {
  for (Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    for (const auto& [route, rs] : shard.routes) {
      for (const auto& [key, n] : rs.requests) {
        (*requests)[std::make_tuple(route, key.first, key.second)] += n;
      }
      for (const auto& [method, h] : rs.latency) (*latency)[{route, method}].Add(h);
    }
  }
}

void HttpMetrics::RenderSweeps(std::string* out) const {
  Header(out, "lethe_sweeps_total", "counter", "Sweeps finished, by outcome.");
  *out += "lethe_sweeps_total{outcome=\"ok\"} " + std::to_string(sweeps_ok_.load()) + "\n";
  *out += "lethe_sweeps_total{outcome=\"error\"} " + std::to_string(sweeps_failed_.load()) + "\n";
  Gauge(out, "lethe_sweep_last_success_timestamp_seconds", "gauge",
        "Unix time of the last successful sweep; 0 before the first.",
        FormatExact(last_sweep_success_.load()));
  Gauge(out, "lethe_sweep_interval_seconds", "gauge",
        "Period of the background sweeper; 0 when it is off.",
        std::to_string(sweep_interval_.count()));
}

std::string HttpMetrics::Render(const ServerState& state) const {
  RequestCounts requests;
  Latencies latency;
  Merge(&requests, &latency);
  std::string out;
  Header(&out, "lethe_http_requests_total", "counter",
         "HTTP requests by route pattern, method and status.");
  for (const auto& [key, n] : requests) {
    out += "lethe_http_requests_total{route=\"" + Escape(std::get<0>(key)) + "\",method=\"" +
           Escape(std::get<1>(key)) + "\",status=\"" + std::to_string(std::get<2>(key)) + "\"} " +
           std::to_string(n) + "\n";
  }
  constexpr std::string_view kLatency = "lethe_http_request_duration_seconds";
  Header(&out, kLatency, "histogram", "HTTP request latency by route pattern and method.");
  for (const auto& [key, h] : latency) {
    const std::string labels =
        "route=\"" + Escape(key.first) + "\",method=\"" + Escape(key.second) + "\"";
    const std::string prefix = std::string(kLatency);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kLatencyBounds.size(); ++i) {
      cumulative += h.buckets[i];
      out += prefix + "_bucket{" + labels + ",le=\"" + FormatDouble(kLatencyBounds[i]) + "\"} " +
             std::to_string(cumulative) + "\n";
    }
    out += prefix + "_bucket{" + labels + ",le=\"+Inf\"} " + std::to_string(h.count) + "\n";
    out += prefix + "_sum{" + labels + "} " + FormatExact(h.sum) + "\n";
    out += prefix + "_count{" + labels + "} " + std::to_string(h.count) + "\n";
  }
  Header(&out, "lethe_build_info", "gauge", "Build of the running server; always 1.");
  out += "lethe_build_info{version=\"" + Escape(VAULT_VERSION) + "\"} 1\n";
  Gauge(&out, "lethe_ready", "gauge", "1 when GET /readyz answers 200, else 0.",
        state.ready ? "1" : "0");
  RenderSweeps(&out);
  if (state.stats != nullptr) EngineGauges(&out, *state.stats);
  if (state.report != nullptr) ReportGauges(&out, *state.report);
  StoreMapGauges(&out);
  AppendProcessMetrics(&out);
  return out;
}

}  // namespace vault::api
