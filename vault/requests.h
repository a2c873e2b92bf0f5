// The log of data-subject requests (GDPR Arts. 15-21 answered within Art. 12(3)'s month):
// each request's kind, receipt, statutory due date (one calendar month from receipt; once,
// within that month and with a reason, extended by two further months) and state. Owns the
// requests table (id -> row) and its index by subject (uid | id). Nothing of a person is in
// clear: the subject id and the reasons are sealed under the meta key, and the subject id is
// dropped when the subject is erased. Requests the vault executes itself close themselves
// (Complete): an erasure when it runs, access and portability when an export is served,
// restriction and objection when placed. The due date is the earlier of the policy's
// `requests.respond_within` and one calendar month; extended, two months later than that, and
// never later than three months after receipt.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "vault/audit_log.h"
#include "vault/meta_sealer.h"
#include "vault/policy.h"
#include "vault/report.h"
#include "vault/rows.h"
#include "vault/store.h"
#include "vault/subjects.h"
#include "vault/vault.h"

namespace vault {

class Requests : public ReportSource {
 public:
  struct Parts {
    Store& store;
    const Policy& policy;  // requests.respond_within
    const Clock& clock;
    Subjects& subjects;
    const MetaSealer& sealer;
    AuditLog& audit;
  };
  explicit Requests(Parts parts) : p_(parts) {}

  using View = Vault::SubjectRequest;
  StatusOr<View> Log(const Actor& actor, const std::string& subject_id, const std::string& kind,
                     std::optional<UnixSeconds> received_at);
  StatusOr<View> Extend(const Actor& actor, const std::string& request_id,
                        const std::string& reason);
  StatusOr<View> Close(const Actor& actor, const std::string& request_id, bool refused,
                       const std::string& reason);
  StatusOr<View> Get(const Actor& actor, const std::string& request_id) const;
  StatusOr<std::vector<View>> List(const Actor& actor, bool open_only) const;

  // Closes as done the subject's open requests of these kinds (the vault executed them), in
  // txn; at erasure also drops the sealed subject id of every request of the subject.
  Status Complete(Txn& txn, const Uid& uid, const std::vector<std::string>& kinds,
                  const std::string& by, bool erased);
  // The same in a write of its own, queued (an export served, a restriction placed).
  void CompleteAsync(const Uid& uid, std::vector<std::string> kinds, std::string by);

  // pending["requests"]: open requests; overdue ones (past their due date) named by id.
  Status AddToReport(const Txn& txn, UnixSeconds now, ComplianceReport* report) const override;

 private:
  struct Row;
  StatusOr<View> Change(const Actor& actor, const char* action, const std::string& request_id,
                        const std::function<Status(Row&, UnixSeconds)>& change);
  View ToView(const std::string& id, const Row& row, UnixSeconds now) const;
  UnixSeconds DueAt(UnixSeconds received, bool extended) const;
  Status Refused(const Actor& actor, const char* action, const Status& s) const;

  Parts p_;
};

}  // namespace vault
