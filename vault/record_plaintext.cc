// Record plaintext formats (record_plaintext.h).
#include "vault/record_plaintext.h"

#include <nlohmann/json.hpp>

#include "crypto/primitives.h"
#include "vault/codec.h"

namespace vault {
namespace {

using nlohmann::json;

constexpr std::uint8_t kFormat2 = 0x02;

}  // namespace

std::vector<std::uint8_t> EncodeRecordPlaintext(std::string_view record_id,
                                                std::string_view data_json) {
  RowWriter w;
  w.Reserve(1 + 8 + record_id.size() + 8 + data_json.size())
      .U8(kFormat2)
      .Str(record_id)
      .Str(data_json);
  return w.Take();
}

bool DecodeRecordPlaintext(std::span<const std::uint8_t> plain, RecordView* view) {
  if (plain.empty()) return false;
  if (plain[0] == kFormat2) {
    RowReader r(plain.subspan(1));
    std::string text;
    // Written by EncodeRecordPlaintext from a serialized object; authenticated by the
    // envelope, so not parsed again here.
    const bool ok = r.Str(&view->record_id) && r.Str(&text) && r.AtEnd() && text.size() >= 2 &&
                    text.front() == '{' && text.back() == '}';
    if (ok) view->data_json = std::move(text);
    crypto::WipeString(&text);
    return ok;
  }
  if (plain[0] != '{') return false;
  json doc = json::parse(plain.begin(), plain.end(), nullptr, false);
  if (!doc.is_object()) return false;
  auto r = doc.find("r");
  auto d = doc.find("d");
  if (r == doc.end() || !r->is_string() || d == doc.end() || !d->is_object()) return false;
  view->record_id = r->get<std::string>();
  view->data_json = d->dump(-1, ' ', false, json::error_handler_t::replace);
  return true;
}

}  // namespace vault
