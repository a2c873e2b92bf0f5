// ExportWriter: renders a subject's export document, section by section, as JSON, CSV or
// XML into a text buffer the exporter drains piece by piece (exporter.h). The formats and
// why they look as they do: docs/design.md "Export".
//
// A document is a sequence of sections, each either one object (or null) or a list of items;
// the records list is special only in that its items come as RecordView (their data is
// already JSON text). Not thread-safe.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "vault/vault.h"

namespace vault {

class ExportWriter {
 public:
  virtual ~ExportWriter() = default;

  // A section holding one object, or null.
  virtual void Object(std::string_view section, const nlohmann::json& value) = 0;
  // A section holding a list: BeginList, then Item or Record for each item, then EndList.
  virtual void BeginList(std::string_view section) = 0;
  // id: the item's identity within its section (a hold id, a consent's purpose, a category
  // name); CSV puts it in a column of its own.
  virtual void Item(std::string_view id, const nlohmann::json& item) = 0;
  virtual void Record(const RecordView& record) = 0;
  virtual void EndList() = 0;
  // Closes the document; nothing may be written after it.
  virtual void End() = 0;

  // What was written and not yet taken.
  std::string& buffer() { return out_; }

 protected:
  std::string out_;
};

// Opens the document (its format marker and generated_at) in the writer's buffer.
std::unique_ptr<ExportWriter> MakeExportWriter(ExportFormat format, UnixSeconds generated_at);

// JSON string escaping (RFC 8259) of valid UTF-8 text, quotes included.
void AppendJsonQuoted(std::string_view s, std::string* out);

}  // namespace vault
