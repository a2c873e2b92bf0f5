// The storage seam's contract (vault/store.h), the same tests over both backends (LMDB in a
// temp directory, PostgreSQL in a throw-away cluster), and what only a shared database
// needs: several Stores over one database, conflicts retried, connection loss as 503.
#include "vault/store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "tests/pg_cluster.h"
#include "vault/codec.h"
#include "vault/pg_conn.h"
#include "vault/store_pg.h"

namespace vault {
namespace {

namespace fs = std::filesystem;

enum class Backend { kLmdb, kPostgres };

class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres) {
      LETHE_PG_DATABASE_OR_SKIP(url_);
      auto b = OpenPgBackend(url_, /*create=*/true);
      ASSERT_TRUE(b.ok()) << b.status().ToString();
      auto s = Store::Open(std::move(b).value());
      ASSERT_TRUE(s.ok());
      store_ = std::move(s).value();
      return;
    }
    std::string tmpl = "/tmp/lethe-store-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto s = Store::Open(dir_ + "/store", 1ull << 30, true);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  void TearDown() override {
    store_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  // A second Store over the same database (PostgreSQL only).
  std::unique_ptr<Store> Another() {
    auto b = OpenPgBackend(url_, false);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return std::move(Store::Open(std::move(b).value())).value();
  }
  std::string Read(Table t, std::string_view k) {
    std::string out = "<absent>";
    EXPECT_TRUE(store_
                    ->Read([&](Txn& txn) {
                      if (auto v = txn.Get(t, k)) out = std::string(*v);
                      return Status::Ok();
                    })
                    .ok());
    return out;
  }

