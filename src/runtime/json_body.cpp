#include "runtime/json_body.hpp"

#include "http/json_text.hpp"

namespace outboard::runtime {

core::Result<nlohmann::json> parse_json_object(http::Request const& request) {
  auto type = request[http::bhttp::field::content_type];
  if (!type.empty() && !type.starts_with("application/json")) {
    return core::make_error(core::Errc::invalid, "the body must be application/json");
  }
  auto body = nlohmann::json::parse(request.body(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return core::make_error(core::Errc::invalid, "the body is not valid JSON");
  if (!body.is_object()) return core::make_error(core::Errc::invalid, "the body must be a JSON object");
  return core::Result<nlohmann::json>(boost::system::in_place_value, std::move(body));
}

core::Result<std::string> require_string(nlohmann::json const& obj, std::string const& name,
                                         std::size_t max_length) {
  auto it = obj.find(name);
  if (it == obj.end()) return core::make_error(core::Errc::invalid, "missing field '" + name + "'");
  if (!it->is_string()) return core::make_error(core::Errc::invalid, "field '" + name + "' must be a string");
  auto const& s = it->get_ref<std::string const&>();
  if (s.empty()) return core::make_error(core::Errc::invalid, "field '" + name + "' must not be empty");
  if (s.size() > max_length) {
    return core::make_error(core::Errc::invalid,
                            "field '" + name + "' is longer than " + std::to_string(max_length) + " characters");
  }
  return s;
}

std::string json_quote(std::string_view text) { return http::json_quote(text); }

}  // namespace outboard::runtime
