// Exporter: a subject's export (GDPR Art. 15 access and Art. 20 portability), streamed. Owns
// no table: it reads the subject, its holds and erasure, the policy's description of each
// category, the sections other parts plug in (ExportSection), and the records page by page.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "vault/audit_log.h"
#include "vault/erasure.h"
#include "vault/export_writer.h"
#include "vault/legal_holds.h"
#include "vault/records.h"
#include "vault/requests.h"
#include "vault/store.h"
#include "vault/subjects.h"

namespace vault {

// The subject an export is about, as the sections see it.
struct ExportSubject {
  const SubjectRow& row;
  const std::string& subject_id;
  UnixSeconds now;
};

// A part that contributes one section to every export (consents, passwords). Its WriteExport
// runs in the read transaction that reads the subject, so the small sections agree with one
// another; it writes one Object, or one BeginList..EndList, to out. Plugged in with one call:
// Exporter::AddSection, in Vault::Impl::BuildParts.
class ExportSection {
 public:
  virtual ~ExportSection() = default;
  virtual Status WriteExport(const Txn& txn, const ExportSubject& subject,
                             ExportWriter& out) const = 0;
};

// Thread-safe after the sections are added (Start may run on any number of threads).
class Exporter {
 public:
  struct Parts {
    Store& store;
    const Policy& policy;
    const Clock& clock;
    Subjects& subjects;
    Records& records;
    LegalHolds& holds;
    const Erasures& erasures;
    AuditLog& audit;
    Requests& requests;  // an export served closes access and portability requests
  };
  // page_records: records read per read transaction (and per piece of the stream).
  Exporter(Parts parts, std::size_t page_records) : p_(parts), page_records_(page_records) {}

  // REQUIRES: before the first Start; the section outlives the Exporter.
  void AddSection(const ExportSection& section) { sections_.push_back(&section); }

  StatusOr<std::unique_ptr<ExportStream>> Start(const Actor& actor, const std::string& subject_id,
                                                ExportFormat format) const;

 private:
  friend class SubjectExport;
  // The sections read in the first snapshot: subject, erasure, holds, categories, plugged.
  Status WriteHead(const Txn& txn, const ExportSubject& subject, ExportWriter& out) const;

  Parts p_;
  const std::size_t page_records_;
  std::vector<const ExportSection*> sections_;
};

}  // namespace vault
