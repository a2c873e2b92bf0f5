// Command-line flags of the `vault` binary: "--name value", "--name=value", booleans.
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
  // Parses args against specs. On a usage error returns nullopt and sets *error.
  static std::optional<Flags> Parse(const std::vector<std::string>& args,
                                    const std::vector<FlagSpec>& specs, std::size_t max_positionals,
                                    std::string* error);

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::string Get(const std::string& name, const std::string& fallback = "") const;
  const std::vector<std::string>& positionals() const { return positionals_; }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positionals_;
};

// Parses a non-negative decimal integer no larger than max.
std::optional<unsigned long long> ParseUnsigned(const std::string& text, unsigned long long max);

}  // namespace vault::cli
