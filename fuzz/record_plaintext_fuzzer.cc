// Fuzz target: the record plaintext decoder (vault/record_plaintext.h), run on every read.
//
// Input: the plaintext bytes. Decoding must never read out of bounds. When the bytes decode
// both ways, the text form and the parsed form must describe the same record; a format 2
// plaintext re-encodes to the same bytes (the format is canonical); and anything the encoder
// writes decodes back to what was encoded.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "vault/record_plaintext.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> plain(data, size);
  vault::RecordView as_text, as_json;
  const bool text_ok = vault::DecodeRecordPlaintext(plain, true, &as_text);
  const bool json_ok = vault::DecodeRecordPlaintext(plain, false, &as_json);
  if (text_ok && json_ok) {
    VAULT_FUZZ_CHECK(as_text.record_id == as_json.record_id);
    VAULT_FUZZ_CHECK(as_json.data.is_object());
    const auto reparsed = nlohmann::json::parse(as_text.data_json, nullptr, false);
    VAULT_FUZZ_CHECK(reparsed == as_json.data);
    if (size > 0 && data[0] == 0x02) {
      const std::vector<std::uint8_t> again =
          vault::EncodeRecordPlaintext(as_text.record_id, as_text.data_json);
      VAULT_FUZZ_CHECK(again == std::vector<std::uint8_t>(data, data + size));
    }
  }
  if (json_ok) {
    // Whatever decodes to an object can be written in format 2 and read back unchanged.
    const std::vector<std::uint8_t> encoded = vault::EncodeRecordPlaintext(
        as_json.record_id,
        as_json.data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    vault::RecordView back;
    VAULT_FUZZ_CHECK(vault::DecodeRecordPlaintext(encoded, false, &back));
    VAULT_FUZZ_CHECK(back.record_id == as_json.record_id);
    VAULT_FUZZ_CHECK(back.data == as_json.data);
  }
  return 0;
}
