// Rekeys: retiring the DEK of a removed record version. When an overwrite, a move to another
// retention bucket or a delete removes a version, the DEK that sealed it is retired: its scope
// gets a fresh DEK for new writes, the DEK's other records are re-encrypted under the scope's
// current DEK, and then it is destroyed, so the removed version opens with no key the vault
// keeps. Few survivors move inside the removing write; many move in steps, each an exclusive
// turn of the writer thread with ordinary writes in between, resumed by the sweeper and on
// open (the retiring DEKs and their cursors are in the DEK table's rekeys table).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "crypto/aead.h"
#include "vault/dek_table.h"
#include "vault/rows.h"
#include "vault/store.h"

namespace vault {

class Rekeys {
 public:
  // Records moved inside the removing write at most (and rows looked at, to find them).
  static constexpr std::size_t kInlineMoves = 64;
  static constexpr std::size_t kInlineVisits = 4 * kInlineMoves;
  using StepObserver = std::function<void(std::uint64_t steps)>;

  // batch: records re-encrypted per step at most. on_step: told after each step commits.
  Rekeys(Store& store, DekTable& deks, crypto::Aead cipher, std::size_t batch,
         StepObserver on_step)
      : store_(store),
        deks_(deks),
        cipher_(cipher),
        batch_(batch == 0 ? 1 : batch),
        on_step_(std::move(on_step)) {}

  // What removing a version did to the DEK that sealed it.
  struct Removal {
    bool destroyed = false;  // destroyed in this write: zero its slot once it commits
    bool pending = false;    // survivors left to move: run Finish once it commits
  };
  // Inside the write that removes a version sealed under id (row: its key row), before the
  // write seals anything new in that scope: retires the DEK. False if it already retires.
  StatusOr<bool> Retire(Txn& txn, const crypto::KeyId& id, const KeyRow& row);
  // Later in the same write, once the removed version's row is gone or replaced: moves up to
  // kInlineMoves survivors and destroys the DEK when none are left.
  Status Settle(Txn& txn, const crypto::KeyId& id, const KeyRow& row, Removal* out);
  // Runs every pending rekey to its end, one step (batch records) per exclusive turn.
  Status Finish();

 private:
  // One step of Finish on the first retiring DEK; *more false when none is left.
  Status Step(Txn& txn, bool* more);
  // Re-encrypts the records under id from *cursor on (up to max_moves of them, looking at
  // up to max_visits rows) under the scope's current DEK; *cursor moves past the rows seen.
  // True when the scope has no more rows to look at.
  StatusOr<bool> Move(Txn& txn, const crypto::KeyId& id, const KeyRow& row, std::string* cursor,
                      std::size_t max_moves, std::size_t max_visits);

  Store& store_;
  DekTable& deks_;
  const crypto::Aead cipher_;
  const std::size_t batch_;
  const StepObserver on_step_;
};

}  // namespace vault
