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

namespace {

// "HTTP/1.1" and the like, as Beast writes a version: its two digits.
void append_version(std::string& text, unsigned version) {
  char const bytes[] = {'H', 'T', 'T', 'P', '/', static_cast<char>('0' + version / 10 % 10), '.',
                        static_cast<char>('0' + version % 10)};
  text.append(bytes, sizeof bytes);
}

void append_fields(std::string& text, bhttp::fields const& fields) {
  for (auto const& field : fields) text.append(field.name_string()).append(": ").append(field.value()).append("\r\n");
  text.append("\r\n");
}

}  // namespace

std::string header_text(bhttp::request_header<> const& header) {
  std::string text;
  text.reserve(256);
  text.append(header.method_string()).append(" ").append(header.target()).append(" ");
  append_version(text, header.version());
  text.append("\r\n");
  append_fields(text, header);
  return text;
}

std::string header_text(bhttp::response_header<> const& header) {
  std::string text;
  text.reserve(256);
  append_version(text, header.version());
  unsigned const status = header.result_int();
  char const code[] = {' ', static_cast<char>('0' + status / 100 % 10), static_cast<char>('0' + status / 10 % 10),
                       static_cast<char>('0' + status % 10), ' '};
  text.append(code, sizeof code).append(header.reason()).append("\r\n");
  append_fields(text, header);
  return text;
}

std::string response_head_text(Response const& response) { return header_text(response.base()); }

}  // namespace outboard::http
