// The root key as a non-extractable AES-256 key in a PKCS#11 token: the keyring is sealed and
// opened inside the token (AES-GCM), and rotation makes a new token key and destroys the old.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>

#include "crypto/pkcs11.h"
#include "crypto/primitives.h"
#include "vault/codec.h"
#include "vault/epoch_token.h"
#include "vault/root_sealer.h"

namespace vault {
namespace {

namespace p11 = crypto::pkcs11;

constexpr std::string_view kEnvelopeTag = "lethe-pkcs11-aes256gcm";
constexpr std::size_t kKeyIdBytes = 16;

Status TokenError(const p11::Result& r, const std::string& what) {
  const Code code = r.pin_refused() ? Code::kPermissionDenied : Code::kUnavailable;
  return Status(code, what + ": " + r.message());
}

// AES-GCM under one key object. Envelope: tag | key id (CKA_ID) | iv | ciphertext and tag.
class TokenSealer final : public RootSealer {
 public:
  TokenSealer(std::shared_ptr<p11::Session> session, p11::KeyObject key)
      : session_(std::move(session)), key_(std::move(key)) {}
  StatusOr<std::vector<std::uint8_t>> Seal(std::span<const std::uint8_t> plaintext,
                                           std::span<const std::uint8_t> aad) const override {
    std::array<std::uint8_t, p11::kGcmIvBytes> iv{};
    crypto::RandomFill(iv);
    std::vector<std::uint8_t> sealed;
    const p11::Result r = session_->EncryptGcm(key_.handle, iv, aad, plaintext, &sealed);
    if (!r.ok()) return TokenError(r, "cannot seal the keyring with root key " + key_.label);
    RowWriter w;
    w.Str(kEnvelopeTag).Bytes(key_.id).Bytes(iv).Bytes(sealed);
    return w.Take();
  }
  Status Open(std::span<const std::uint8_t> envelope, std::span<const std::uint8_t> aad,
              crypto::SecretBytes* plaintext) const override {
    RowReader r(envelope);
    std::string tag;
    std::span<const std::uint8_t> id, iv, sealed;
    if (!r.Str(&tag) || tag != kEnvelopeTag || !r.View(&id) || !r.View(&iv) || !r.View(&sealed)) {
      return Status(Code::kPermissionDenied, "not sealed by a root key in a PKCS#11 token");
    }
    if (!std::equal(id.begin(), id.end(), key_.id.begin(), key_.id.end())) {
      return Status(Code::kPermissionDenied, "sealed under another root key");
    }
    const p11::Result d = session_->DecryptGcm(key_.handle, iv, aad, sealed, plaintext);
    if (d.ok()) return Status::Ok();
    if (d.not_authentic()) return DataLoss("does not authenticate");
    if (d.key_gone()) {
      return Status(Code::kPermissionDenied, "root key " + key_.label + " is gone: " + d.message());
    }
    return TokenError(d, "cannot open the keyring with root key " + key_.label);
  }

