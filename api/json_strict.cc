// Duplicate-key and NUL-byte checks of request bodies (json_strict.h), on nlohmann's SAX
// interface so that no second document is built.
#include "api/json_strict.h"

#include <nlohmann/json.hpp>
#include <string>
#include <unordered_set>
#include <vector>

namespace vault::api {
namespace {

using nlohmann::json;

// Keeps the keys of every open object; stops at the first repeated one.
class DuplicateKeyFinder : public nlohmann::json_sax<json> {
 public:
  bool found() const { return found_; }

  bool start_object(std::size_t) override {
    open_.emplace_back();
    return true;
  }
  bool end_object() override {
    open_.pop_back();
    return true;
  }
  bool key(string_t& k) override {
    if (open_.empty() || open_.back().insert(k).second) return true;
    found_ = true;
    return false;
  }
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  std::vector<std::unordered_set<std::string>> open_;
  bool found_ = false;
};

}  // namespace

Status CheckStrictJson(std::string_view body) {
  if (body.find('\0') != std::string_view::npos) {
    return InvalidArgument("request body contains a NUL byte");
  }
  DuplicateKeyFinder finder;
  json::sax_parse(body.begin(), body.end(), &finder, json::input_format_t::json,
                  /*strict=*/true);
  if (finder.found()) return InvalidArgument("request body repeats a key in one object");
  return Status::Ok();
}

}  // namespace vault::api
