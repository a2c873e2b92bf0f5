// The bound on audit entries queued without waiting (AuditLog::AppendAsync): past it a reader
// waits for the writer, the writer thread itself never does, and no entry is lost.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <thread>

#include "test_util.h"
#include "vault/audit_checkpoints.h"
#include "vault/audit_log.h"
#include "vault/store.h"

namespace vault {
namespace {

using namespace std::chrono_literals;

// An audit log over an LMDB store, wired as the vault wires it (the tail's hooks).
struct AuditFixture {
  explicit AuditFixture(std::size_t limit) : dir(testing::MakeTempDir("auditqueue")) {
    StoreHooks hooks;
    hooks.begin = [this](Txn&) {
      audit->OnBegin();
      return Status::Ok();
    };
    hooks.pre_commit = [this](Txn& txn) { return audit->OnPreCommit(txn); };
    store = std::move(Store::Open(dir + "/store", 1ull << 26, true, std::move(hooks))).value();
    checkpoints = std::make_unique<AuditCheckpoints>(*store, signing, clock,
                                                     AuditCheckpoints::Settings{0, 0s});
    audit = std::make_unique<AuditLog>(*store, mac, clock, *policy, *checkpoints);
    audit->set_queue_limit(limit);
  }
  ~AuditFixture() {
    store.reset();  // drains the queue before the log goes
    std::filesystem::remove_all(dir);
  }
  void Read() { audit->AppendAsync(reader, "record.get", std::nullopt, "", Code::kOk); }
  std::size_t Committed() const {
    std::size_t n = 0;
    for (std::uint64_t after = 0;;) {
      auto page = audit->List(after, 1000);
      EXPECT_TRUE(page.ok());
      if (!page.ok() || page->empty()) return n;
      n += page->size();
      after = page->back().seq;
    }
  }

  std::string dir;
  crypto::SecretBytes signing = crypto::SecretBytes::Random(32);
  crypto::SecretBytes mac_key = crypto::SecretBytes::Random(32);
  crypto::HmacSha256Key mac{mac_key};
  ManualClock clock{1'700'000'000};
  StatusOr<Policy> policy = Policy::Parse(Policy::DefaultYaml());
  Actor reader{"app", Role::kApp, {}};
  std::unique_ptr<Store> store;
  std::unique_ptr<AuditCheckpoints> checkpoints;
  std::unique_ptr<AuditLog> audit;
};

TEST(AuditQueueTest, ReadersWaitAtTheBoundAndTheWriterNeverDoes) {
  constexpr std::size_t kLimit = 50;
  AuditFixture f(kLimit);
  ASSERT_TRUE(f.policy.ok());
  // Hold the writer thread (a slow disk or database): nothing queued is committed. While it
  // is held, the writer itself queues more than the bound, which must not wait for itself.
  std::promise<void> held, release;
  std::shared_future<void> released = release.get_future().share();
  auto writer = std::async(std::launch::async, [&] {
    return f.store->Exclusive([&] {
      for (std::size_t i = 0; i < 2 * kLimit; ++i) f.Read();
      held.set_value();
      released.wait();
      return Status::Ok();
    });
  });
  held.get_future().wait();
  EXPECT_EQ(f.audit->queued(), 2 * kLimit);

  // A reader past the bound waits until the writer has taken entries.
  std::atomic<bool> reader_done{false};
  std::thread reader([&] {
    f.Read();
    reader_done.store(true);
  });
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(reader_done.load()) << "a read queued its entry past the bound";
  EXPECT_EQ(f.audit->queued(), 2 * kLimit);

  release.set_value();
  ASSERT_TRUE(writer.get().ok());
  reader.join();
  EXPECT_TRUE(reader_done.load());
  // Every entry, the waiting reader's too, is committed; the queue is empty again.
  EXPECT_EQ(f.Committed(), 2 * kLimit + 1);
  EXPECT_EQ(f.audit->queued(), 0u);
}

TEST(AuditQueueTest, ManyReadersPastTheBoundLoseNoEntry) {
  AuditFixture f(16);
  ASSERT_TRUE(f.policy.ok());
  constexpr int kThreads = 4, kEach = 50;
  std::vector<std::thread> readers;
  for (int t = 0; t < kThreads; ++t) {
    readers.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) f.Read();
    });
  }
  for (auto& r : readers) r.join();
  EXPECT_LE(f.audit->queued(), 16u);
  EXPECT_EQ(f.Committed(), std::size_t{kThreads} * kEach);
}

}  // namespace
}  // namespace vault
