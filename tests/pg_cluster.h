// A throw-away PostgreSQL 15 cluster for tests (scripts/pg-test-cluster.sh): one per test
// process, started on first use, stopped at exit; each test takes a fresh database of it.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <memory>
#include <string>

#ifndef LETHE_PG_CLUSTER_SCRIPT
#error "define LETHE_PG_CLUSTER_SCRIPT (the path of scripts/pg-test-cluster.sh)"
#endif

namespace vault::testing {

class PgCluster {
 public:
  // Why PostgreSQL tests cannot run here ("" when they can): the binaries are missing.
  static std::string Missing() {
    const char* bin = std::getenv("PG_BIN");
    const std::string initdb =
        std::string(bin != nullptr ? bin : "/usr/lib/postgresql/15/bin") + "/initdb";
    if (::access(initdb.c_str(), X_OK) == 0) return "";
    return "PostgreSQL 15 is not installed (" + initdb +
           "); scripts/install-deps.sh with LETHE_WITH_TEST_TOOLS=1 installs it";
  }
  // The process's cluster; null (and a message on stderr) if it cannot start.
  static PgCluster* Get() {
    static PgCluster* cluster = [] {
      auto* c = new PgCluster();
      if (!c->Start()) {
        delete c;
        return static_cast<PgCluster*>(nullptr);
      }
      std::atexit([] { Get()->Stop(); });
      return c;
    }();
    return cluster;
  }
  // A new, empty database's postgresql:// URI ("" on failure).
  std::string NewDatabase() {
    return Run("createdb " + dir_ + " db" + std::to_string(++databases_));
  }
  const std::string& dir() const { return dir_; }
  // The server dies at once (immediate shutdown) / starts again on the same data.
  bool Crash() { return !Run("crash " + dir_).empty(); }
  bool Restart() { return !Run("restart " + dir_).empty(); }

 private:
  static std::string Run(const std::string& args) {
    const std::string cmd = std::string(LETHE_PG_CLUSTER_SCRIPT) + " " + args;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) return "";
    std::string out;
    std::array<char, 512> buf{};
    while (std::fgets(buf.data(), buf.size(), p) != nullptr) out += buf.data();
    if (::pclose(p) != 0) return "";
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }
  bool Start() {
    std::string tmpl = "/tmp/lethe-pg-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) return false;
    dir_ = tmpl;
    if (Run("start " + dir_).empty()) {
      std::fprintf(stderr, "pg_cluster.h: cannot start PostgreSQL in %s\n", dir_.c_str());
      return false;
    }
    return true;
  }
  void Stop() { Run("stop " + dir_); }

  std::string dir_;
  int databases_ = 0;
};

}  // namespace vault::testing

// In a test: skips when PostgreSQL is missing, fails when it does not start; sets url.
#define LETHE_PG_DATABASE_OR_SKIP(url)                                                  \
  do {                                                                                  \
    if (const std::string why = ::vault::testing::PgCluster::Missing(); !why.empty()) { \
      GTEST_SKIP() << why;                                                              \
    }                                                                                   \
    auto* lethe_pg_cluster_ = ::vault::testing::PgCluster::Get();                       \
    ASSERT_NE(lethe_pg_cluster_, nullptr) << "PostgreSQL did not start";                \
    (url) = lethe_pg_cluster_->NewDatabase();                                           \
    ASSERT_FALSE((url).empty()) << "cannot create a PostgreSQL database";               \
  } while (0)
