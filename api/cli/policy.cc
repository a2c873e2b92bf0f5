// `lethe policy check` and `lethe policy render`: a policy file, or the built-in default.
#include "vault/policy.h"

#include <iostream>

#include "api/cli/common.h"

namespace vault::cli {
namespace {

StatusOr<Policy> LoadPolicyArg(const Flags& flags) {
  if (flags.positionals().empty()) return Policy::Default();
  return Policy::LoadFile(flags.positionals()[0]);
}

// Names every broken section of the policy at once (the first problem of each), one per line.
int RunPolicyCheck(const Command&, const Flags& flags) {
  const std::string name =
      flags.positionals().empty() ? "the built-in default policy" : flags.positionals()[0];
  StatusOr<Policy> policy = LoadPolicyArg(flags);
  if (!policy.ok()) {
    // The engine's message already names the file (and line).
    return Fail(kExitInvalid, policy.status().message(),
                "fix the policy file and run `lethe policy check` again");
  }
  auto setting = [&](const char* key, const Duration& d) {
    return d.ToString() + (policy->Stated(key) ? "" : " by default");
  };
  std::cout << name << ": valid (" << policy->categories.size() << " categories, erasure grace "
            << setting("erasure.grace", policy->erasure_grace) << ", key epoch "
            << setting("keys.epoch", policy->epoch) << ", shred horizon "
            << setting("keys.horizon", policy->horizon) << ")\n";
  return kExitOk;
}

int RunPolicyRender(const Command&, const Flags& flags) {
  StatusOr<Policy> policy = LoadPolicyArg(flags);
  if (!policy.ok()) {
    return Fail(kExitInvalid, policy.status().message(),
                "fix the policy file and run `lethe policy check` on it");
  }
  std::cout << policy->RenderMarkdown(flags.Has("with-defaults"));
  return kExitOk;
}

}  // namespace

std::vector<Command> PolicyCommands() {
  return {
      {"policy check",
       "[P]",
       "validate a policy file, naming the line of each problem",
       {kHelpFlag, kVersionFlag},
       1,
       RunPolicyCheck},
      {"policy render",
       "[P]",
       "print what the policy promises and the vault enforces, in Markdown",
       {{"with-defaults", "", "also show the settings the file leaves to the vault's defaults"},
        kHelpFlag,
        kVersionFlag},
       1,
       RunPolicyRender},
  };
}

}  // namespace vault::cli
