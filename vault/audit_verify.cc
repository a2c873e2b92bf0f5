// Verifying the audit log (AuditLog::Verify): one snapshot, walked from the retained base to
// the stored head, every signed checkpoint on the way compared with the chain; the first
// entry that is edited, missing, out of order or beyond the head is named, and how.
#include <map>

#include "vault/audit_log.h"
#include "vault/codec.h"

namespace vault {
namespace {

// How far past a mismatching entry the walk looks for the entry that belongs there.
constexpr std::size_t kReorderWindow = 1000;

std::string Seq(std::uint64_t seq) { return std::to_string(seq); }

}  // namespace

class AuditLog::Walk {
 public:
  Walk(const AuditLog& log, const Txn& txn, const ProgressFn& progress)
      : log_(log), txn_(txn), progress_(progress) {}

  StatusOr<AuditVerifyResult> Run() {
    stored_seq_ = MetaU64(txn_, kMetaSeq);
    stored_head_.assign(32, '\0');
    if (auto h = txn_.Get(Table::kMeta, kMetaHead)) stored_head_ = *h;
    const std::uint64_t base = MetaU64(txn_, kMetaBase);
    res_.from_seq = base + 1;
    prev_.assign(32, '\0');
    if (base > 0 && !Anchor(base)) return res_;
    VAULT_RETURN_IF_ERROR(LoadCheckpoints(base));
    VAULT_RETURN_IF_ERROR(
        txn_.ScanFrom(Table::kAudit, BigEndianKey(base + 1),
                      [&](std::string_view k, std::string_view v) { return Visit(k, v); }));
    if (!res_.first_bad_seq) CheckEnd();
    if (progress_) progress_(res_.entries, stored_seq_ > base ? stored_seq_ - base : 0);
    res_.ok = !res_.first_bad_seq.has_value();
    return res_;
  }

 private:
  void Fail(std::uint64_t seq, std::string problem) {
    if (res_.first_bad_seq) return;
    res_.first_bad_seq = seq;
    res_.problem = std::move(problem);
  }

  // The checkpoint retention left as the chain's start: present, signed, and its head is the
  // hash the first retained entry chains from.
  bool Anchor(std::uint64_t base) {
    StatusOr<std::optional<AuditCheckpoint>> cp = log_.checkpoints_.At(txn_, base);
    if (!cp.ok() || !cp->has_value()) {
      Fail(base, "the checkpoint at seq " + Seq(base) +
                     ", where retention trimmed the log, is missing or corrupt");
    } else if (!log_.checkpoints_.Verify(**cp)) {
      Fail(base, "the signature of checkpoint " + Seq(base) +
                     " (the retained chain's start) "
                     "does not verify");
    } else if (auto head = crypto::FromHex((*cp)->head); head && head->size() == 32) {
      prev_ = Bytes(*head);
      res_.head = (*cp)->head;
      return true;
    } else {
      Fail(base, "the checkpoint at seq " + Seq(base) + " is corrupt");
    }
    res_.ok = false;
    return false;
  }

  Status LoadCheckpoints(std::uint64_t base) {
    return txn_.ScanFrom(Table::kAuditCheckpoints, BigEndianKey(base + 1),
                         [&](std::string_view k, std::string_view v) {
                           AuditCheckpoint cp;
                           if (!DecodeCheckpoint(k, v, &cp)) {
                             Fail(ReadBigEndian(k),
                                  "the checkpoint at seq " + Seq(ReadBigEndian(k)) + " is corrupt");
                             return false;
                           }
                           checkpoints_.emplace(cp.seq, std::move(cp));
                           return true;
                         });
  }

