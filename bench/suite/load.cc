// The load runner (load.h): threads with their own sessions, timed together after all connect.
#include "bench/suite/load.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

namespace bench {

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string Id(std::string prefix, std::uint64_t n) {
  prefix += std::to_string(n);
  return prefix;
}

const std::string& RecordJson() {
  static const std::string json = "{\"blob\":\"" + std::string(1000, 'x') + "\"}";
  return json;
}

void System::Seed(const std::string& sid, std::uint64_t count) {
  if (count == 0) return;
  auto first = Connect();
  first->Put(sid, "r0", true);
  ParallelSeed(*this, count - 1, 32,
               [&](Session& s, std::uint64_t i) { s.Put(sid, Id("r", i + 1), false); });
}

nlohmann::json LoadResult::ToJson() const {
  return {{"ops", ops},
          {"seconds", seconds},
          {"ops_per_s", seconds > 0 ? static_cast<double>(ops) / seconds : 0.0},
          {"p50_ms", p50_ms},
          {"p99_ms", p99_ms},
          {"max_ms", max_ms}};
}

namespace {

// Shared state of one run: a start gate, the stop flag and the first error.
struct RunState {
  std::atomic<unsigned> connected{0};
  std::atomic<bool> go{false}, stop{false};
  std::atomic<std::uint64_t> next{0};
  std::mutex mu;
  std::exception_ptr error;
  void Fail(std::exception_ptr e) {
    std::lock_guard<std::mutex> lock(mu);
    if (!error) error = e;
    stop = true;
    go = true;
  }
};

double Percentile(std::vector<float>& v, double p) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k] / 1000.0;
}

void ClientLoop(System& system, const LoadSpec& spec, const Op& op, unsigned thread, RunState& st,
                std::vector<float>& lat_us) {
  try {
    auto session = system.Connect();
    ++st.connected;
    while (!st.go) std::this_thread::yield();
    while (!st.stop) {
      const std::uint64_t seq = st.next++;
      if (spec.count != 0 && seq >= spec.count) break;
      const auto t0 = std::chrono::steady_clock::now();
      op(*session, thread, seq);
      lat_us.push_back(static_cast<float>(SecondsSince(t0) * 1e6));
    }
  } catch (...) {
    st.Fail(std::current_exception());
  }
}

}  // namespace

LoadResult RunLoad(System& system, const LoadSpec& spec, const Op& op) {
  RunState st;
  std::vector<std::vector<float>> lat(spec.clients);
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < spec.clients; ++t) {
    threads.emplace_back([&, t] { ClientLoop(system, spec, op, t, st, lat[t]); });
  }
  while (st.connected < spec.clients && !st.stop) std::this_thread::yield();
  const auto t0 = std::chrono::steady_clock::now();
  st.go = true;
  if (spec.count == 0) {
    while (!st.stop && SecondsSince(t0) < spec.seconds) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    st.stop = true;
  }
  for (auto& th : threads) th.join();
  LoadResult r;
  r.seconds = SecondsSince(t0);
  if (st.error) std::rethrow_exception(st.error);
  std::vector<float> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  r.ops = all.size();
  r.max_ms = all.empty() ? 0 : *std::max_element(all.begin(), all.end()) / 1000.0;
  r.p99_ms = Percentile(all, 0.99);
  r.p50_ms = Percentile(all, 0.50);
  return r;
}

void ParallelSeed(System& system, std::uint64_t n, unsigned threads,
                  const std::function<void(Session&, std::uint64_t)>& fn) {
  if (n == 0) return;
  LoadSpec spec;
  spec.clients = static_cast<unsigned>(std::min<std::uint64_t>(threads, n));
  spec.count = n;
  RunLoad(system, spec, [&](Session& s, unsigned, std::uint64_t i) { fn(s, i); });
}

}  // namespace bench
