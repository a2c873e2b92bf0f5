// Internal: Vault::Impl, shared by the engine's translation units. Not a public header.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "crypto/aead.h"
#include "vault/keyring.h"
#include "vault/keyslots.h"
#include "vault/store.h"
#include "vault/vault.h"

namespace vault {

using Uid = std::array<std::uint8_t, 16>;

enum class StoredState : std::uint8_t { kActive = 0, kErasurePending = 1, kErased = 2 };

struct SubjectRow {
  Uid uid{};
  StoredState state = StoredState::kActive;
  UnixSeconds created_at = 0;
  bool restricted = false;
  std::string erasure_id;  // hex, empty if none
  std::vector<std::uint8_t> sealed_subject_id;
};

struct KeyRow {
  std::string scope;           // uid | category | 0 | bucket (8 bytes big-endian, 0 = live)
  std::uint64_t epoch = 0;     // the epoch whose KEK wraps it (also inside the slot)
  std::uint64_t slot = 0;      // where the wrapped DEK lives in the key slot file
  UnixSeconds expires_at = 0;  // 0: until erasure
  UnixSeconds created_at = 0;
};

struct RecordRow {
  std::uint64_t version = 0;
  UnixSeconds created_at = 0, updated_at = 0;
  bool has_event_time = false;
  UnixSeconds event_time = 0;
  UnixSeconds retain_until = 0;
  crypto::KeyId key_id{};
  std::vector<std::uint8_t> envelope;
};

struct ErasureRow {
  Uid uid{};
  std::string pseudonym;  // subjects-db key
  std::string state;      // scheduled | completed | cancelled
  std::string mode;
  UnixSeconds requested_at = 0, execute_at = 0, completed_at = 0;
  bool blocked_by_hold = false;
  std::string receipt_json;
};

class Vault::Impl {
 public:
  Options options;
  Policy policy;
  std::shared_ptr<Clock> clock;
  std::unique_ptr<Keyring> keyring;
  std::unique_ptr<KeySlots> keyslots;
  std::mutex rotation_mu;  // one rotation at a time in this process
  // The audit chain's tail (last sequence number and hash) as of the current write
  // transaction, so a batch of entries reads and writes the two meta rows once, not per
  // entry. Writer thread only: reset when a transaction begins (batch hook), written to meta
  // before it commits (pre-commit hook). Declared before `store`, whose destructor runs the
  // operations still queued.
  struct AuditTail {
    bool loaded = false;
    bool dirty = false;
    std::uint64_t seq = 0;
    std::string head;
  };
  AuditTail audit_tail;
  crypto::Aead cipher = crypto::Aead::kXChaCha20Poly1305;
  std::unique_ptr<Store> store;

  std::string keyring_path() const { return options.data_dir + "/keyring"; }
  std::string store_dir() const { return options.data_dir + "/store"; }
  std::string keyslots_path() const { return options.data_dir + "/keyslots"; }
};

// Row codecs (vault.cc).
std::string EncodeKeyRow(const KeyRow& r);
bool DecodeKeyRow(std::string_view v, KeyRow* r);
bool DecodeRecordRow(std::string_view v, RecordRow* r);
// The associated data a record envelope is bound to: its row key (subject uid, category,
// keyed hash of the record id).
std::vector<std::uint8_t> RecordContext(std::string_view record_key);
// Slot contents: 'S' | epoch (8, LE) | length (1) | wrapped-key envelope | zero padding.
SlotBytes EncodeSlot(std::uint64_t epoch, std::span<const std::uint8_t> wrapped);
bool DecodeSlot(const SlotBytes& s, std::uint64_t* epoch, std::span<const std::uint8_t>* wrapped);
// Zeroes the slots of destroyed DEKs and returns them to the free list (skipped while a
// backup runs). REQUIRES: on the writer thread (inside Store::Exclusive).
Status ZeroFreedSlots(Vault::Impl& v);
// While a backup copies the store, freed slots are not zeroed (the copy's snapshot may still
// reference them); the pause is recorded in LMDB so other processes honour it too.
Status PauseSlotZeroing(Vault::Impl& v, bool pause);

}  // namespace vault
