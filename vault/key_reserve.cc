// Fresh DEKs reserved in synced key slots ahead of need (key_reserve.h).
#include "vault/key_reserve.h"

#include "crypto/primitives.h"
#include "vault/rows.h"

namespace vault {

std::optional<KeyReserve::Entry> KeyReserve::Take(std::uint64_t hwm) {
  if (slots_ == nullptr) return std::nullopt;
  while (!ready_.empty() && ready_.front().slot < hwm) ready_.pop_front();
  if (ready_.empty() || ready_.front().slot != hwm) return std::nullopt;
  if (ready_.front().epoch != keyring_.current_epoch()) {
    ready_.clear();  // an epoch began: every reserved key is wrapped under the old one
    return std::nullopt;
  }
  Entry e = std::move(ready_.front());
  ready_.pop_front();
  if (!slots_->Holds(e.slot, e.bytes)) {
    // Another process wrote there (or cut the file short on open): the rest is suspect too.
    ready_.clear();
    return std::nullopt;
  }
  return e;
}

Status KeyReserve::Refill(std::uint64_t hwm) {
  if (slots_ == nullptr) return Status::Ok();
  if (ready_.size() + pending_.size() >= kLow) return Status::Ok();
  std::uint64_t next = hwm;
  if (!pending_.empty()) {
    next = std::max(next, pending_.back().slot + 1);
  } else if (!ready_.empty()) {
    next = std::max(next, ready_.back().slot + 1);
  }
  for (std::size_t i = 0; i < kBatch; ++i) {
    Entry e;
    e.slot = next + i;
    e.id = crypto::RandomArray<16>();
    e.dek = crypto::SecretBytes::Random(crypto::kKeyBytes);
    const auto wrapped = keyring_.WrapDek(e.dek, e.id, &e.epoch);
    e.bytes = EncodeSlot(e.epoch, wrapped);
    VAULT_RETURN_IF_ERROR(slots_->Write(e.slot, e.bytes));
    pending_.push_back(std::move(e));
  }
  return Status::Ok();
}

void KeyReserve::Synced() {
  for (auto& e : pending_) ready_.push_back(std::move(e));
  pending_.clear();
}

}  // namespace vault
