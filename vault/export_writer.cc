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

// What AppendXmlEscaped replaces: 1 in character data and attributes, 2 in attributes only.
constexpr std::array<std::uint8_t, 256> XmlSpecials() {
  std::array<std::uint8_t, 256> t{};
  t['&'] = t['<'] = t['>'] = t['\r'] = 1;
  t['"'] = t['\t'] = t['\n'] = 2;
  return t;
}
constexpr std::array<std::uint8_t, 256> kXmlSpecials = XmlSpecials();

// Character data or an attribute value (double-quoted); CR, and in attributes tab and LF, as
// references so that parsers do not normalise them away. Plain runs are appended whole.
void AppendXmlEscaped(std::string_view s, bool attribute, std::string* out) {
  const std::uint8_t limit = attribute ? 2 : 1;
  std::size_t from = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const std::uint8_t kind = kXmlSpecials[static_cast<unsigned char>(s[i])];
    if (kind == 0 || kind > limit) continue;
    out->append(s.data() + from, i - from);
    from = i + 1;
    switch (s[i]) {
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
        *out += "&quot;";
        break;
      case '\t':
        *out += "&#9;";
        break;
      default:
        *out += "&#10;";
    }
  }
  out->append(s.data() + from, s.size() - from);
}

// <tag key="..."> with the key escaped as the vocabulary says when XML cannot carry it.
void OpenTag(std::string_view tag, const std::string_view* key, bool escaped, std::string* out) {
  *out += '<';
  *out += tag;
  if (key != nullptr) {
    const bool unsafe = XmlUnsafe(*key);
    *out += " key=\"";
    if (unsafe) {
      AppendXmlEscaped(EscapeAsJson(*key), true, out);
    } else {
      AppendXmlEscaped(*key, true, out);
    }
    *out += unsafe ? "\" escaped-key=\"true\"" : "\"";
  }
  if (escaped) *out += " escaped=\"true\"";
  *out += '>';
}

void AppendXmlString(const std::string_view* key, std::string_view s, std::string* out) {
  const bool unsafe = XmlUnsafe(s);
  OpenTag("string", key, unsafe, out);
  if (unsafe) {
    AppendXmlEscaped(EscapeAsJson(s), false, out);
  } else {
    AppendXmlEscaped(s, false, out);
  }
  *out += "</string>";
}

// JSON text rendered straight into the vocabulary's elements from nlohmann's SAX events,
// without building a tree (a record's data, on the export's hot path). Members keep the
// order of the text.
class XmlSax {
 public:
  XmlSax(std::string* out, std::string_view first_key) : out_(out), key_(first_key) {}
  bool null() {
    Open("null", false);
    *out_ += "</null>";
    return true;
  }
  bool boolean(bool b) {
    Open("boolean", false);
    *out_ += b ? "true</boolean>" : "false</boolean>";
    return true;
  }
  bool number_integer(json::number_integer_t v) { return Number(std::to_string(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return Number(std::to_string(v)); }
  bool number_float(json::number_float_t v, const std::string&) { return Number(Dump(json(v))); }
  bool string(std::string& s) {
    AppendXmlString(TakeKey(), s, out_);
    return true;
  }
  bool binary(json::binary_t&) { return false; }
  bool start_object(std::size_t) {
    Open("map", false);
    return true;
  }
  bool end_object() {
    *out_ += "</map>";
    return true;
  }
  bool start_array(std::size_t) {
    Open("array", false);
    return true;
  }
  bool end_array() {
    *out_ += "</array>";
    return true;
  }
  bool key(std::string& k) {
    key_ = k;
    has_key_ = true;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return false;
  }

 private:
  const std::string_view* TakeKey() {
    if (!has_key_) return nullptr;
    has_key_ = false;
    view_ = key_;
    return &view_;
  }
  void Open(std::string_view tag, bool escaped) { OpenTag(tag, TakeKey(), escaped, out_); }
  bool Number(const std::string& text) {
    Open("number", false);
    *out_ += text;
    *out_ += "</number>";
    return true;
  }
  std::string* out_;
  std::string key_;
  std::string_view view_;
  bool has_key_ = true;
};

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
    AppendXmlString(key, v.get_ref<const std::string&>(), out);
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
  // The record's members in the order the JSON tree gave them before (alphabetical), its
  // data streamed from the stored text.
  void Record(const RecordView& r) override {
    out_ += "\n<map>";
    String("category", r.category);
    String("created_at", FormatRfc3339(r.created_at));
    const std::size_t mark = out_.size();
    XmlSax sax(&out_, "data");
    if (!json::sax_parse(r.data_json, &sax)) {
      out_.resize(mark);
      out_ += "<null key=\"data\"></null>";
    }
    if (r.event_time) String("event_time", FormatRfc3339(*r.event_time));
    String("record_id", r.record_id);
    if (r.retain_until == 0) {
      out_ += "<null key=\"retain_until\"></null>";
    } else {
      String("retain_until", FormatRfc3339(r.retain_until));
    }
    String("updated_at", FormatRfc3339(r.updated_at));
    out_ += "<number key=\"version\">";
    out_ += std::to_string(r.version);
    out_ += "</number></map>";
  }
  void EndList() override { out_ += "</array>"; }
  void End() override { out_ += "\n</map>\n"; }

 private:
  void String(std::string_view key, std::string_view value) { AppendXmlString(&key, value, &out_); }
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
