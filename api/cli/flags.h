// Command-line flags of the `lethe` binary: "--name value", "--name=value", booleans.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vault::cli {

struct FlagSpec {
  std::string name;   // without the leading "--"
  std::string value;  // placeholder shown in help ("DIR"); empty for a boolean flag
  std::string help;
};

class Flags {
 public:
  // Where a value came from (`serve --print-config` shows it).
  enum class Source { kFlag, kEnvironment, kConfigFile };
  // Parses args against specs. On a usage error returns nullopt and sets *error.
  static std::optional<Flags> Parse(const std::vector<std::string>& args,
                                    const std::vector<FlagSpec>& specs, std::size_t max_positionals,
                                    std::string* error);

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  // Sets name unless a higher-precedence source already did (config.h).
  void SetIfAbsent(const std::string& name, const std::string& value, Source source);
  // REQUIRES: Has(name).
  Source SourceOf(const std::string& name) const;
  std::string Get(const std::string& name, const std::string& fallback = "") const;
  const std::vector<std::string>& positionals() const { return positionals_; }

 private:
  std::map<std::string, std::string> values_;
  std::map<std::string, Source> sources_;  // absent: kFlag
  std::vector<std::string> positionals_;
};

// Parses a non-negative decimal integer no larger than max.
std::optional<unsigned long long> ParseUnsigned(const std::string& text, unsigned long long max);

}  // namespace vault::cli
