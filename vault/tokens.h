// API tokens: bearer secrets stored only as hashes, with a role and, for app tokens, the
// purposes they may process data for. Owns the tokens table.
#pragma once

#include <string>
#include <vector>

#include "vault/audit_log.h"
#include "vault/clock.h"
#include "vault/meta_sealer.h"
#include "vault/store.h"
#include "vault/vault.h"

namespace vault {

class Tokens {
 public:
  Tokens(Store& store, const MetaSealer& sealer, AuditLog& audit, const Clock& clock)
      : store_(store), sealer_(sealer), audit_(audit), clock_(clock) {}

  // The token's spec must pass CheckTokenSpec (rules.h).
  StatusOr<NewToken> Create(const Actor& actor, Role role, const std::vector<std::string>& purposes,
                            const std::string& name);
  // kUnauthenticated for any bad or revoked token; TokenInfo::name is left empty.
  StatusOr<TokenInfo> Authenticate(const std::string& bearer) const;
  Status Revoke(const Actor& actor, const std::string& token_id);

 private:
  Store& store_;
  const MetaSealer& sealer_;
  AuditLog& audit_;
  const Clock& clock_;
};

}  // namespace vault
