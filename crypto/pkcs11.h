// PKCS#11 access to AES keys that never leave a token: a module loaded by path, a session
// logged in to a token found by label, AES keys found, made and destroyed by label, AES-GCM
// encryption and decryption inside the token.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "crypto/secret.h"

namespace vault::crypto::pkcs11 {

using Handle = unsigned long;  // CK_OBJECT_HANDLE

// The outcome of one PKCS#11 call: the return value and the function that gave it.
struct Result {
  unsigned long rv = 0;  // CK_RV; 0 is CKR_OK
  std::string call;      // "C_Decrypt"
  bool ok() const { return rv == 0; }
  bool key_gone() const;  // CKR_KEY_HANDLE_INVALID, CKR_OBJECT_HANDLE_INVALID
  // The GCM tag did not verify: CKR_ENCRYPTED_DATA_INVALID (CKR_GENERAL_ERROR in SoftHSM2).
  bool not_authentic() const;
  bool pin_refused() const;  // CKR_PIN_INCORRECT, CKR_PIN_LOCKED
  // "C_Decrypt failed: CKR_KEY_HANDLE_INVALID"; never a key or a PIN.
  std::string message() const;
};

// "CKR_KEY_HANDLE_INVALID" (or "CKR_0x..." for one this file does not name).
std::string RvName(unsigned long rv);

struct KeyObject {
  Handle handle = 0;
  std::string label;
  std::vector<std::uint8_t> id;  // CKA_ID
};

inline constexpr std::size_t kGcmIvBytes = 12;
inline constexpr std::size_t kGcmTagBytes = 16;

// One logged-in read/write session on one token. Thread-safe: calls are serialised (a
// PKCS#11 session runs one operation at a time).
class Session {
 public:
  struct Module;  // a loaded, initialised module (pkcs11.cc)
  // Loads the module (dlopen), initialises it (once per process and module), finds the slot
  // whose token has this label and logs in as the user with pin.
  static std::unique_ptr<Session> Open(const std::string& module_path,
                                       const std::string& token_label, const SecretBytes& pin,
                                       Result* result);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // The secret keys (CKO_SECRET_KEY) whose CKA_LABEL is label.
  Result FindKeys(const std::string& label, std::vector<KeyObject>* out);
  // The secret keys whose CKA_LABEL starts with prefix (the token's whole list, filtered).
  Result ListKeys(const std::string& prefix, std::vector<KeyObject>* out);
  // A new token AES-256 key: CKA_TOKEN, CKA_SENSITIVE, not CKA_EXTRACTABLE, for encrypt and
  // decrypt only.
  Result GenerateAesKey(const std::string& label, std::span<const std::uint8_t> id, Handle* out);
  Result SetLabel(Handle key, const std::string& label);
  Result Destroy(Handle key);
  // AES-GCM with a 128-bit tag: out = ciphertext | tag.
  Result EncryptGcm(Handle key, std::span<const std::uint8_t> iv, std::span<const std::uint8_t> aad,
                    std::span<const std::uint8_t> plaintext, std::vector<std::uint8_t>* out);
  // Decrypts into locked memory; fails (CKR_ENCRYPTED_DATA_INVALID or similar) when the tag
  // does not authenticate.
  Result DecryptGcm(Handle key, std::span<const std::uint8_t> iv, std::span<const std::uint8_t> aad,
                    std::span<const std::uint8_t> sealed, SecretBytes* out);
  // CKA_EXTRACTABLE and CKA_SENSITIVE of a key (tests check what was made).
  Result KeyFlags(Handle key, bool* extractable, bool* sensitive);

 private:
  Session(std::shared_ptr<Module> module, unsigned long session);
  Result FindLocked(const std::string& label, std::vector<KeyObject>* out);

  std::shared_ptr<Module> module_;
  unsigned long session_;
  std::mutex mu_;
};

}  // namespace vault::crypto::pkcs11
