// Meta sealing (meta_sealer.h).
#include "vault/meta_sealer.h"

#include "crypto/aead.h"
#include "crypto/primitives.h"
#include "vault/codec.h"

namespace vault {
namespace {

std::vector<std::uint8_t> Context(std::string_view what, std::string_view context) {
  RowWriter ctx;
  ctx.Str(what).Str(context);
  return ctx.Take();
}

}  // namespace

std::vector<std::uint8_t> MetaSealer::Seal(std::string_view what, std::string_view context,
                                           std::string_view plaintext) const {
  const crypto::KeyId id{};
  return crypto::Seal(crypto::EnvelopeKind::kSealed, crypto::Aead::kXChaCha20Poly1305, key_, id,
                      crypto::AsBytes(plaintext), Context(what, context));
}

std::string MetaSealer::Open(std::string_view what, std::string_view context,
                             std::span<const std::uint8_t> sealed) const {
  std::vector<std::uint8_t> out;
  if (!crypto::Open(crypto::EnvelopeKind::kSealed, key_, sealed, Context(what, context), &out)) {
    return "";
  }
  return Bytes(out);
}

}  // namespace vault