  std::string dir_, url_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreTest, PutGetDeleteAndViewsLastUntilTheTransactionEnds) {
  ASSERT_TRUE(store_
                  ->Write([](Txn& txn) {
                    VAULT_RETURN_IF_ERROR(txn.Put(Table::kMeta, "a", std::string("one\0x", 5)));
                    VAULT_RETURN_IF_ERROR(txn.Put(Table::kMeta, "b", "two"));
                    VAULT_RETURN_IF_ERROR(txn.Put(Table::kSubjects, "a", "other table"));
                    // An empty value from a default view (a null pointer) is empty, not absent.
                    VAULT_RETURN_IF_ERROR(txn.Put(Table::kMeta, "empty", std::string_view()));
                    return txn.Del(Table::kMeta, "never-there");
                  })
                  .ok());
  ASSERT_TRUE(store_
                  ->Read([](Txn& txn) {
                    auto a = txn.Get(Table::kMeta, "a");
                    auto b = txn.Get(Table::kMeta, "b");
                    auto c = txn.Get(Table::kMeta, "c");
                    EXPECT_TRUE(a && b);
                    EXPECT_FALSE(c);
                    EXPECT_EQ(*a, std::string("one\0x", 5));  // still valid after later Gets
                    EXPECT_EQ(*b, "two");
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(Read(Table::kSubjects, "a"), "other table");
  EXPECT_EQ(Read(Table::kMeta, "empty"), "");
  ASSERT_TRUE(store_->Write([](Txn& txn) { return txn.Del(Table::kMeta, "a"); }).ok());
  EXPECT_EQ(Read(Table::kMeta, "a"), "<absent>");
  EXPECT_EQ(Read(Table::kMeta, "b"), "two");
}

TEST_P(StoreTest, ScansGoInBytewiseKeyOrderAcrossPagesAndStopAtThePrefix) {
  // Keys with 0x00 and 0xff bytes and shared prefixes: the order is memcmp, shorter first.
  std::vector<std::string> keys = {std::string("p\0", 2),       "p", std::string("p\xff", 2),
                                   std::string("p\xff\xff", 3), "q", std::string("o\xff", 2)};
  for (int i = 0; i < 3000; ++i) keys.push_back("p/" + BigEndianKey(static_cast<std::uint64_t>(i)));
  ASSERT_TRUE(store_
                  ->Write([&](Txn& txn) {
                    for (const auto& k : keys)
                      VAULT_RETURN_IF_ERROR(txn.Put(Table::kRecords, k, k));
                    return Status::Ok();
                  })
                  .ok());
  std::vector<std::string> want;
  for (const auto& k : keys) {
    if (k.substr(0, 1) == "p") want.push_back(k);
  }
  std::sort(want.begin(), want.end());
  std::vector<std::string> got;
  ASSERT_TRUE(store_
                  ->Read([&](Txn& txn) {
                    EXPECT_EQ(txn.Count(Table::kRecords), keys.size());
                    return txn.ScanPrefix(Table::kRecords, "p", [&](auto k, auto v) {
                      EXPECT_EQ(k, v);
                      got.emplace_back(k);
                      return true;
                    });
                  })
                  .ok());
  EXPECT_EQ(got, want);
  got.clear();
  ASSERT_TRUE(store_
                  ->Read([&](Txn& txn) {
                    return txn.ScanFrom(Table::kRecords, std::string("p\xff", 2),
                                        [&](auto k, auto) {
                                          got.emplace_back(k);
                                          return got.size() < 2;  // stops
                                        });
                  })
                  .ok());
  EXPECT_EQ(got, (std::vector<std::string>{std::string("p\xff", 2), std::string("p\xff\xff", 3)}));
}

TEST_P(StoreTest, UpdateFromRewritesValuesItIsShown) {
  ASSERT_TRUE(store_
                  ->Write([](Txn& txn) {
                    for (int i = 0; i < 1500; ++i) {
                      VAULT_RETURN_IF_ERROR(txn.Put(
                          Table::kKeys, BigEndianKey(static_cast<std::uint64_t>(i)), "old"));
                    }
                    return Status::Ok();
                  })
                  .ok());
  ASSERT_TRUE(store_
                  ->Write([](Txn& txn) {
                    return txn.UpdateFrom(Table::kKeys, BigEndianKey(10), [](auto, auto v) {
                      Txn::Step step;
                      step.value = std::string(v) + "+new";
                      return StatusOr<Txn::Step>(step);
                    });
                  })
                  .ok());
  EXPECT_EQ(Read(Table::kKeys, BigEndianKey(9)), "old");
  EXPECT_EQ(Read(Table::kKeys, BigEndianKey(10)), "old+new");
  EXPECT_EQ(Read(Table::kKeys, BigEndianKey(1499)), "old+new");
}

TEST_P(StoreTest, AppendRefusesAKeyThatIsNotPastTheLastOne) {
  ASSERT_TRUE(store_
                  ->Write([](Txn& txn) {
                    VAULT_RETURN_IF_ERROR(txn.Append(Table::kAudit, BigEndianKey(1), "1"));
                    return txn.Append(Table::kAudit, BigEndianKey(2), "2");
                  })
                  .ok());
  const Status s =
      store_->Write([](Txn& txn) { return txn.Append(Table::kAudit, BigEndianKey(2), "x"); });
  EXPECT_EQ(s.code(), Code::kDataLoss) << s.ToString();
  EXPECT_EQ(store_->Write([](Txn& txn) { return txn.Append(Table::kAudit, BigEndianKey(1), "x"); })
                .code(),
            Code::kDataLoss);
  EXPECT_EQ(Read(Table::kAudit, BigEndianKey(2)), "2");
  EXPECT_EQ(Read(Table::kAudit, BigEndianKey(1)), "1");
}

TEST_P(StoreTest, AFailingWriteInABatchUndoesNoOtherWrite) {
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] {
      const Status s = store_->Write([i](Txn& txn) -> Status {
        VAULT_RETURN_IF_ERROR(txn.Put(Table::kMeta, "k" + std::to_string(i), "v"));
        if (i % 4 == 0) return InvalidArgument("refused");
        return Status::Ok();
      });
      if (!s.ok()) ++failed;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 4);
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(Read(Table::kMeta, "k" + std::to_string(i)), i % 4 == 0 ? "<absent>" : "v") << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values(Backend::kLmdb, Backend::kPostgres),
                         [](const auto& p) {
                           return p.param == Backend::kLmdb ? "Lmdb" : "Postgres";
                         });

// What only a database shared by several servers needs.
class SharedStoreTest : public StoreTest {};

// Read-modify-write of one counter through two Stores at once: every increment lands
// (serialization failures are retried), as the audit tail and every meta counter need.
TEST_P(SharedStoreTest, ConcurrentWritersOfTwoStoresLoseNoUpdate) {
  auto other = Another();
  constexpr int kPerThread = 40;
  auto bump = [](Store& s, std::atomic<int>* ok) {
    for (int i = 0; i < kPerThread; ++i) {
      const Status st = s.Write([](Txn& txn) -> Status {
        std::uint64_t n = 0;
        if (auto v = txn.Get(Table::kMeta, "n")) n = ReadBigEndian(*v);
        VAULT_RETURN_IF_ERROR(txn.Append(Table::kAudit, BigEndianKey(n + 1), "e"));
        return txn.Put(Table::kMeta, "n", BigEndianKey(n + 1));
      });
      if (st.ok()) ++*ok;
    }
  };
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back(bump, std::ref(*store_), &ok);
    threads.emplace_back(bump, std::ref(*other), &ok);
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4 * kPerThread);
  EXPECT_EQ(ReadBigEndian(Read(Table::kMeta, "n")), static_cast<std::uint64_t>(4 * kPerThread));
  // The sequence is linear: 1..n without a gap.
  std::uint64_t expect = 1;
  ASSERT_TRUE(other
                  ->Read([&](Txn& txn) {
                    return txn.ScanFrom(Table::kAudit, "", [&](auto k, auto) {
                      EXPECT_EQ(ReadBigEndian(k), expect++);
                      return true;
                    });
                  })
                  .ok());
  EXPECT_EQ(expect, static_cast<std::uint64_t>(4 * kPerThread + 1));
}

// A write through one Store is seen at once through the other (no cache).
TEST_P(SharedStoreTest, AWriteThroughOneStoreIsReadThroughTheOther) {
  auto other = Another();
  ASSERT_TRUE(store_->Write([](Txn& txn) { return txn.Put(Table::kTokens, "t", "1"); }).ok());
  std::string seen;
  ASSERT_TRUE(other
                  ->Read([&](Txn& txn) {
                    seen = std::string(txn.Get(Table::kTokens, "t").value_or("<absent>"));
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(seen, "1");
  ASSERT_TRUE(other->Write([](Txn& txn) { return txn.Del(Table::kTokens, "t"); }).ok());
  EXPECT_EQ(Read(Table::kTokens, "t"), "<absent>");
}

// The database drops every connection and refuses new ones: reads and writes fail as
// kUnavailable (503), never as "not found"; once it accepts connections again the Store
// reconnects by itself. (A connection dropped while the database is up is replaced at once.)
TEST_P(SharedStoreTest, AnUnreachableDatabaseIsUnavailableThenReconnects) {
  ASSERT_TRUE(store_->Write([](Txn& txn) { return txn.Put(Table::kMeta, "x", "1"); }).ok());
  EXPECT_EQ(Read(Table::kMeta, "x"), "1");  // a pooled read connection exists now
  const std::string db = url_.substr(url_.find(":///") + 4, url_.find('?') - url_.find(":///") - 4);
  auto admin = [&](const std::string& sql) {
    const std::string psql = "/usr/lib/postgresql/15/bin/psql -X -q -h " +
                             testing::PgCluster::Get()->dir() +
                             " -p 5432 -U postgres -d postgres -c \"" + sql + "\" >/dev/null";
    return std::system((::getuid() == 0 ? "runuser -u postgres -- " + psql : psql).c_str());
  };
  ASSERT_EQ(admin("ALTER DATABASE " + db + " ALLOW_CONNECTIONS false"), 0);
  ASSERT_EQ(
      admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + db + "'"),
      0);
  std::string seen = "<not called>";
  const Status lost = store_->Read([&](Txn& txn) {
    seen = std::string(txn.Get(Table::kMeta, "x").value_or("<absent>"));
    return Status::Ok();
  });
  EXPECT_EQ(lost.code(), Code::kUnavailable) << lost.ToString();
  const Status write = store_->Write([](Txn& txn) { return txn.Put(Table::kMeta, "y", "2"); });
  EXPECT_EQ(write.code(), Code::kUnavailable) << write.ToString();
  ASSERT_EQ(admin("ALTER DATABASE " + db + " ALLOW_CONNECTIONS true"), 0);
  EXPECT_EQ(Read(Table::kMeta, "x"), "1");  // reconnected
  EXPECT_TRUE(store_->Write([](Txn& txn) { return txn.Put(Table::kMeta, "y", "2"); }).ok());
  EXPECT_EQ(Read(Table::kMeta, "y"), "2");
}

// The database server crashes (immediate shutdown, as a failover drill kills a primary): the
// pooled connections' next use fails inside libpq, with no SQLSTATE. That is a lost
// connection, kUnavailable (503 with Retry-After), never an internal error (500); once the
// server is back the Store reconnects by itself.
TEST_P(SharedStoreTest, ACrashedDatabaseIsUnavailableThenReconnects) {
  ASSERT_TRUE(store_->Write([](Txn& txn) { return txn.Put(Table::kMeta, "x", "1"); }).ok());
  EXPECT_EQ(Read(Table::kMeta, "x"), "1");  // a pooled read connection exists now
  auto* cluster = testing::PgCluster::Get();
  ASSERT_TRUE(cluster->Crash());
  const Status lost = store_->Read([](Txn& txn) {
    (void)txn.Get(Table::kMeta, "x");
    return Status::Ok();
  });
  const Status write = store_->Write([](Txn& txn) { return txn.Put(Table::kMeta, "y", "2"); });
  ASSERT_TRUE(cluster->Restart());
  EXPECT_EQ(lost.code(), Code::kUnavailable) << lost.ToString();
  EXPECT_EQ(write.code(), Code::kUnavailable) << write.ToString();
  EXPECT_EQ(Read(Table::kMeta, "x"), "1");  // reconnected
  EXPECT_TRUE(store_->Write([](Txn& txn) { return txn.Put(Table::kMeta, "y", "2"); }).ok());
}

TEST_P(SharedStoreTest, OpeningADatabaseWithoutTheSchemaSaysToRunInit) {
  auto* cluster = testing::PgCluster::Get();
  const std::string empty = cluster->NewDatabase();
  auto b = OpenPgBackend(empty, false);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Code::kNotFound);
  EXPECT_NE(b.status().message().find("lethe init --store"), std::string::npos);
  EXPECT_TRUE(OpenPgBackend(empty, true).ok());
  EXPECT_TRUE(OpenPgBackend(empty, true).ok());  // init again: nothing to migrate
  EXPECT_TRUE(OpenPgBackend(empty, false).ok());
}

// The key range statements use the primary key's index even in the generic plan PostgreSQL
// switches a prepared statement to after five runs. at_or_after (every audit append) had a
// generic plan that scanned the whole table when no row matched: in scripts/bench-scaling.sh
// every write of the fleet stalled behind it once lethe_kv held about a million rows.
TEST_P(SharedStoreTest, KeyRangeStatementsUseTheIndexInTheirGenericPlan) {
  auto conn = pg::Conn::Open(url_);
  ASSERT_TRUE(conn.ok()) << conn.status().message();
  ASSERT_TRUE((*conn)->Prepare().ok());
  for (const char* sql : {"INSERT INTO lethe_kv SELECT 'bulk', int8send(g), '\\x00'::bytea "
                          "FROM generate_series(1, 20000) g",
                          "ANALYZE lethe_kv", "SET plan_cache_mode = force_generic_plan"}) {
    const pg::Failure done = (*conn)->Command(sql);
    ASSERT_TRUE(done.status.ok()) << sql << ": " << done.status.message();
  }
  pg::Failure f;
  for (const char* explain : {"EXPLAIN EXECUTE at_or_after('audit', '\\xff')",
                              "EXPLAIN EXECUTE scan('audit', '\\xff', 10)",
                              "EXPLAIN EXECUTE scan_bounded('audit', '\\x01', '\\xff', 10)",
                              "EXPLAIN EXECUTE get('audit', '\\xff')"}) {
    pg::Result plan = (*conn)->Query(explain, &f);
    ASSERT_TRUE(plan) << explain << ": " << f.status.message();
    std::string text;
    for (int i = 0; i < PQntuples(plan.get()); ++i) text += PQgetvalue(plan.get(), i, 0);
    EXPECT_EQ(text.find("Seq Scan"), std::string::npos) << explain << ": " << text;
    EXPECT_NE(text.find("lethe_kv_pkey"), std::string::npos) << explain << ": " << text;
  }
}

// A burst of reads shares a bounded pool of connections (each one a PostgreSQL backend
// process) instead of opening one per read: 48 concurrent reads never hold more than 16
// connections (before the pool was bounded, all 48 ran at once on 48 connections), and a
// read nested in a read does not wait for the pool it already holds a place in.
TEST_P(SharedStoreTest, ABurstOfReadsSharesABoundedPoolOfConnections) {
  std::atomic<int> inside{0}, most{0}, nested_ok{0};
  auto read = [&] {
    const Status st = store_->Read([&](Txn&) -> Status {
      const int now = ++inside;
      int seen = most.load();
      while (now > seen && !most.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
      const Status inner = store_->Read(
          [](Txn& t) { return t.Get(Table::kMeta, "absent") ? Internal("found") : Status::Ok(); });
      if (inner.ok()) ++nested_ok;
      --inside;
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 48; ++i) threads.emplace_back(read);
  for (auto& t : threads) t.join();
  EXPECT_EQ(nested_ok.load(), 48);
  EXPECT_GE(most.load(), 2);
  EXPECT_LE(most.load(), 16);
}

INSTANTIATE_TEST_SUITE_P(Postgres, SharedStoreTest, ::testing::Values(Backend::kPostgres),
                         [](const auto&) { return "Postgres"; });

TEST(StoreUrlTest, PasswordsAreRedacted) {
  EXPECT_EQ(RedactConninfo("postgresql://lethe:s3cret@db1,db2/lethe?sslmode=verify-full"),
            "postgresql://lethe:***@db1,db2/lethe?sslmode=verify-full");
  EXPECT_EQ(RedactConninfo("postgresql://db/lethe?user=u&password=s3cret&x=1"),
            "postgresql://db/lethe?user=u&password=***&x=1");
  EXPECT_EQ(RedactConninfo("postgresql://u@db/lethe"), "postgresql://u@db/lethe");
  EXPECT_TRUE(IsPostgresUrl("postgres://x"));
  EXPECT_FALSE(IsPostgresUrl("/var/lib/lethe"));
}

}  // namespace
}  // namespace vault
