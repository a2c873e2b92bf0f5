// The three renderings of an export document: JSON, CSV (RFC 4180) and XML (the W3C
// json-to-xml vocabulary of XPath 3.1, so the XML is the JSON document, losslessly).
#include "vault/export_writer.h"

#include <array>
#include <cstdio>

namespace vault {
namespace {

using nlohmann::json;

constexpr std::string_view kFormatName = "lethe-export";
constexpr int kFormatVersion = 1;

std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void AppendHex4(unsigned value, std::string* out) {
  std::array<char, 7> buf{};
  std::snprintf(buf.data(), buf.size(), "\\u%04x", value);
  out->append(buf.data(), 6);
}

// The record's metadata fields in document order, as JSON values (data excluded).
json RecordMeta(const RecordView& r) {
  json j = {{"category", r.category},
            {"record_id", r.record_id},
            {"version", r.version},
            {"created_at", FormatRfc3339(r.created_at)},
            {"updated_at", FormatRfc3339(r.updated_at)}};
  if (r.event_time) j["event_time"] = FormatRfc3339(*r.event_time);
  j["retain_until"] = r.retain_until == 0 ? json(nullptr) : json(FormatRfc3339(r.retain_until));
  return j;
}

// ---------------------------------------------------------------- JSON

class JsonWriter final : public ExportWriter {
 public:
  explicit JsonWriter(UnixSeconds at) {
    out_ = "{\"format\":\"";
    out_ += kFormatName;
    out_ += "\",\"format_version\":" + std::to_string(kFormatVersion) + ",\"generated_at\":";
    AppendJsonQuoted(FormatRfc3339(at), &out_);
  }
  void Object(std::string_view section, const json& value) override {
    Key(section);
    out_ += Dump(value);
  }
  void BeginList(std::string_view section) override {
    Key(section);
    out_ += '[';
    first_ = true;
  }
  void Item(std::string_view, const json& item) override {
    Separate();
    out_ += Dump(item);
  }
  void Record(const RecordView& r) override {
    Separate();
    out_ += "{\"category\":";
    AppendJsonQuoted(r.category, &out_);
    out_ += ",\"record_id\":";
    AppendJsonQuoted(r.record_id, &out_);
    out_ += ",\"version\":" + std::to_string(r.version) + ",\"created_at\":\"" +
            FormatRfc3339(r.created_at) + "\",\"updated_at\":\"" + FormatRfc3339(r.updated_at) +
            "\"";
    if (r.event_time) out_ += ",\"event_time\":\"" + FormatRfc3339(*r.event_time) + "\"";
    out_ += ",\"retain_until\":";
    out_ += r.retain_until == 0 ? "null" : "\"" + FormatRfc3339(r.retain_until) + "\"";
    out_ += ",\"data\":";
    out_ += r.data_json;  // a JSON object, as stored
    out_ += '}';
  }
  void EndList() override { out_ += first_ ? "]" : "\n]"; }
  void End() override { out_ += "}\n"; }

 private:
  void Key(std::string_view section) {
    out_ += ",\n";
    AppendJsonQuoted(section, &out_);
    out_ += ':';
  }
  void Separate() {
    out_ += first_ ? "\n" : ",\n";
    first_ = false;
  }
  bool first_ = true;
};

// ---------------------------------------------------------------- CSV (RFC 4180)

// One row per item: every section's items, then the records, one record a row with its data
// as JSON text in the last column.
class CsvWriter final : public ExportWriter {
 public:
  explicit CsvWriter(UnixSeconds at) {
    out_ = "section,category,id,version,created_at,updated_at,event_time,retain_until,data\r\n";
    Row({"export", "", "", "", "", "", "", "",
         Dump({{"format", kFormatName},
               {"format_version", kFormatVersion},
               {"generated_at", FormatRfc3339(at)}})});
  }
  void Object(std::string_view section, const json& value) override {
    Row({section, "", "", "", "", "", "", "", Dump(value)});
  }
  void BeginList(std::string_view section) override { section_ = section; }
  void Item(std::string_view id, const json& item) override {
    const auto cat = item.find("category");
    const std::string category =
        cat != item.end() && cat->is_string() ? cat->get<std::string>() : "";
    Row({section_, category, id, "", "", "", "", "", Dump(item)});
  }
  void Record(const RecordView& r) override {
    Row({"records", r.category, r.record_id, std::to_string(r.version), FormatRfc3339(r.created_at),
         FormatRfc3339(r.updated_at), r.event_time ? FormatRfc3339(*r.event_time) : "",
         r.retain_until == 0 ? "" : FormatRfc3339(r.retain_until), r.data_json});
  }
  void EndList() override { section_.clear(); }
  void End() override {}

