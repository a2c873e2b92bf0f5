// The vault engine in-process (engine_system.h), through its public interface only.
#include "bench/suite/engine_system.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "vault/vault.h"

namespace bench {
namespace {

const vault::Actor kActor{"bench", vault::Role::kAdmin};

const nlohmann::json& RecordData() {
  static const nlohmann::json data = nlohmann::json::parse(RecordJson());
  return data;
}

void Check(const vault::Status& s, const std::string& what) {
  if (!s.ok()) throw BenchError("engine " + what + ": " + s.ToString());
}

// Opens the store in dir, creating it (and its root key file) on first use.
std::shared_ptr<vault::Vault> OpenOrCreate(const std::string& dir) {
  std::filesystem::create_directories(dir);
  const std::string key = dir + "/root.key";
  if (!std::filesystem::exists(key)) Check(vault::CreateRootKeyFile(key), "CreateRootKeyFile");
  vault::Options o;
  o.data_dir = dir + "/data";
  o.root_key = vault::RootKeyFromFile(key);
  o.create_if_missing = true;
  auto v = vault::Vault::Open(o);
  Check(v.status(), "Vault::Open");
  return std::shared_ptr<vault::Vault>(std::move(v).value());
}

// Sessions share the one Vault: the engine is the server; a session is a caller thread.
class EngineSession : public Session {
 public:
  explicit EngineSession(std::shared_ptr<vault::Vault> v) : v_(std::move(v)) {}
  void Put(const std::string& sid, const std::string& rid, bool) override {
    Check(v_->PutRecord(kActor, sid, "account", rid, RecordData()).status(), "PutRecord");
  }
  void Get(const std::string& sid, const std::string& rid) override {
    auto r = v_->GetRecord(kActor, sid, "account", rid);
    Check(r.status(), "GetRecord");
    if (r->data_json.size() < 1000) throw BenchError("engine GetRecord: short record");
  }
  std::size_t List(const std::string& sid, std::size_t limit) override {
    vault::PageRequest page;
    page.limit = limit;
    auto r = v_->ListRecords(kActor, sid, "account", page);
    Check(r.status(), "ListRecords");
    return r->records.size();
  }
  void Erase(const std::string& sid) override {
    auto r = v_->RequestErasure(kActor, sid, "immediate", "bench");
    Check(r.status(), "RequestErasure");
    if (r->state != "completed") throw BenchError("engine erasure state " + r->state);
  }

 private:
  std::shared_ptr<vault::Vault> v_;
};

class EngineSystem : public System {
 public:
  explicit EngineSystem(const std::string& dir) : v_(OpenOrCreate(dir)) {}
  std::unique_ptr<Session> Connect() override { return std::make_unique<EngineSession>(v_); }
  vault::Vault& vault() { return *v_; }

 private:
  std::shared_ptr<vault::Vault> v_;
};

}  // namespace

std::unique_ptr<System> MakeEngineSystem(const std::string& dir) {
  return std::make_unique<EngineSystem>(dir);
}

nlohmann::json RotationBench(const std::string& dir, std::uint64_t keys, unsigned reps) {
  EngineSystem sys(dir);
  const nlohmann::json small = {{"n", 1}};
  const auto s0 = std::chrono::steady_clock::now();
  ParallelSeed(sys, keys / 2, 64, [&](Session&, std::uint64_t i) {
    Check(sys.vault().PutRecord(kActor, Id("rot-", i), "account", "r", small).status(),
          "PutRecord");
  });
  const double setup_s = SecondsSince(s0);
  auto st = sys.vault().Stats();
  Check(st.status(), "Stats");
  nlohmann::json runs = nlohmann::json::array();
  for (unsigned i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = sys.vault().RotateEpoch(kActor);
    const double s = SecondsSince(t0);
    Check(r.status(), "RotateEpoch");
    runs.push_back({{"seconds", s},
                    {"rewrapped", r->rewrapped},
                    {"keys_per_s", static_cast<double>(r->rewrapped) / s}});
  }
  return {{"live_keys", st->keys_live}, {"setup_s", setup_s}, {"runs", runs}};
}

}  // namespace bench
