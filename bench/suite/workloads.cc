// The suite's workloads (workloads.h).
#include "bench/suite/workloads.h"

#include <memory>
#include <vector>

#include "bench/suite/http_system.h"

namespace bench {
namespace {

constexpr std::uint64_t kExistingSubjects = 64;
constexpr std::uint64_t kGetSubjects = 64, kGetRecords = 16;
constexpr std::uint64_t kListSubjects = 8, kListRecords = 100;
constexpr char kSkipped[] = "route not available in this build";

// Puts subjects x records (r0..) under prefix<i>, from 32 clients.
void SeedGrid(System& sys, const std::string& prefix, std::uint64_t subjects,
              std::uint64_t records) {
  ParallelSeed(sys, subjects, 32,
               [&](Session& s, std::uint64_t i) { s.Put(Id(prefix, i), "r0", true); });
  if (records > 1) {
    ParallelSeed(sys, subjects * (records - 1), 32, [&](Session& s, std::uint64_t i) {
      s.Put(Id(prefix, i % subjects), Id("r", 1 + i / subjects), false);
    });
  }
}

Op MakeOp(System& sys, const std::string& op, const std::string& run) {
  if (op == "put-new") {
    return
        [run](Session& s, unsigned, std::uint64_t seq) { s.Put(Id(run + "-n", seq), "r", true); };
  }
  if (op == "get-fixed") {  // the HTTP ceiling: one fixed path, nothing to seed
    return [](Session& s, unsigned, std::uint64_t) { s.Get("bench-1", "r1"); };
  }
  if (op == "get-noop") {  // the vault's own ceiling: GET /healthz, no auth, no store
    return [](Session& s, unsigned, std::uint64_t) { s.Noop(); };
  }
  if (op == "put-existing") {
    SeedGrid(sys, run + "-e", kExistingSubjects, 1);
    return [run](Session& s, unsigned, std::uint64_t seq) {
      s.Put(Id(run + "-e", seq % kExistingSubjects), Id("w", seq), false);
    };
  }
  if (op == "get") {
    SeedGrid(sys, run + "-g", kGetSubjects, kGetRecords);
    return [run](Session& s, unsigned, std::uint64_t seq) {
      const std::uint64_t i = seq * 977;
      s.Get(Id(run + "-g", i % kGetSubjects), Id("r", (i / kGetSubjects) % kGetRecords));
    };
  }
  if (op == "list") {
    SeedGrid(sys, run + "-l", kListSubjects, kListRecords);
    return [run](Session& s, unsigned, std::uint64_t seq) {
      const std::size_t n = s.List(Id(run + "-l", seq % kListSubjects), kListRecords);
      if (n != kListRecords) throw BenchError("list returned " + std::to_string(n) + " records");
    };
  }
  throw BenchError("unknown op " + op);
}

}  // namespace

nlohmann::json LoadWorkload(System& sys, const std::string& op, const LoadSpec& spec,
                            const std::string& run) {
  const auto s0 = std::chrono::steady_clock::now();
  Op fn = MakeOp(sys, op, run);
  const double setup_s = SecondsSince(s0);
  const LoadResult r = RunLoad(sys, spec, fn);
  nlohmann::json j = r.ToJson();
  j["clients"] = spec.clients;
  j["setup_s"] = setup_s;
  if (op == "list") j["records_per_s"] = j["ops_per_s"].get<double>() * kListRecords;
  return j;
}

nlohmann::json EraseWorkload(System& sys, std::uint64_t records, unsigned reps,
                             const std::string& run) {
  nlohmann::json times = nlohmann::json::array();
  double setup_s = 0;
  auto session = sys.Connect();
  for (unsigned i = 0; i < reps; ++i) {
    const std::string sid = Id(run + "-x", i);
    const auto s0 = std::chrono::steady_clock::now();
    sys.Seed(sid, records);
    setup_s += SecondsSince(s0);
    const auto t0 = std::chrono::steady_clock::now();
    session->Erase(sid);
    times.push_back(SecondsSince(t0) * 1000.0);
  }
  return {{"records", records}, {"erase_ms", times}, {"setup_s", setup_s}};
}

nlohmann::json ExportWorkload(const std::string& url, const std::string& token,
                              std::uint64_t records, unsigned reps, const std::string& run) {
  std::string host, port;
  SplitUrl(url, &host, &port);
  HttpClient client(host, port, token);
  const std::string sid = run + "-export";
  const std::string target = "/v1/subjects/" + sid + "/export?format=json";
  // Probe once the subject exists: then a 404 or 405 can only mean the route is missing.
  auto sys = MakeHttpSystem(url, token);
  sys->Connect()->Put(sid, "r0", true);
  const HttpReply probe = client.Send("GET", target);
  if (probe.status == 404 || probe.status == 405) {
    return {{"skipped", kSkipped}, {"probe_status", probe.status}};
  }
  ParallelSeed(*sys, records - 1, 32,
               [&](Session& s, std::uint64_t i) { s.Put(sid, Id("r", i + 1), false); });
  nlohmann::json times = nlohmann::json::array();
  std::size_t bytes = 0;
  for (unsigned i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    HttpReply r = client.Send("GET", target);
    const double s = SecondsSince(t0);
    if (r.status == 404 || r.status == 405)
      return {{"skipped", kSkipped}, {"probe_status", r.status}};
    if (r.status != 200) throw BenchError("export: status " + std::to_string(r.status));
    if (r.body.size() < records * 1000) throw BenchError("export: body shorter than the records");
    bytes = r.body.size();
    times.push_back({{"seconds", s}, {"records_per_s", static_cast<double>(records) / s}});
  }
  return {{"records", records}, {"bytes", bytes}, {"runs", times}};
}

nlohmann::json PasswordWorkload(const std::string& url, const std::string& token,
                                const LoadSpec& spec, const std::string& run) {
  std::string host, port;
  SplitUrl(url, &host, &port);
  const std::string pw = R"({"password":"correct horse battery staple"})";
  auto sys = MakeHttpSystem(url, token);
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (unsigned t = 0; t < spec.clients; ++t) {
    const std::string sid = Id(run + "-pw", t);
    clients.push_back(std::make_unique<HttpClient>(host, port, token));
    sys->Connect()->Put(sid, "r0", true);
    HttpReply r = clients.back()->Send("PUT", "/v1/subjects/" + sid + "/password", pw);
    if (r.status == 404 || r.status == 405) {
      return {{"skipped", kSkipped}, {"probe_status", r.status}, {"clients", spec.clients}};
    }
    if (r.status != 204 && r.status != 200) {
      throw BenchError("password set: status " + std::to_string(r.status) + ": " +
                       r.body.substr(0, 200));
    }
  }
  const LoadResult res = RunLoad(*sys, spec, [&](Session&, unsigned t, std::uint64_t) {
    HttpReply r =
        clients[t]->Send("POST", "/v1/subjects/" + Id(run + "-pw", t) + "/password/verify", pw);
    if (r.status != 200 || r.body.find("true") == std::string::npos) {
      throw BenchError("password verify: status " + std::to_string(r.status) + ": " +
                       r.body.substr(0, 200));
    }
  });
  nlohmann::json j = res.ToJson();
  j["clients"] = spec.clients;
  return j;
}

}  // namespace bench
