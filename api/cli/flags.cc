// A small strict flag parser: unknown flags and missing values are usage errors.
#include "api/cli/flags.h"

#include <charconv>

namespace vault::cli {

std::optional<Flags> Flags::Parse(const std::vector<std::string>& args,
                                  const std::vector<FlagSpec>& specs, std::size_t max_positionals,
                                  std::string* error) {
  Flags flags;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 2 || arg.compare(0, 2, "--") != 0) {
      if (flags.positionals_.size() >= max_positionals) {
        *error = "unexpected argument '" + arg + "'";
        return std::nullopt;
      }
      flags.positionals_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name.resize(eq);
    }
    const FlagSpec* spec = nullptr;
    for (const FlagSpec& s : specs) {
      if (s.name == name) spec = &s;
    }
    if (spec == nullptr) {
      *error = "unknown flag --" + name;
      return std::nullopt;
    }
    if (spec->value.empty()) {
      if (inline_value) {
        *error = "flag --" + name + " takes no value";
        return std::nullopt;
      }
      flags.values_[name] = "true";
      continue;
    }
    if (inline_value) {
      flags.values_[name] = *inline_value;
    } else if (i + 1 < args.size()) {
      flags.values_[name] = args[++i];
    } else {
      *error = "flag --" + name + " needs a value (" + spec->value + ")";
      return std::nullopt;
    }
  }
  return flags;
}

std::string Flags::Get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

void Flags::SetIfAbsent(const std::string& name, const std::string& value, Source source) {
  if (values_.emplace(name, value).second) sources_[name] = source;
}

Flags::Source Flags::SourceOf(const std::string& name) const {
  auto it = sources_.find(name);
  return it == sources_.end() ? Source::kFlag : it->second;
}

std::optional<unsigned long long> ParseUnsigned(const std::string& text, unsigned long long max) {
  unsigned long long v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v > max) {
    return std::nullopt;
  }
  return v;
}

}  // namespace vault::cli
