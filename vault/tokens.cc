// API tokens (tokens.h).
#include "vault/tokens.h"

#include "crypto/primitives.h"
#include "vault/rows.h"

namespace vault {
namespace {

// vt_<16 hex: token id>_<43 base64url: 32 random bytes>
constexpr std::string_view kSecretPrefix = "vt_";
constexpr std::size_t kIdChars = 16, kSecretChars = 43;
constexpr std::size_t kBearerChars = kSecretPrefix.size() + kIdChars + 1 + kSecretChars;

bool IsTokenId(const std::string& id) { return id.size() == kIdChars && crypto::FromHex(id); }

}  // namespace

StatusOr<NewToken> Tokens::Create(const Actor& actor, Role role,
                                  const std::vector<std::string>& purposes,
                                  const std::string& name) {
  VAULT_RETURN_IF_ERROR(CheckTokenSpec(role, purposes, name));
  NewToken t;
  t.info.token_id = crypto::ToHex(crypto::RandomArray<kIdChars / 2>());
  t.info.role = role;
  t.info.purposes = purposes;
  t.info.name = name;
  t.info.created_at = clock_.Now();
  t.secret = std::string(kSecretPrefix) + t.info.token_id + "_" +
             crypto::ToBase64Url(crypto::RandomArray<32>());
  const TokenRow row{role, purposes, sealer_.Seal("token", t.info.token_id, name),
                     t.info.created_at, crypto::Sha256(t.secret)};
  VAULT_RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    VAULT_RETURN_IF_ERROR(txn.Put(Table::kTokens, t.info.token_id, EncodeToken(row)));
    return audit_.Append(txn, actor, std::string("token.create.") + RoleName(role), nullptr, "",
                         "ok");
  }));
  return t;
}

StatusOr<TokenInfo> Tokens::Authenticate(const std::string& bearer) const {
  Status denied(Code::kUnauthenticated, "the bearer token is not valid");
  const std::size_t sep = kSecretPrefix.size() + kIdChars;
  if (bearer.size() != kBearerChars || bearer.compare(0, kSecretPrefix.size(), kSecretPrefix) != 0 ||
      bearer[sep] != '_') {
    return denied;
  }
  const std::string id = bearer.substr(kSecretPrefix.size(), kIdChars);
  if (!IsTokenId(id)) return denied;
  TokenInfo info;
  VAULT_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    auto v = txn.Get(Table::kTokens, id);
    if (!v) return denied;
    TokenRow row;
    if (!DecodeToken(*v, &row)) return DataLoss("a token row is corrupt");
    if (!crypto::ConstantTimeEquals(crypto::Sha256(bearer), row.secret_hash)) return denied;
    info.token_id = id;
    info.role = row.role;
    info.purposes = row.purposes;
    info.created_at = row.created_at;  // the name is not decrypted on this hot path
    return Status::Ok();
  }));
  return info;
}

// A refused revocation is audited too (outcome: its code).
Status Tokens::Revoke(const Actor& actor, const std::string& token_id) {
  Status s = NotFound("no such token");
  if (IsTokenId(token_id)) {
    s = store_.Write([&](Txn& txn) -> Status {
      if (!txn.Get(Table::kTokens, token_id)) return NotFound("no such token");
      VAULT_RETURN_IF_ERROR(txn.Del(Table::kTokens, token_id));
      return audit_.Append(txn, actor, "token.revoke", nullptr, "", "ok");
    });
  }
  if (!s.ok()) audit_.AppendAsync(actor, "token.revoke", std::nullopt, "", s.code());
  return s;
}

}  // namespace vault
