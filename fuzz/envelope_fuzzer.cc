// Fuzz target: the AEAD envelope decoder (PeekEnvelope, Open, OpenSecret) under a fixed key.
//
// Input: one selector byte, then the envelope. Selector bits 0-1 pick the kind expected,
// bit 2 the context (fixed string or empty). Seeds are envelopes sealed under FixedKey(1)
// with that context (fuzz/make_seeds.cc), so the opening paths are reached too.
#include <cstdint>
#include <vector>

#include "crypto/aead.h"
#include "crypto/primitives.h"
#include "fuzz/fuzz_util.h"

namespace {

using vault::crypto::EnvelopeKind;

constexpr EnvelopeKind kKinds[] = {EnvelopeKind::kRecord, EnvelopeKind::kWrappedKey,
                                   EnvelopeKind::kKeyring, EnvelopeKind::kSealed};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace crypto = vault::crypto;
  static const crypto::SecretBytes key = vault::fuzz::FixedKey(1);
  static const crypto::SecretBytes other_key = vault::fuzz::FixedKey(2);
  static const std::string_view kContext = "fuzz-envelope-context";

  vault::fuzz::ByteCursor in(data, size);
  const std::uint8_t selector = in.U8();
  const EnvelopeKind kind = kKinds[selector & 3];
  const std::span<const std::uint8_t> context =
      (selector & 4) != 0 ? std::span<const std::uint8_t>() : crypto::AsBytes(kContext);
  const std::span<const std::uint8_t> env = in.Rest();

  const auto header = crypto::PeekEnvelope(env);
  if (header) {
    VAULT_FUZZ_CHECK(env.size() >= crypto::EnvelopeOverhead(header->alg));
    VAULT_FUZZ_CHECK(header->version == crypto::kEnvelopeVersion);
  }

  std::vector<std::uint8_t> plain;
  const bool opened = crypto::Open(kind, key, env, context, &plain);
  crypto::SecretBytes secret;
  const bool opened_secret = crypto::OpenSecret(kind, key, env, context, &secret);
  VAULT_FUZZ_CHECK(opened == opened_secret);
  if (!opened) {
    VAULT_FUZZ_CHECK(plain.empty());
    VAULT_FUZZ_CHECK(secret.empty());
    return 0;
  }
  // Whatever opens had a well-formed header of the expected kind and the exact size.
  VAULT_FUZZ_CHECK(header.has_value() && header->kind == kind);
  VAULT_FUZZ_CHECK(plain.size() + crypto::EnvelopeOverhead(header->alg) == env.size());
  VAULT_FUZZ_CHECK(secret.size() == plain.size());
  VAULT_FUZZ_CHECK(crypto::ConstantTimeEquals(secret.secret_span(), plain));
  // ...and opens under nothing else: another key, another kind, another context.
  std::vector<std::uint8_t> scratch;
  VAULT_FUZZ_CHECK(!crypto::Open(kind, other_key, env, context, &scratch));
  VAULT_FUZZ_CHECK(!crypto::Open(kKinds[(selector + 1) & 3], key, env, context, &scratch));
  const std::string_view other_context = "fuzz-envelope-context2";
  VAULT_FUZZ_CHECK(!crypto::Open(kind, key, env, crypto::AsBytes(other_context), &scratch));
  // Resealing the plaintext round-trips.
  const auto resealed = crypto::Seal(kind, header->alg, key, header->key_id, plain, context);
  VAULT_FUZZ_CHECK(resealed.size() == env.size());
  VAULT_FUZZ_CHECK(crypto::Open(kind, key, resealed, context, &scratch) && scratch == plain);
  return 0;
}
