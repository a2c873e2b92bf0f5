// The plaintext a record's envelope seals: its record id and its data.
//
// Format 2 (written since the HTTP read path stopped re-parsing records), in the row codec
// (vault/codec.h): U8 0x02 | Str record id | Str data as compact JSON text
// so a read can hand the data's text on without parsing it. Format 1, written before, is the
// JSON text {"d":<data>,"r":"<record id>"} (first byte '{'); both are read.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vault/vault.h"

namespace vault {

// data_json: the compact JSON text of the data object. Sized exactly: the caller wipes it.
std::vector<std::uint8_t> EncodeRecordPlaintext(std::string_view record_id,
                                                std::string_view data_json);

// Fills view->record_id and view->data_json (format 2: the text as stored, authenticated by
// the envelope and not parsed again; format 1: the parsed data written compactly). False when
// the plaintext is in neither format or its data is not an object; *view may then be partly
// written.
bool DecodeRecordPlaintext(std::span<const std::uint8_t> plain, RecordView* view);

}  // namespace vault
