// Fuzz target: RFC 3339 times (request bodies) and policy durations, with round trips.
//
// Input: text, "<time>|<duration>" (either part may be junk). A time that parses formats back to an
// RFC 3339 string that parses to the same instant; a duration that parses prints back to itself and
// adds to times without overflow.
#include <cstdint>
#include <string>

#include "fuzz/fuzz_util.h"
#include "vault/clock.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = vault::fuzz::AsText({data, size});
  const std::size_t bar = input.find('|');
  const std::string_view text = input.substr(0, bar);
  const std::string_view duration = bar == std::string_view::npos ? input : input.substr(bar + 1);
  const auto t = vault::ParseRfc3339(text);
  if (t) {
    const std::string formatted = vault::FormatRfc3339(*t);
    const auto back = vault::ParseRfc3339(formatted);
    VAULT_FUZZ_CHECK(back && *back == *t);
  }
  const auto d = vault::Duration::Parse(duration);
  if (d) {
    const auto printed = vault::Duration::Parse(d->ToString());
    VAULT_FUZZ_CHECK(printed && printed->count == d->count && printed->unit == d->unit);
    // Policy durations are added to event times (billing: event_time + 7y).
    const vault::UnixSeconds base = t ? *t : 1795381680;
    const vault::UnixSeconds later = d->AddTo(base);
    VAULT_FUZZ_CHECK(later >= base);
  }
  return 0;
}
