// Fuzz target: the policy YAML loader (Policy::Parse) and what is computed from a policy.
//
// Input: YAML text. A policy that parses must render, and every category it declares must
// be found by name and carry a retention the engine can compute with.
#include <cstdint>
#include <string>

#include "fuzz/fuzz_util.h"
#include "vault/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string yaml(reinterpret_cast<const char*>(data), size);
  auto parsed = vault::Policy::Parse(yaml);
  if (!parsed.ok()) {
    // Errors name a line, never crash; the message must not be empty.
    VAULT_FUZZ_CHECK(!parsed.status().message().empty());
    return 0;
  }
  const vault::Policy& p = *parsed;
  VAULT_FUZZ_CHECK(!p.source_sha256.empty());
  (void)p.RenderMarkdown();
  for (const auto& [name, category] : p.categories) {
    VAULT_FUZZ_CHECK(p.Find(name) == &category);
    (void)p.PurposeAllows(category, category.purposes);
    (void)category.retention.ToString();
    if (category.retention.kind != vault::Retention::Kind::kUntilErasure) {
      (void)category.retention.period.AddTo(1795381680);
    }
  }
  (void)p.erasure_grace.AddTo(1795381680);
  (void)p.horizon.AddTo(1795381680);
  return 0;
}
