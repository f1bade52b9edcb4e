#include "http/message.hpp"

#include <nlohmann/json.hpp>

namespace outboard::http {

Response json_response(Status status, nlohmann::json const& body) {
  Response res{status, 11};
  res.set(bhttp::field::content_type, "application/json");
  res.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  res.body() += '\n';
  res.prepare_payload();
  return res;
}

Response json_error(Status status, std::string_view error, std::string_view detail) {
  return json_response(status, nlohmann::json{{"error", error}, {"detail", detail}});
}

std::string request_head_text(Request const& request, std::string_view extra_fields) {
  std::string text;
  text.append(request.method_string()).append(" ").append(request.target()).append(" HTTP/1.1\r\n");
  for (auto const& field : request) text.append(field.name_string()).append(": ").append(field.value()).append("\r\n");
  if (!extra_fields.empty()) text.append(extra_fields).append("\r\n");
  return text + "\r\n";
}

}  // namespace outboard::http
