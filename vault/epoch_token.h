// The token a PKCS#11 root key lives in, as the keyring sees it when the epoch KEKs are token
// objects too (keyring_token.h): how to open logged-in sessions and how this vault's epoch
// KEK objects are labelled.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "crypto/pkcs11.h"
#include "vault/root_key.h"
#include "vault/status.h"

namespace vault {

struct EpochToken {
  // A new logged-in read/write session on the token.
  std::function<StatusOr<std::shared_ptr<crypto::pkcs11::Session>>()> open;
  // Labels of this vault's epoch KEK objects start with it: "KEY.epoch." (KEY: the root key's
  // configured label, which root rotation keeps).
  std::string prefix;
  std::string token;  // the token's label, for messages
};

// The token of a PKCS#11 root key provider (RootKeyFromPkcs11); nullopt for any other.
std::optional<EpochToken> EpochTokenOf(const RootKeyProvider& provider);

}  // namespace vault
