// The `lethe` command line's entry point: finds the command, prints help and the version,
// parses flags and runs it. Errors are one line on stderr: "lethe: <what>; <how to fix>".
// Nothing personal is ever printed: only ids of tokens, keys and erasures, counts and paths.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "api/cli.h"
#include "api/cli/common.h"
#include "api/cli/config.h"

namespace vault::cli {
namespace {

std::vector<Command> Commands() {
  std::vector<Command> all;
  for (std::vector<Command> group :
       {InitCommands(), ServeCommands(), AdminCommands(), PolicyCommands(), ReceiptCommands(),
        ReportCommands(), RootCommands()}) {
    all.insert(all.end(), group.begin(), group.end());
  }
  return all;
}

// The commands whose name starts with prefix, one line each.
void ListCommands(std::ostream& out, const std::string& prefix) {
  for (const Command& c : Commands()) {
    if (c.name.rfind(prefix, 0) != 0) continue;
    std::string head = c.name + (c.args.empty() ? "" : " " + c.args);
    head.resize(std::max<std::size_t>(head.size() + 2, 20), ' ');
    out << "  " << head << c.summary << "\n";
  }
}

void PrintTopHelp(std::ostream& out) {
  out << "lethe: an encrypted personal-data vault that erases by destroying keys\n\n"
      << "Usage: vault <command> [flags]   (vault <command> --help for its flags)\n\n"
      << "Commands:\n";
  ListCommands(out, "");
  out << "\nEnvironment:\n  " << kRootKeyEnv
      << "  root key as 64 hex characters, used when --root-key-file is not given\n"
      << "  " << kRootKeyEnv << "_NEXT  the new root key for `lethe root rotate` (with "
      << kRootKeyEnv << ")\n"
      << "\nExit codes:\n"
      << "  0  success\n"
      << "  1  runtime failure (I/O, address in use, engine error)\n"
      << "  2  usage error (unknown command or flag, missing or malformed value)\n"
      << "  3  invalid data or policy (policy file errors, corrupt store, broken audit chain)\n"
      << "  4  `report`: something is overdue (a shred, an erasure deadline, an epoch KEK)\n"
      << "\n`lethe --version` (or --version after any command) prints the version.\n";
}

// "lethe token --help": the group's commands.
void PrintGroupHelp(const std::string& group) {
  std::cout << "Usage: vault " << group << " <subcommand> [flags]   (vault " << group
            << " <subcommand> --help for its flags)\n\n"
            << "Commands:\n";
  ListCommands(std::cout, group + " ");
}

void PrintCommandHelp(const Command& c) {
  std::cout << "Usage: vault " << c.name << (c.args.empty() ? "" : " " + c.args) << " [flags]\n\n"
            << c.summary << "\n\nFlags:\n";
  for (const FlagSpec& f : c.flags) {
    std::string head = "--" + f.name + (f.value.empty() ? "" : " " + f.value);
    head.resize(std::max<std::size_t>(head.size() + 2, 28), ' ');
    std::cout << "  " << head << f.help << "\n";
  }
}

int PrintVersion() {
  std::cout << VersionLine() << "\n";
  return kExitOk;
}

bool Contains(const std::vector<std::string>& args, std::initializer_list<const char*> any) {
  return std::any_of(args.begin(), args.end(), [&](const std::string& a) {
    return std::any_of(any.begin(), any.end(), [&](const char* want) { return a == want; });
  });
}

// The command named by the first one or two words of args; *words says how many.
const Command* FindCommand(const std::vector<Command>& commands,
                           const std::vector<std::string>& args, std::size_t* words) {
  const Command* match = nullptr;
  for (const Command& c : commands) {
    const std::size_t space = c.name.find(' ');
    if (space == std::string::npos) {
      if (args[0] == c.name) {
        match = &c;
        *words = 1;
      }
    } else if (args.size() >= 2 && args[0] == c.name.substr(0, space) &&
               args[1] == c.name.substr(space + 1)) {
      match = &c;
      *words = 2;
    }
  }
  return match;
}

// args[0] is not a command: a group ("token") or nothing known.
int RunNoCommand(const std::vector<Command>& commands, const std::vector<std::string>& args) {
  for (const Command& c : commands) {
    if (c.name.rfind(args[0] + " ", 0) != 0) continue;
    if (Contains(args, {"--help", "-h"})) {
      PrintGroupHelp(args[0]);
      return kExitOk;
    }
    if (Contains(args, {"--version"})) return PrintVersion();
    return Fail(kExitUsage, "'" + args[0] + "' needs a subcommand",
                "run `lethe " + c.name + " --help` or `lethe --help`");
  }
  return Fail(kExitUsage, "unknown command '" + args[0] + "'", "run `lethe --help`");
}

int RunCommand(const Command& command, const std::vector<std::string>& rest) {
  if (Contains(rest, {"--help", "-h"})) {
    PrintCommandHelp(command);
    return kExitOk;
  }
  if (Contains(rest, {"--version"})) return PrintVersion();
  std::string error;
  std::optional<Flags> flags = Flags::Parse(rest, command.flags, command.max_positionals, &error);
  if (!flags) return UsageError(command, error);
  const bool configurable = std::any_of(command.flags.begin(), command.flags.end(),
                                        [](const FlagSpec& f) { return f.name == "config"; });
  if (configurable) {
    const Status s = ApplyConfigAndEnvironment(command.flags, &*flags);
    if (!s.ok()) return UsageError(command, s.message());
  }
  try {
    return command.run(command, *flags);
  } catch (const std::exception&) {
    return Fail(kExitFailure, "unexpected internal error", "report this with the command used");
  }
}

}  // namespace

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    PrintTopHelp(std::cerr);
    return kExitUsage;
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    PrintTopHelp(std::cout);
    return kExitOk;
  }
  if (args[0] == "--version") return PrintVersion();
  const std::vector<Command> commands = Commands();
  std::size_t words = 0;
  const Command* match = FindCommand(commands, args, &words);
  if (match == nullptr) return RunNoCommand(commands, args);
  return RunCommand(*match, std::vector<std::string>(
                                args.begin() + static_cast<std::ptrdiff_t>(words), args.end()));
}

}  // namespace vault::cli
