// Reads /proc/self/stat, /proc/stat, /proc/self/fd and /proc/self/maps for /metrics.
#include "api/metrics_process.h"

#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string_view>
#include <vector>

namespace vault::api {
namespace {

std::string ReadSmallFile(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Seconds since the epoch at which the machine booted (/proc/stat "btime"), or 0.
double BootTime() {
  std::ifstream in("/proc/stat");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("btime ", 0) == 0) return std::stod(line.substr(6));
  }
  return 0;
}

std::uint64_t CountOpenFds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  std::uint64_t n = 0;
  while (const dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n > 0 ? n - 1 : 0;  // less the descriptor reading the directory
}

void Sample(std::string* out, const char* name, const char* type, const char* help, double v) {
  char value[64];
  std::snprintf(value, sizeof value, "%.17g", v);
  *out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
          name + " " + value + "\n";
}

}  // namespace

std::optional<ProcessStats> ReadProcessStats() {
  // pid (comm) state ppid ...: the fields after the last ')' start with field 3 (state).
  const std::string stat = ReadSmallFile("/proc/self/stat");
  const std::size_t close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 1));
  std::vector<std::string> f;
  for (std::string word; fields >> word;) f.push_back(word);
  // utime: field 14, stime 15, starttime 22, vsize 23, rss 24 (proc(5)); index = field - 3.
  if (f.size() < 22) return std::nullopt;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  ProcessStats p;
  try {
    p.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / ticks;
    p.start_time_seconds = BootTime() + std::stod(f[19]) / ticks;
    p.virtual_bytes = std::stoull(f[20]);
    p.resident_bytes = std::stoull(f[21]) * page;
  } catch (...) {
    return std::nullopt;
  }
  p.open_fds = CountOpenFds();
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) p.max_fds = limit.rlim_cur;
  return p;
}

std::optional<StoreMapUsage> ReadStoreMapUsage() {
  std::ifstream maps("/proc/self/maps");
  std::optional<StoreMapUsage> best;
  for (std::string line; std::getline(maps, line);) {
    // start-end perms offset dev inode path
    constexpr std::string_view kFile = "/data.mdb";
    if (line.size() < kFile.size() ||
        line.compare(line.size() - kFile.size(), kFile.size(), kFile.data()) != 0) {
      continue;
    }
    std::uint64_t start = 0, end = 0;
    const char* const text_end = line.data() + line.size();
    const auto [dash, ec1] = std::from_chars(line.data(), text_end, start, 16);
    if (ec1 != std::errc() || dash == text_end || *dash != '-') continue;
    const auto [after, ec2] = std::from_chars(dash + 1, text_end, end, 16);
    if (ec2 != std::errc() || after == text_end || *after != ' ' || end <= start) continue;
    const std::size_t path_at = line.find('/');
    struct stat st {};
    if (path_at == std::string::npos || ::stat(line.c_str() + path_at, &st) != 0) continue;
    const StoreMapUsage usage{static_cast<std::uint64_t>(st.st_size), end - start};
    if (!best || usage.size_bytes > best->size_bytes) best = usage;
  }
  return best;
}

void AppendProcessMetrics(std::string* out) {
  const std::optional<ProcessStats> p = ReadProcessStats();
  if (!p) return;
  Sample(out, "process_cpu_seconds_total", "counter",
         "Total user and system CPU time spent in seconds.", p->cpu_seconds);
  Sample(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
         static_cast<double>(p->resident_bytes));
  Sample(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
         static_cast<double>(p->virtual_bytes));
  Sample(out, "process_open_fds", "gauge", "Number of open file descriptors.",
         static_cast<double>(p->open_fds));
  Sample(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
         static_cast<double>(p->max_fds));
  Sample(out, "process_start_time_seconds", "gauge",
         "Start time of the process since unix epoch in seconds.", p->start_time_seconds);
}

}  // namespace vault::api