 private:
  const std::shared_ptr<p11::Session> session_;
  const p11::KeyObject key_;
};

struct Pkcs11Spec {
  std::string module, token, key, pin_file, pin_env;
};

StatusOr<Pkcs11Spec> ParseSpec(const std::string& spec) {
  Pkcs11Spec s;
  const std::map<std::string, std::string*> fields = {{"module", &s.module},
                                                      {"token", &s.token},
                                                      {"key", &s.key},
                                                      {"pin-file", &s.pin_file},
                                                      {"pin-env", &s.pin_env}};
  std::size_t start = 0;
  while (start < spec.size()) {
    std::size_t end = spec.find(';', start);
    if (end == std::string::npos) end = spec.size();
    const std::string item = spec.substr(start, end - start);
    start = end + 1;
    if (item.empty()) continue;
    const std::size_t eq = item.find('=');
    const std::string name = item.substr(0, eq);
    if (name == "pin") {
      return InvalidArgument("the PKCS#11 PIN is never given inline: use pin-file= or pin-env=");
    }
    auto it = fields.find(name);
    if (eq == std::string::npos || it == fields.end()) {
      return InvalidArgument("unknown PKCS#11 root key setting '" + name +
                             "' (module, token, key, pin-file, pin-env)");
    }
    *it->second = item.substr(eq + 1);
  }
  if (s.module.empty() || s.token.empty() || s.key.empty() ||
      s.pin_file.empty() == s.pin_env.empty()) {
    return InvalidArgument(
        "a PKCS#11 root key needs module=, token=, key= and one of pin-file= or pin-env=");
  }
  return s;
}

// The PIN from a 0600 file (one line) or an environment variable, into locked memory.
StatusOr<crypto::SecretBytes> ReadPin(const Pkcs11Spec& s) {
  std::string_view text;
  crypto::SecretBytes buf(256);
  if (!s.pin_env.empty()) {
    const char* v = std::getenv(s.pin_env.c_str());
    if (v == nullptr) return InvalidArgument("environment variable " + s.pin_env + " is not set");
    text = v;
  } else {
    const int fd = ::open(s.pin_file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
      return InvalidArgument("cannot open PIN file " + s.pin_file + ": " + std::strerror(errno));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
      ::close(fd);
      return Status(Code::kPermissionDenied, "PIN file " + s.pin_file +
                                                 " is accessible by group or others; run: "
                                                 "chmod 600 " +
                                                 s.pin_file);
    }
    const ssize_t n = ::read(fd, buf.mutable_secret_data(), buf.size());
    ::close(fd);
    if (n < 0) return InvalidArgument("cannot read PIN file " + s.pin_file);
    text = std::string_view(reinterpret_cast<const char*>(buf.secret_data()),
                            static_cast<std::size_t>(n));
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (text.empty()) return InvalidArgument("the PKCS#11 PIN is empty");
  return crypto::SecretBytes::ImportCleartext(std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

StatusOr<std::shared_ptr<p11::Session>> OpenTokenSession(const Pkcs11Spec& spec) {
  VAULT_ASSIGN_OR_RETURN(auto pin, ReadPin(spec));
  p11::Result r;
  std::shared_ptr<p11::Session> s = p11::Session::Open(spec.module, spec.token, pin, &r);
  if (s == nullptr) {
    return TokenError(r, "cannot use token " + spec.token + " through " + spec.module);
  }
  return s;
}

class Pkcs11RootKey final : public SealingRootKeyProvider {
 public:
  Pkcs11RootKey(Pkcs11Spec spec, bool create) : spec_(std::move(spec)), create_(create) {}

  EpochToken Token() const {
    return EpochToken{[spec = spec_]() { return OpenTokenSession(spec); }, spec_.key + ".epoch.",
                      spec_.token};
  }

  StatusOr<crypto::SecretBytes> Load() const override {
    return Conflict(Describe() + " cannot leave the token; it seals the keyring inside it");
  }
  std::string Describe() const override {
    return "PKCS#11 key " + spec_.key + " in token " + spec_.token + " (" + spec_.module + ")";
  }

  StatusOr<std::shared_ptr<const RootSealer>> Sealer() const override {
    VAULT_ASSIGN_OR_RETURN(auto session, OpenSession());
    VAULT_ASSIGN_OR_RETURN(auto current, FindOne(*session, spec_.key));
    VAULT_ASSIGN_OR_RETURN(auto next, FindOne(*session, NextLabel()));
    if (!current && !next) {
      if (!create_) {
        return NotFound("token " + spec_.token + " holds no key labelled " + spec_.key +
                        " (lethe init makes one)");
      }
      VAULT_ASSIGN_OR_RETURN(current, Generate(*session, spec_.key));
    }
    auto as_sealer =
        [&](const std::optional<p11::KeyObject>& k) -> std::shared_ptr<const RootSealer> {
      if (!k) return nullptr;
      return std::make_shared<TokenSealer>(session, *k);
    };
    if (!next) return as_sealer(current);
    return RootSealerPair(as_sealer(current), as_sealer(next));
  }

  StatusOr<std::shared_ptr<const RootSealer>> Next() const override {
    VAULT_ASSIGN_OR_RETURN(auto session, OpenSession());
    VAULT_ASSIGN_OR_RETURN(auto next, FindOne(*session, NextLabel()));
    if (!next) {
      VAULT_ASSIGN_OR_RETURN(next, Generate(*session, NextLabel()));
    }
    return std::shared_ptr<const RootSealer>(std::make_shared<TokenSealer>(session, *next));
  }

  Status Retire(std::string* what_happened) const override {
    VAULT_ASSIGN_OR_RETURN(auto session, OpenSession());
    std::vector<p11::KeyObject> keys;
    if (auto r = session->FindKeys(spec_.key, &keys); !r.ok()) {
      return TokenError(r, "cannot find root key");
    }
    for (const p11::KeyObject& k : keys) {
      if (auto r = session->Destroy(k.handle); !r.ok()) {
        return TokenError(r, "cannot destroy the old root key");
      }
    }
    VAULT_ASSIGN_OR_RETURN(auto next, FindOne(*session, NextLabel()));
    if (!next) return NotFound("token " + spec_.token + " holds no key " + NextLabel());
    if (auto r = session->SetLabel(next->handle, spec_.key); !r.ok()) {
      return TokenError(r, "cannot relabel the new root key");
    }
    *what_happened = "C_DestroyObject destroyed the old root key object in token " + spec_.token +
                     "; the new one is labelled " + spec_.key;
    return Status::Ok();
  }

 private:
  std::string NextLabel() const { return spec_.key + ".next"; }

  StatusOr<std::shared_ptr<p11::Session>> OpenSession() const { return OpenTokenSession(spec_); }

  StatusOr<std::optional<p11::KeyObject>> FindOne(p11::Session& s, const std::string& label) const {
    std::vector<p11::KeyObject> keys;
    if (auto r = s.FindKeys(label, &keys); !r.ok()) return TokenError(r, "cannot find " + label);
    if (keys.size() > 1) {
      return Conflict("token " + spec_.token + " holds several keys labelled " + label);
    }
    if (keys.empty()) return std::optional<p11::KeyObject>();
    return std::optional<p11::KeyObject>(keys[0]);
  }

  StatusOr<std::optional<p11::KeyObject>> Generate(p11::Session& s,
                                                   const std::string& label) const {
    const auto id = crypto::RandomArray<kKeyIdBytes>();
    p11::KeyObject k{0, label, std::vector<std::uint8_t>(id.begin(), id.end())};
    if (auto r = s.GenerateAesKey(label, id, &k.handle); !r.ok()) {
      return TokenError(r, "cannot make root key " + label + " in token " + spec_.token);
    }
    return std::optional<p11::KeyObject>(k);
  }

  const Pkcs11Spec spec_;
  const bool create_;
};

}  // namespace

std::optional<EpochToken> EpochTokenOf(const RootKeyProvider& provider) {
  if (const auto* p = dynamic_cast<const Pkcs11RootKey*>(&provider)) return p->Token();
  return std::nullopt;
}

StatusOr<std::shared_ptr<RootKeyProvider>> RootKeyFromPkcs11(const std::string& spec,
                                                             bool create_if_missing) {
  VAULT_ASSIGN_OR_RETURN(Pkcs11Spec s, ParseSpec(spec));
  return std::shared_ptr<RootKeyProvider>(
      std::make_shared<Pkcs11RootKey>(std::move(s), create_if_missing));
}

}  // namespace vault
