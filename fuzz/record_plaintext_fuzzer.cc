// Fuzz target: the record plaintext decoder (vault/record_plaintext.h), run on every read.
//
// Input: the plaintext bytes. Decoding must never read out of bounds. What decodes is an
// object's JSON text: format 1's is written from a parsed object (so it parses back to one);
// a format 2 plaintext re-encodes to the same bytes (the format is canonical); and anything
// the encoder writes decodes back to what was encoded.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "vault/record_plaintext.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> plain(data, size);
  vault::RecordView view;
  if (!vault::DecodeRecordPlaintext(plain, &view)) return 0;
  const std::string& text = view.data_json;
  VAULT_FUZZ_CHECK(text.size() >= 2 && text.front() == '{' && text.back() == '}');
  if (data[0] == 0x02) {
    const std::vector<std::uint8_t> again = vault::EncodeRecordPlaintext(view.record_id, text);
    VAULT_FUZZ_CHECK(again == std::vector<std::uint8_t>(data, data + size));
  } else {
    VAULT_FUZZ_CHECK(nlohmann::json::parse(text, nullptr, false).is_object());
  }
  // Whatever decodes can be written in format 2 and read back unchanged.
  const std::vector<std::uint8_t> encoded = vault::EncodeRecordPlaintext(view.record_id, text);
  vault::RecordView back;
  VAULT_FUZZ_CHECK(vault::DecodeRecordPlaintext(encoded, &back));
  VAULT_FUZZ_CHECK(back.record_id == view.record_id);
  VAULT_FUZZ_CHECK(back.data_json == text);
  return 0;
}
