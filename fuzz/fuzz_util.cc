// Scratch directories for fuzz targets that need files.
#include "fuzz/fuzz_util.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <vector>

namespace vault::fuzz {
namespace {

std::vector<std::string>& Dirs() {
  static auto* dirs = new std::vector<std::string>();  // outlives every static destructor
  return *dirs;
}

void RemoveDirs() {
  for (const std::string& d : Dirs()) {
    std::error_code ec;
    std::filesystem::remove_all(d, ec);
  }
}

}  // namespace

std::string ScratchDir(const std::string& tag) {
  static std::once_flag once;
  std::call_once(once, [] { std::atexit(RemoveDirs); });
  std::string base = "/dev/shm";
  if (::access(base.c_str(), W_OK) != 0) base = std::filesystem::temp_directory_path().string();
  std::string tmpl = base + "/vault-fuzz-" + tag + "-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  Dirs().push_back(tmpl);
  return tmpl;
}

}  // namespace vault::fuzz
