// The test clock (test_clock.h).
#include "api/cli/test_clock.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace vault::cli {
namespace {

class FileClock final : public Clock {
 public:
  explicit FileClock(std::string path) : path_(std::move(path)) {}
  // The file's time; the last one read while the file is being rewritten or is unreadable.
  UnixSeconds Now() const override {
    std::ifstream in(path_);
    long long t = 0;
    if (in >> t && t > 0) {
      last_.store(t);
      return t;
    }
    return last_.load();
  }

 private:
  const std::string path_;
  mutable std::atomic<UnixSeconds> last_{0};
};

}  // namespace

std::shared_ptr<Clock> TestClockFromEnvironment() {
  const char* path = std::getenv(kTestClockEnv);
  if (path == nullptr || *path == '\0') return nullptr;
  std::fprintf(stderr, "lethe: warning: the time comes from the test clock in $%s\n",
               kTestClockEnv);
  return std::make_shared<FileClock>(path);
}

}  // namespace vault::cli
