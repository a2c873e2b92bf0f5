// Process and store-map figures for /metrics, read from /proc/self at each scrape.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace vault::api {

// The standard Prometheus process metrics (process_*), as client libraries export them.
struct ProcessStats {
  double cpu_seconds = 0;  // user + system
  std::uint64_t resident_bytes = 0;
  std::uint64_t virtual_bytes = 0;
  std::uint64_t open_fds = 0;
  std::uint64_t max_fds = 0;      // RLIMIT_NOFILE, soft
  double start_time_seconds = 0;  // Unix time
};

// nullopt when /proc/self/stat cannot be read or parsed.
std::optional<ProcessStats> ReadProcessStats();

// The LMDB map of the store this process has open: its size (the address space mapped for
// data.mdb, i.e. the configured map size) and the bytes in use (data.mdb's length: LMDB grows
// the file to its highest page in use and never past the map). Found in /proc/self/maps, so
// it needs nothing of the engine's interface; nullopt when no data.mdb is mapped.
struct StoreMapUsage {
  std::uint64_t used_bytes = 0;
  std::uint64_t size_bytes = 0;
};
std::optional<StoreMapUsage> ReadStoreMapUsage();

// Appends the process_* metrics (HELP, TYPE and sample) to *out; nothing when unreadable.
void AppendProcessMetrics(std::string* out);

}  // namespace vault::api
