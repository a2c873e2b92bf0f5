// The export sections and report figures that consents, passwords and objections contribute
// (exporter.h, report.h): each reads in the caller's transaction and shows no secret.
#pragma once

#include "vault/consents.h"
#include "vault/exporter.h"
#include "vault/objections.h"
#include "vault/passwords.h"
#include "vault/report.h"

namespace vault {

// "consents": each consent of the subject with its whole history and, once withdrawn, when
// the history itself is shredded.
class ConsentsExport : public ExportSection {
 public:
  explicit ConsentsExport(const Consents& consents) : consents_(consents) {}
  Status WriteExport(const Txn& txn, const ExportSubject& subject,
                     ExportWriter& out) const override;

 private:
  const Consents& consents_;
};

// "password": whether a password is set, and its algorithm; never the hash.
class PasswordExport : public ExportSection {
 public:
  Status WriteExport(const Txn& txn, const ExportSubject& subject,
                     ExportWriter& out) const override;
};

// pending["consent_withdrawals"]: category shreds that withdrawals scheduled, overdue once
// their time has passed and the sweeper has not run them.
class ConsentReport : public ReportSource {
 public:
  explicit ConsentReport(const Consents& consents) : consents_(consents) {}
  Status AddToReport(const Txn& txn, UnixSeconds now, ComplianceReport* report) const override;

 private:
  const Consents& consents_;
};

// "objections": the purposes the subject objects to (GDPR Art. 21), since when and why.
class ObjectionsExport : public ExportSection {
 public:
  explicit ObjectionsExport(const Objections& objections) : objections_(objections) {}
  Status WriteExport(const Txn& txn, const ExportSubject& subject,
                     ExportWriter& out) const override;

 private:
  const Objections& objections_;
};

}  // namespace vault
