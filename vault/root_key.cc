// Root key providers: a 0600 key file (dev default) or an environment variable, the sealer
// over a raw root key, and their rotation (root_sealer.h).
#include "vault/root_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string_view>

#include "crypto/aead.h"
#include "crypto/primitives.h"
#include "vault/keyring_format.h"
#include "vault/root_sealer.h"

namespace vault {
namespace {

StatusOr<crypto::SecretBytes> DecodeHexKey(std::string_view hex, const std::string& where) {
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r' || hex.back() == ' ')) {
    hex.remove_suffix(1);
  }
  crypto::SecretBytes key;
  if (!crypto::SecretBytes::ImportCleartextHex(hex, crypto::kKeyBytes, &key)) {
    return InvalidArgument(where + " must hold 64 hex characters (a 256-bit key)");
  }
  return key;
}

// The keyring file's format 1: XChaCha20-Poly1305 under the raw key, named by RootKeyId.
class RawSealer final : public RootSealer {
 public:
  explicit RawSealer(crypto::SecretBytes key)
      : key_(std::move(key)), id_(keyring_file::RootKeyId(key_)) {}
  StatusOr<std::vector<std::uint8_t>> Seal(std::span<const std::uint8_t> plaintext,
                                           std::span<const std::uint8_t> aad) const override {
    return crypto::Seal(crypto::EnvelopeKind::kKeyring, crypto::Aead::kXChaCha20Poly1305, key_, id_,
                        plaintext, aad);
  }
  Status Open(std::span<const std::uint8_t> envelope, std::span<const std::uint8_t> aad,
              crypto::SecretBytes* plaintext) const override {
    auto h = crypto::PeekEnvelope(envelope);
    if (!h) return DataLoss("not a keyring envelope sealed under a raw root key");
    if (h->key_id != id_) return Status(Code::kPermissionDenied, "sealed under another root key");
    if (!crypto::OpenSecret(crypto::EnvelopeKind::kKeyring, key_, envelope, aad, plaintext)) {
      return DataLoss("does not authenticate under the root key");
    }
    return Status::Ok();
  }

 private:
  const crypto::SecretBytes key_;
  const crypto::KeyId id_;
};

class SealerPair final : public RootSealer {
 public:
  SealerPair(std::shared_ptr<const RootSealer> current, std::shared_ptr<const RootSealer> next)
      : current_(std::move(current)), next_(std::move(next)) {}
  StatusOr<std::vector<std::uint8_t>> Seal(std::span<const std::uint8_t> plaintext,
                                           std::span<const std::uint8_t> aad) const override {
    return (current_ ? current_ : next_)->Seal(plaintext, aad);
  }
  Status Open(std::span<const std::uint8_t> envelope, std::span<const std::uint8_t> aad,
              crypto::SecretBytes* plaintext) const override {
    Status s = current_ ? current_->Open(envelope, aad, plaintext)
                        : Status(Code::kPermissionDenied, "no current root key");
    if (s.code() != Code::kPermissionDenied || !next_) return s;
    return next_->Open(envelope, aad, plaintext);
  }

 private:
  const std::shared_ptr<const RootSealer> current_, next_;
};

bool FileExists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// Replaces path by next (atomically), then overwrites the replaced file's bytes through a
// descriptor kept open across the rename.
Status ReplaceAndOverwrite(const std::string& path, const std::string& next) {
  const int old_fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (::rename(next.c_str(), path.c_str()) != 0) {
    if (old_fd >= 0) ::close(old_fd);
    return Internal("cannot rename " + next + " to " + path + ": " + std::strerror(errno));
  }
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = std::filesystem::path(".");
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  if (old_fd < 0) return Status::Ok();  // an interrupted rotation already replaced it
  struct stat st {};
  bool ok = ::fstat(old_fd, &st) == 0;
  const std::vector<std::uint8_t> zeros(ok ? static_cast<std::size_t>(st.st_size) : 0, 0);
  ok = ok &&
       ::pwrite(old_fd, zeros.data(), zeros.size(), 0) == static_cast<ssize_t>(zeros.size()) &&
       ::fsync(old_fd) == 0;
  ::close(old_fd);
  if (!ok) return Internal("cannot overwrite the old root key file's bytes");
  return Status::Ok();
}

class FileRootKey final : public SealingRootKeyProvider {
 public:
  explicit FileRootKey(std::string path) : path_(std::move(path)), next_(path_ + ".next") {}
  StatusOr<crypto::SecretBytes> Load() const override { return LoadFile(path_); }
  StatusOr<std::shared_ptr<const RootSealer>> Sealer() const override {
    StatusOr<crypto::SecretBytes> current = LoadFile(path_);
    if (!FileExists(next_)) {
      if (!current.ok()) return current.status();
      return RawRootSealer(std::move(current).value());
    }
    VAULT_ASSIGN_OR_RETURN(auto next, LoadFile(next_));
    // Between Retire's rename and its end the old file may be gone: the next key alone.
    return RootSealerPair(current.ok() ? RawRootSealer(std::move(current).value()) : nullptr,
                          RawRootSealer(std::move(next)));
  }
  StatusOr<std::shared_ptr<const RootSealer>> Next() const override {
    if (!FileExists(next_)) VAULT_RETURN_IF_ERROR(CreateRootKeyFile(next_));
    VAULT_ASSIGN_OR_RETURN(auto next, LoadFile(next_));
    return RawRootSealer(std::move(next));
  }
  Status Retire(std::string* what_happened) const override {
    VAULT_RETURN_IF_ERROR(ReplaceAndOverwrite(path_, next_));
    *what_happened = "the old root key's file was overwritten with zeros; " + path_ +
                     " now holds the new root key";
    return Status::Ok();
  }
  std::string Describe() const override { return "key file " + path_; }

