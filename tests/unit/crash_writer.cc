// Test helper: writes records from several threads and prints each acknowledged one, until
// killed. Used by crash_test to SIGKILL a writer mid-load, and by commit_path_test with a
// fifth argument, new-subjects: record i then goes to a new subject n<i>; with rotating, the
// same while a fifth thread rotates epochs in small steps (rotation_batch_test).
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "vault/vault.h"

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(
        stderr, "usage: vault_crash_writer DATA_DIR ROOT_KEY_FILE START [new-subjects|rotating]\n");
    return 2;
  }
  vault::Options o;
  o.data_dir = argv[1];
  o.root_key = vault::RootKeyFromFile(argv[2]);
  o.create_if_missing = true;
  o.map_size_bytes = 1ull << 30;
  const bool rotating = argc == 5 && std::string(argv[4]) == "rotating";
  // Steps of 300 keys: several per rotation, each big enough for the two-thread rewrap.
  if (rotating) o.rewrap_batch = 300;
  auto v = vault::Vault::Open(o);
  if (!v.ok()) {
    std::fprintf(stderr, "open: %s\n", v.status().ToString().c_str());
    return 1;
  }
  const long start = std::atol(argv[3]);
  const bool new_subjects = rotating || (argc == 5 && std::string(argv[4]) == "new-subjects");
  std::mutex out;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      vault::Actor actor{"crash", vault::Role::kAdmin};
      for (long i = start + t;; i += 4) {
        const std::string sid =
            new_subjects ? "n" + std::to_string(i) : "s" + std::to_string(i % 13);
        auto r = (*v)->PutRecord(actor, sid, "account", "r" + std::to_string(i), {{"i", i}});
        if (!r.ok()) {
          std::fprintf(stderr, "put: %s\n", r.status().ToString().c_str());
          std::_Exit(1);
        }
        std::lock_guard lock(out);
        std::printf("%ld\n", i);
        std::fflush(stdout);
      }
    });
  }
  if (rotating) {
    threads.emplace_back([&] {
      const vault::Actor actor{"crash", vault::Role::kAdmin};
      for (;;) {
        auto r = (*v)->RotateEpoch(actor);
        if (!r.ok()) {
          std::fprintf(stderr, "rotate: %s\n", r.status().ToString().c_str());
          std::_Exit(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
}
