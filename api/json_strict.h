// Strict JSON request bodies: what the parser itself lets through and the API refuses, namely
// duplicate object keys (nlohmann keeps the last) and NUL bytes (text after one was ignored).
#pragma once

#include <string_view>

#include "vault/status.h"

namespace vault::api {

// kInvalidArgument naming the problem (never the input) when body holds a NUL byte or an
// object with a repeated key, at any depth. Syntax errors are left to the body parser:
// REQUIRES (for a meaningful answer) a body the JSON parser accepts. The HTTP body step uses
// ParseJsonObject (json_codec.h), which applies the same checks within its own parse.
Status CheckStrictJson(std::string_view body);

}  // namespace vault::api
