// The in-process API fixture shared by the request fuzzers.
#include "fuzz/api_fixture.h"

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "fuzz/fuzz_util.h"
#include "vault/clock.h"
#include "vault/root_key.h"

namespace vault::fuzz {
namespace {

std::unique_ptr<ApiFixture> Build() {
  auto f = std::make_unique<ApiFixture>();
  const std::string dir = ScratchDir("api");
  if (!CreateRootKeyFile(dir + "/root.key").ok()) Fail("cannot create the root key file");
  Options o;
  o.data_dir = dir + "/data";
  o.root_key = RootKeyFromFile(dir + "/root.key");
  // A fixed clock keeps runs repeatable: retention and grace periods never come due.
  o.clock = std::make_shared<ManualClock>(1795381680);  // 2026-11-22T21:08Z
  o.create_if_missing = true;
  o.map_size_bytes = 1ull << 30;
  auto v = Vault::Open(o);
  if (!v.ok()) {
    std::fprintf(stderr, "fuzz fixture: %s\n", v.status().ToString().c_str());
    std::abort();
  }
  f->vault = std::move(v).value();
  api::ServerOptions so;
  so.access_log = false;
  so.threads = 1;
  auto s = api::ApiServer::Create(f->vault.get(), so);
  if (!s.ok()) Fail("cannot create the ApiServer");
  f->server = std::move(s).value();
  const Actor setup{"fuzz-setup", Role::kAdmin};
  const struct {
    const char* name;
    Role role;
    std::vector<std::string> purposes;
  } roles[] = {{"admin", Role::kAdmin, {}},
               {"dpo", Role::kDpo, {}},
               {"app", Role::kApp, {"service", "billing", "support"}},
               {"auditor", Role::kAuditor, {}}};
  for (const auto& r : roles) {
    auto t = f->vault->CreateToken(setup, r.role, r.purposes, std::string("fuzz-") + r.name);
    if (!t.ok()) Fail("cannot create a token");
    f->tokens[r.name] = t->secret;
  }
  return f;
}

}  // namespace

ApiFixture& ApiFixture::Get() {
  // Deliberately never destroyed: fuzzers leave through exit() from any thread, and the
  // scratch directory is removed by ScratchDir's exit hook.
  static ApiFixture* fixture = Build().release();
  return *fixture;
}

std::string ApiFixture::ExpandTokens(std::string value) const {
  for (const auto& [name, secret] : tokens) {
    const std::string marker = "@" + name;
    for (std::size_t at = value.find(marker); at != std::string::npos;
         at = value.find(marker, at + secret.size())) {
      value.replace(at, marker.size(), secret);
    }
  }
  return value;
}

void ApiFixture::DispatchAndCheck(const api::HttpRequest& req, api::HttpResponse& res) {
  server->Dispatch(req, res);
  if (res.status < 100 || res.status > 599) Fail("response status outside 100..599");
  if (res.status == 500) {
    std::fprintf(stderr, "500 from %s: %s\n", req.method.c_str(), res.body.c_str());
    Fail("a request produced 500 (an exception or internal error escaped a handler)");
  }
  const std::string type = res.get_header_value("Content-Type");
  if (type.find("json") != std::string::npos) {
    if (!nlohmann::json::accept(res.body)) Fail("a JSON response body does not parse");
  }
}

}  // namespace vault::fuzz