 private:
  static StatusOr<crypto::SecretBytes> LoadFile(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
      return InvalidArgument("cannot open root key file " + path + ": " + std::strerror(errno));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return InvalidArgument("root key file " + path + " is not a regular file");
    }
    if ((st.st_mode & 077) != 0) {
      ::close(fd);
      return Status(
          Code::kPermissionDenied,
          "root key file " + path + " is accessible by group or others; run: chmod 600 " + path);
    }
    crypto::SecretBytes buf(128);
    const ssize_t n = ::read(fd, buf.mutable_secret_data(), buf.size());
    ::close(fd);
    if (n < 0) return InvalidArgument("cannot read root key file " + path);
    return DecodeHexKey(
        std::string_view(reinterpret_cast<const char*>(buf.secret_data()), static_cast<size_t>(n)),
        "root key file " + path);
  }

  const std::string path_, next_;
};

class EnvRootKey final : public SealingRootKeyProvider {
 public:
  explicit EnvRootKey(std::string var) : var_(std::move(var)), next_(var_ + "_NEXT") {}
  StatusOr<crypto::SecretBytes> Load() const override { return LoadVar(var_); }
  StatusOr<std::shared_ptr<const RootSealer>> Sealer() const override {
    VAULT_ASSIGN_OR_RETURN(auto current, LoadVar(var_));
    if (std::getenv(next_.c_str()) == nullptr) return RawRootSealer(std::move(current));
    VAULT_ASSIGN_OR_RETURN(auto next, LoadVar(next_));
    return RootSealerPair(RawRootSealer(std::move(current)), RawRootSealer(std::move(next)));
  }
  StatusOr<std::shared_ptr<const RootSealer>> Next() const override {
    if (std::getenv(next_.c_str()) == nullptr) {
      return Conflict("set " + next_ +
                      " to the new root key (64 hex characters, e.g. from "
                      "`openssl rand -hex 32`)");
    }
    VAULT_ASSIGN_OR_RETURN(auto next, LoadVar(next_));
    return RawRootSealer(std::move(next));
  }
  Status Retire(std::string* what_happened) const override {
    *what_happened = "the keyring now opens only under $" + next_ + "'s key: set " + var_ +
                     " to it and unset " + next_ + " (the old value no longer opens it)";
    return Status::Ok();
  }
  std::string Describe() const override { return "environment variable " + var_; }

 private:
  static StatusOr<crypto::SecretBytes> LoadVar(const std::string& var) {
    const char* v = std::getenv(var.c_str());
    if (v == nullptr) return InvalidArgument("environment variable " + var + " is not set");
    return DecodeHexKey(v, "environment variable " + var);
  }

  const std::string var_, next_;
};

}  // namespace

StatusOr<std::shared_ptr<const RootSealer>> SealerOf(const RootKeyProvider& provider) {
  if (const auto* p = dynamic_cast<const SealingRootKeyProvider*>(&provider)) return p->Sealer();
  VAULT_ASSIGN_OR_RETURN(auto key, provider.Load());
  if (key.size() != crypto::kKeyBytes) return InvalidArgument("root key must be 256 bits");
  return RawRootSealer(std::move(key));
}

std::shared_ptr<const RootSealer> RawRootSealer(crypto::SecretBytes key) {
  return std::make_shared<RawSealer>(std::move(key));
}

std::shared_ptr<const RootSealer> RootSealerPair(std::shared_ptr<const RootSealer> current,
                                                 std::shared_ptr<const RootSealer> next) {
  return std::make_shared<SealerPair>(std::move(current), std::move(next));
}

std::shared_ptr<RootKeyProvider> RootKeyFromFile(std::string path) {
  return std::make_shared<FileRootKey>(std::move(path));
}

std::shared_ptr<RootKeyProvider> RootKeyFromEnv(std::string variable) {
  return std::make_shared<EnvRootKey>(std::move(variable));
}

Status CreateRootKeyFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return Status(errno == EEXIST ? Code::kConflict : Code::kInvalidArgument,
                  "cannot create root key file " + path + ": " + std::strerror(errno));
  }
  crypto::SecretBytes key = crypto::SecretBytes::Random(crypto::kKeyBytes);
  std::string hex = crypto::ToHex(key.secret_span()) + "\n";
  const bool ok =
      ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size()) && ::fsync(fd) == 0;
  crypto::WipeString(&hex);
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return Internal("cannot write root key file " + path);
  }
  return Status::Ok();
}

}  // namespace vault
