// A throw-away SoftHSM2 token for tests: its own softhsm2.conf and token directory in a temp
// dir (SOFTHSM2_CONF), initialised with softhsm2-util, and a 0600 PIN file.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace vault::testing {

class SoftHsmToken {
 public:
  static constexpr const char* kLabel = "lethe";
  static constexpr const char* kPin = "4711";

  // The SoftHSM2 module Debian installs, or "" when softhsm2 is not installed.
  static std::string Module() {
    for (const char* p :
         {"/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"}) {
      if (::access(p, R_OK) == 0 && ::access("/usr/bin/softhsm2-util", X_OK) == 0) return p;
    }
    return "";
  }

  // Sets SOFTHSM2_CONF for this process (and the processes it starts) and makes the token.
  // A module reads its configuration once per process, so a process has one token: a later
  // Init reuses it (tests in one process then need distinct key labels). False if
  // softhsm2-util failed.
  bool Init(const std::string& dir) {
    static std::string shared_dir;
    const bool first = shared_dir.empty();
    if (first) shared_dir = dir;
    dir_ = shared_dir;
    conf_ = dir_ + "/softhsm2.conf";
    pin_file_ = dir_ + "/pin";
    if (!first) return true;
    std::filesystem::create_directories(dir_ + "/tokens");
    std::ofstream(conf_) << "directories.tokendir = " << dir_ << "/tokens\n"
                         << "objectstore.backend = file\nlog.level = ERROR\n";
    ::setenv("SOFTHSM2_CONF", conf_.c_str(), 1);
    std::ofstream(pin_file_) << kPin << "\n";
    ::chmod(pin_file_.c_str(), 0600);
    const std::string cmd = std::string("softhsm2-util --init-token --free --label ") + kLabel +
                            " --pin " + kPin + " --so-pin 8642 >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) {
      shared_dir.clear();
      return false;
    }
    return true;
  }

  std::string Spec(const std::string& key = "lethe-root") const {
    return "module=" + Module() + ";token=" + kLabel + ";key=" + key + ";pin-file=" + pin_file_;
  }
  const std::string& conf() const { return conf_; }
  const std::string& pin_file() const { return pin_file_; }
  std::string token_dir() const { return dir_ + "/tokens"; }

 private:
  std::string dir_, conf_, pin_file_;
};

}  // namespace vault::testing

// Skips the test when SoftHSM2 is not installed; else a fresh token in dir.
#define VAULT_SOFTHSM_TOKEN(token, dir)                                     \
  ::vault::testing::SoftHsmToken token;                                     \
  if (::vault::testing::SoftHsmToken::Module().empty()) {                   \
    GTEST_SKIP() << "SoftHSM2 is not installed (apt-get install softhsm2)"; \
  }                                                                         \
  ASSERT_TRUE(token.Init(dir)) << "softhsm2-util --init-token failed"
