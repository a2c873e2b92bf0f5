// SecretBytes: key material in mlocked, guarded memory that is wiped when released.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace vault::crypto {

// Calls sodium_init() once; every crypto entry point calls it. Returns false if libsodium is
// unusable.
bool EnsureSodium();

// Move-only holder of secret bytes in mlocked memory that is wiped on release. Secrets of up
// to 64 bytes (keys) take a slot in a pool of sodium_malloc'd slabs; larger ones get their
// own sodium_malloc allocation (guard pages, mlock, canary). Not thread-safe for concurrent
// mutation; concurrent reads of a const SecretBytes are fine.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::size_t size);  // zero-filled
  ~SecretBytes();
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  // The one place cleartext key bytes enter a SecretBytes.
  static SecretBytes ImportCleartext(std::span<const std::uint8_t> bytes);
  // Same, from hex text (the root key file format); nullopt unless exactly 2*size hex digits.
  static bool ImportCleartextHex(std::string_view hex, std::size_t size, SecretBytes* out);
  static SecretBytes Random(std::size_t size);
  SecretBytes Clone() const;  // explicit copy; there is no implicit one

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // The bytes. Grep for "secret_data" to find every use of cleartext key material.
  const std::uint8_t* secret_data() const { return data_; }
  std::uint8_t* mutable_secret_data() { return data_; }
  std::span<const std::uint8_t> secret_span() const { return {data_, size_}; }

  // Constant-time comparison; false when sizes differ.
  bool Equals(const SecretBytes& other) const;

 private:
  void Release();
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace vault::crypto
