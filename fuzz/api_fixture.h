// In-process API for the request fuzzers: a real Vault on a scratch directory (created
// once per process), an ApiServer whose Dispatch routes requests exactly as the listener
// does, a bearer token per role, and oracles every response must satisfy.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "api/server.h"
#include "vault/vault.h"

namespace vault::fuzz {

struct ApiFixture {
  std::unique_ptr<Vault> vault;
  std::unique_ptr<api::ApiServer> server;
  std::map<std::string, std::string> tokens;  // "admin", "dpo", "app", "auditor" -> bearer

  // The process-wide fixture, built on first use (from LLVMFuzzerInitialize).
  static ApiFixture& Get();

  // Replaces "@admin", "@dpo", "@app", "@auditor" in an Authorization value with the
  // matching real token, so checked-in seeds authenticate in every process.
  std::string ExpandTokens(std::string value) const;

  // Dispatches and checks the response: a status in 100..599, never a 500 (an exception or
  // internal error escaped a handler), and a JSON body whenever the content type says so.
  void DispatchAndCheck(const api::HttpRequest& req, api::HttpResponse& res);
};

}  // namespace vault::fuzz