  bool Visit(std::string_view k, std::string_view v) {
    if (res_.first_bad_seq && !displaced_) return false;
    const std::uint64_t seq = ReadBigEndian(k);
    AuditEntry e;
    const bool decoded = DecodeAudit(k, v, &e);
    if (displaced_) return LookFor(decoded, e);
    const std::uint64_t expected = res_.from_seq + res_.entries;
    if (seq > stored_seq_) {
      beyond_head_ = seq;
      return false;
    }
    if (seq != expected) {
      Fail(expected,
           "entry " + Seq(expected) + " is missing (the next stored entry is " + Seq(seq) + ")");
      return false;
    }
    if (!decoded) {
      Fail(seq, "entry " + Seq(seq) + " is corrupt: its bytes do not decode");
      return false;
    }
    const std::string want = Bytes(log_.ChainHash(prev_, e));
    if (crypto::ToHex(crypto::AsBytes(want)) != e.hash) {
      Fail(seq, "entry " + Seq(seq) + " does not match its hash: it was edited");
      displaced_ = true;  // unless it is out of order: look for the one that belongs here
      return true;
    }
    if (progress_ && res_.entries % kProgressEvery == 0 && stored_seq_ >= res_.from_seq) {
      progress_(res_.entries, stored_seq_ - res_.from_seq + 1);
    }
    return Accept(e, want);
  }

  bool Accept(const AuditEntry& e, const std::string& hash) {
    if (auto cp = checkpoints_.find(e.seq); cp != checkpoints_.end()) {
      ++res_.checkpoints;
      if (cp->second.head != e.hash) {
        Fail(e.seq, "the signed checkpoint at seq " + Seq(e.seq) + " does not match the chain");
        return false;
      }
      if (!log_.checkpoints_.Verify(cp->second)) {
        Fail(e.seq, "the checkpoint at seq " + Seq(e.seq) + " has a bad signature");
        return false;
      }
    }
    prev_ = hash;
    res_.head = e.hash;
    ++res_.entries;
    return true;
  }

  // After a mismatch at entry n: an entry stored later whose fields chain from entry n-1 at
  // seq n was moved.
  bool LookFor(bool decoded, AuditEntry e) {
    if (++looked_ > kReorderWindow) return false;
    const std::uint64_t at = e.seq;
    e.seq = *res_.first_bad_seq;
    if (!decoded || crypto::ToHex(log_.ChainHash(prev_, e)) != e.hash) return true;
    res_.problem = "entries are out of order: the entry stored at seq " + Seq(at) +
                   " belongs at seq " + Seq(e.seq);
    return false;
  }

  void CheckEnd() {
    const std::uint64_t last = res_.from_seq + res_.entries - 1;
    if (last < stored_seq_) {
      Fail(last + 1, "entries " + Seq(last + 1) + ".." + Seq(stored_seq_) +
                         " are missing (the stored head is at seq " + Seq(stored_seq_) + ")");
    } else if (prev_ != stored_head_) {
      Fail(stored_seq_, "the last entry is not the stored head");
    } else if (beyond_head_ != 0) {
      Fail(beyond_head_, "entry " + Seq(beyond_head_) + " is beyond the stored head (seq " +
                             Seq(stored_seq_) + ")");
    } else if (!checkpoints_.empty() && checkpoints_.rbegin()->first > stored_seq_) {
      const std::uint64_t cp = checkpoints_.rbegin()->first;
      Fail(stored_seq_ + 1, "a signed checkpoint covers seq " + Seq(cp) +
                                " but the log ends at seq " + Seq(stored_seq_) +
                                ": entries were removed from its end");
    }
  }

  static constexpr std::uint64_t kProgressEvery = 4096;
  const AuditLog& log_;
  const Txn& txn_;
  const ProgressFn& progress_;
  AuditVerifyResult res_;
  std::uint64_t stored_seq_ = 0;
  std::string stored_head_;
  std::string prev_;  // the hash the next entry chains from (raw bytes)
  std::map<std::uint64_t, AuditCheckpoint> checkpoints_;
  bool displaced_ = false;
  std::size_t looked_ = 0;
  std::uint64_t beyond_head_ = 0;
};

StatusOr<AuditVerifyResult> AuditLog::Verify(const ProgressFn& progress) const {
  VAULT_RETURN_IF_ERROR(store_.Flush());
  StatusOr<AuditVerifyResult> result = Status(Code::kInternal, "not run");
  VAULT_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    result = Walk(*this, txn, progress).Run();
    return result.status();
  }));
  return result;
}

}  // namespace vault
