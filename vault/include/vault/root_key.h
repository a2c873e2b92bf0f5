// Root key providers: where the key that seals the keyring comes from. Never stored by Vault.
#pragma once

#include <memory>
#include <string>

#include "crypto/secret.h"
#include "vault/status.h"

namespace vault {

// Thread-safe. A provider may be asked for the key more than once.
class RootKeyProvider {
 public:
  virtual ~RootKeyProvider() = default;
  virtual StatusOr<crypto::SecretBytes> Load() const = 0;
  virtual std::string Describe() const = 0;  // for messages: "key file /x/root.key"
};

// A file holding 64 hex characters. Refused if group or others can read or write it.
std::shared_ptr<RootKeyProvider> RootKeyFromFile(std::string path);
// An environment variable holding 64 hex characters.
std::shared_ptr<RootKeyProvider> RootKeyFromEnv(std::string variable);
// Creates a new random root key file with mode 0600; fails if it exists.
Status CreateRootKeyFile(const std::string& path);

}  // namespace vault
