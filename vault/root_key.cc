// Root key providers: a 0600 key file (dev default) or an environment variable.
#include "vault/root_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "crypto/aead.h"
#include "crypto/primitives.h"

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

class FileRootKey final : public RootKeyProvider {
 public:
  explicit FileRootKey(std::string path) : path_(std::move(path)) {}
  StatusOr<crypto::SecretBytes> Load() const override {
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
      return InvalidArgument("cannot open root key file " + path_ + ": " + std::strerror(errno));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return InvalidArgument("root key file " + path_ + " is not a regular file");
    }
    if ((st.st_mode & 077) != 0) {
      ::close(fd);
      return Status(
          Code::kPermissionDenied,
          "root key file " + path_ + " is accessible by group or others; run: chmod 600 " + path_);
    }
    crypto::SecretBytes buf(128);
    const ssize_t n = ::read(fd, buf.mutable_secret_data(), buf.size());
    ::close(fd);
    if (n < 0) return InvalidArgument("cannot read root key file " + path_);
    return DecodeHexKey(
        std::string_view(reinterpret_cast<const char*>(buf.secret_data()), static_cast<size_t>(n)),
        "root key file " + path_);
  }
  std::string Describe() const override { return "key file " + path_; }

 private:
  std::string path_;
};

class EnvRootKey final : public RootKeyProvider {
 public:
  explicit EnvRootKey(std::string var) : var_(std::move(var)) {}
  StatusOr<crypto::SecretBytes> Load() const override {
    const char* v = std::getenv(var_.c_str());
    if (v == nullptr) return InvalidArgument("environment variable " + var_ + " is not set");
    return DecodeHexKey(v, "environment variable " + var_);
  }
  std::string Describe() const override { return "environment variable " + var_; }

 private:
  std::string var_;
};

}  // namespace

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
