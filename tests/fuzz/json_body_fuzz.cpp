// fuzz-link: outboard_http
// fuzz-sources: src/runtime/json_body.cpp
// JSON request bodies (runtime/json_body.hpp) read the way the shop reads them: an object, then
// "user"/"password" (sign-up, login) or "sku"/"qty" (cart lines).
// Input: "<Content-Type>\n<body>".
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "http/message.hpp"
#include "runtime/json_body.hpp"

namespace {

using outboard::fuzz::take_line;
using outboard::runtime::require_string;

// require_string's promise: the field itself, 1..max characters, or an error naming the field.
void check_string_field(nlohmann::json const& obj, std::string const& name, std::size_t max) {
  auto got = require_string(obj, name, max);
  auto it = obj.find(name);
  bool fits = it != obj.end() && it->is_string() && !it->get_ref<std::string const&>().empty() &&
              it->get_ref<std::string const&>().size() <= max;
  FUZZ_CHECK(bool(got) == fits);
  if (got) {
    FUZZ_CHECK(*got == it->get_ref<std::string const&>());
  } else {
    FUZZ_CHECK(got.error().context.find("'" + name + "'") != std::string::npos);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<char const*>(data), size);
  std::string_view content_type = take_line(rest);

  outboard::http::Request request{outboard::http::bhttp::verb::post, "/login", 11};
  // Beast would refuse a header value with CR, LF or NUL before a handler ever saw it.
  if (content_type.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) return 0;
  if (!content_type.empty()) request.set(outboard::http::bhttp::field::content_type, content_type);
  request.body() = std::string(rest);

  auto body = outboard::runtime::parse_json_object(request);
  // As stored: Beast trims blanks around a value, as its parser does for a received header.
  auto stored_type = request[outboard::http::bhttp::field::content_type];
  if (!stored_type.empty() && !stored_type.starts_with("application/json")) {
    FUZZ_CHECK(!body);  // the content type is checked before the body is looked at
  }
  if (!body) {
    FUZZ_CHECK(!body.error().context.empty());
    return 0;
  }
  FUZZ_CHECK(body->is_object());
  check_string_field(*body, "user", 64);
  check_string_field(*body, "password", 1024);
  check_string_field(*body, "sku", 64);
  // The shop's qty test (shop/routes.cpp): an integer, compared as a double against its bounds
  // before it is read as int64; both reads must be defined for every integer JSON can hold.
  auto qty = body->find("qty");
  if (qty != body->end() && qty->is_number_integer()) {
    double as_double = qty->get<double>();
    if (as_double >= 1 && as_double <= 1000) FUZZ_CHECK(qty->get<std::int64_t>() >= 1);
  }
  return 0;
}
