// The config file and LETHE_* environment under the flags (config.h).
#include "api/cli/config.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace vault::cli {
namespace {

bool NeverConfigured(const std::string& name) {
  return name == "help" || name == "version" || name == "config" || name == "print-config";
}

const FlagSpec* FindSpec(const std::vector<FlagSpec>& specs, const std::string& name) {
  for (const FlagSpec& s : specs) {
    if (s.name == name && !NeverConfigured(name)) return &s;
  }
  return nullptr;
}

Status FileError(const std::string& path, const YAML::Mark& mark, const std::string& what) {
  return InvalidArgument("config " + path + " line " + std::to_string(mark.line + 1) + ": " + what);
}

// One setting of the file, checked against the command's flags.
Status ReadSetting(const std::string& path, const std::vector<FlagSpec>& specs,
                   const YAML::Node& key, const YAML::Node& value, Flags* flags) {
  const std::string name = key.Scalar();
  const FlagSpec* spec = FindSpec(specs, name);
  if (spec == nullptr) return FileError(path, key.Mark(), "'" + name + "' is not a setting here");
  if (!value.IsScalar()) return FileError(path, value.Mark(), name + " must be a single value");
  const std::string text = value.Scalar();
  if (spec->value.empty()) {  // a boolean flag
    if (text != "true" && text != "false") {
      return FileError(path, value.Mark(), name + " must be true or false");
    }
    if (text == "true") flags->SetIfAbsent(name, "true", Flags::Source::kConfigFile);
    return Status::Ok();
  }
  flags->SetIfAbsent(name, text, Flags::Source::kConfigFile);
  return Status::Ok();
}

Status ApplyFile(const std::string& path, const std::vector<FlagSpec>& specs, Flags* flags) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument("cannot read config file " + path);
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().size() > (1 << 20)) return InvalidArgument("config file is larger than 1 MiB");
  try {
    const YAML::Node root = YAML::Load(text.str());
    if (root.IsNull()) return Status::Ok();  // empty or only comments
    if (!root.IsMap()) return FileError(path, root.Mark(), "a config file is a mapping");
    for (const auto& kv : root) {
      VAULT_RETURN_IF_ERROR(ReadSetting(path, specs, kv.first, kv.second, flags));
    }
    return Status::Ok();
  } catch (const YAML::Exception& e) {
    return FileError(path, e.mark, e.msg);
  }
}

}  // namespace

std::string EnvNameFor(const std::string& flag) {
  std::string env = "LETHE_";
  for (const char c : flag) {
    env.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return env;
}

Status ApplyEnvironment(const std::vector<FlagSpec>& specs, Flags* flags) {
  for (const FlagSpec& s : specs) {
    if (NeverConfigured(s.name)) continue;
    const char* v = std::getenv(EnvNameFor(s.name).c_str());
    if (v == nullptr) continue;
    if (s.value.empty() && std::string(v) != "true" && std::string(v) != "false") {
      return InvalidArgument(EnvNameFor(s.name) + " must be true or false");
    }
    if (!s.value.empty() || std::string(v) == "true") {
      flags->SetIfAbsent(s.name, v, Flags::Source::kEnvironment);
    }
  }
  return Status::Ok();
}

Status ApplyConfigAndEnvironment(const std::vector<FlagSpec>& specs, Flags* flags) {
  VAULT_RETURN_IF_ERROR(ApplyEnvironment(specs, flags));
  std::string path = flags->Get("config");
  if (path.empty()) {
    const char* env = std::getenv(kConfigEnv);
    path = env == nullptr ? "" : env;
  }
  return path.empty() ? Status::Ok() : ApplyFile(path, specs, flags);
}

}  // namespace vault::cli