 private:
  static constexpr std::size_t kColumns = 9;
  void Row(const std::array<std::string_view, kColumns>& fields) {
    for (std::size_t i = 0; i < kColumns; ++i) {
      if (i > 0) out_ += ',';
      Field(fields[i]);
    }
    out_ += "\r\n";
  }
  // Quoted when it holds a comma, a quote, CR or LF; quotes inside are doubled.
  void Field(std::string_view f) {
    if (f.find_first_of(",\"\r\n") == std::string_view::npos) {
      out_ += f;
      return;
    }
    out_ += '"';
    for (char c : f) {
      if (c == '"') out_ += '"';
      out_ += c;
    }
    out_ += '"';
  }
  std::string section_;
};

// ---------------------------------------------------------------- XML

// True when s holds a character XML 1.0 cannot carry even as a reference: a control
// character other than tab, LF and CR, or U+FFFE / U+FFFF (valid UTF-8 assumed).
bool XmlUnsafe(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return true;
    if (c == 0xEF && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xBF &&
        (static_cast<unsigned char>(s[i + 2]) & 0xFE) == 0xBE) {
      return true;
    }
  }
  return false;
}

// The W3C escaped="true" form: backslashes and what XML cannot carry as JSON escapes.
std::string EscapeAsJson(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
      AppendHex4(c, &out);
    } else if (c == 0xEF && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xBF &&
               (static_cast<unsigned char>(s[i + 2]) & 0xFE) == 0xBE) {
      AppendHex4(0xFF00u | static_cast<unsigned char>(s[i + 2]) | 0x40u, &out);
      i += 2;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// Character data or an attribute value (double-quoted); CR, and in attributes tab and LF, as
// references so that parsers do not normalise them away.
void AppendXmlEscaped(std::string_view s, bool attribute, std::string* out) {
  for (char c : s) {
    switch (c) {
      case '&':
        *out += "&amp;";
        break;
      case '<':
        *out += "&lt;";
        break;
      case '>':
        *out += "&gt;";
        break;
      case '\r':
        *out += "&#13;";
        break;
      case '"':
        *out += attribute ? "&quot;" : "\"";
        break;
      case '\t':
        *out += attribute ? "&#9;" : "\t";
        break;
      case '\n':
        *out += attribute ? "&#10;" : "\n";
        break;
      default:
        *out += c;
    }
  }
}

// <tag key="..."> with the key escaped as the vocabulary says when XML cannot carry it.
void OpenTag(std::string_view tag, const std::string_view* key, bool escaped, std::string* out) {
  *out += '<';
  *out += tag;
  if (key != nullptr) {
    const bool unsafe = XmlUnsafe(*key);
    *out += " key=\"";
    AppendXmlEscaped(unsafe ? EscapeAsJson(*key) : std::string(*key), true, out);
    *out += unsafe ? "\" escaped-key=\"true\"" : "\"";
  }
  if (escaped) *out += " escaped=\"true\"";
  *out += '>';
}

void AppendXmlValue(const json& v, const std::string_view* key, std::string* out);

void AppendXmlContainer(const json& v, const std::string_view* key, std::string* out) {
  const bool map = v.is_object();
  OpenTag(map ? "map" : "array", key, false, out);
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (map) {
      const std::string_view k = it.key();
      AppendXmlValue(*it, &k, out);
    } else {
      AppendXmlValue(*it, nullptr, out);
    }
  }
  *out += map ? "</map>" : "</array>";
}

void AppendXmlValue(const json& v, const std::string_view* key, std::string* out) {
  if (v.is_object() || v.is_array()) return AppendXmlContainer(v, key, out);
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    const bool unsafe = XmlUnsafe(s);
    OpenTag("string", key, unsafe, out);
    AppendXmlEscaped(unsafe ? EscapeAsJson(s) : s, false, out);
    *out += "</string>";
  } else if (v.is_boolean()) {
    OpenTag("boolean", key, false, out);
    *out += v.get<bool>() ? "true</boolean>" : "false</boolean>";
  } else if (v.is_number()) {
    OpenTag("number", key, false, out);
    *out += Dump(v) + "</number>";
  } else {
    OpenTag("null", key, false, out);
    *out += "</null>";
  }
}

class XmlWriter final : public ExportWriter {
 public:
  explicit XmlWriter(UnixSeconds at) {
    out_ =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<map xmlns=\"http://www.w3.org/2005/xpath-functions\">";
    Member("format", kFormatName);
    Member("format_version", kFormatVersion);
    Member("generated_at", FormatRfc3339(at));
  }
  void Object(std::string_view section, const json& value) override {
    out_ += '\n';
    AppendXmlValue(value, &section, &out_);
  }
  void BeginList(std::string_view section) override {
    out_ += '\n';
    OpenTag("array", &section, false, &out_);
  }
  void Item(std::string_view, const json& item) override {
    out_ += '\n';
    AppendXmlValue(item, nullptr, &out_);
  }
  void Record(const RecordView& r) override {
    json j = RecordMeta(r);
    j["data"] = json::parse(r.data_json, nullptr, false);
    out_ += '\n';
    // nlohmann orders keys alphabetically; the vocabulary does not care about order.
    AppendXmlValue(j, nullptr, &out_);
  }
  void EndList() override { out_ += "</array>"; }
  void End() override { out_ += "\n</map>\n"; }

 private:
  void Member(std::string_view key, const json& value) {
    out_ += '\n';
    AppendXmlValue(value, &key, &out_);
  }
};

}  // namespace

void AppendJsonQuoted(std::string_view s, std::string* out) {
  *out += '"';
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (c < 0x20) {
          AppendHex4(c, out);
        } else {
          *out += ch;
        }
    }
  }
  *out += '"';
}

std::unique_ptr<ExportWriter> MakeExportWriter(ExportFormat format, UnixSeconds generated_at) {
  switch (format) {
    case ExportFormat::kCsv:
      return std::make_unique<CsvWriter>(generated_at);
    case ExportFormat::kXml:
      return std::make_unique<XmlWriter>(generated_at);
    case ExportFormat::kJson:
      break;
  }
  return std::make_unique<JsonWriter>(generated_at);
}

const char* ExportMediaType(ExportFormat format) {
  switch (format) {
    case ExportFormat::kCsv:
      return "text/csv; charset=utf-8; header=present";
    case ExportFormat::kXml:
      return "application/xml";
    case ExportFormat::kJson:
      break;
  }
  return "application/json";
}

const char* ExportExtension(ExportFormat format) {
  switch (format) {
    case ExportFormat::kCsv:
      return "csv";
    case ExportFormat::kXml:
      return "xml";
    case ExportFormat::kJson:
      break;
  }
  return "json";
}

}  // namespace vault
