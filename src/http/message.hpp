#pragma once
// The HTTP message model: Beast's, with string bodies. Pure helpers, no sockets.
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace outboard::http {

namespace bhttp = boost::beast::http;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;
using Status = bhttp::status;

// 200-style JSON response; the body is serialized here.
Response json_response(Status status, nlohmann::json const& body);

// The one error shape every outboard service answers: {"error": CODE, "detail": TEXT}.
// `error` is a short machine-readable code, `detail` a sentence for a person.
Response json_error(Status status, std::string_view error, std::string_view detail);

// A request's head as it would arrive on the wire, with extra header lines (each "Name: value")
// added after its own; the body is left out (what a WebSocket upgrade is handed on with).
std::string request_head_text(Request const& request, std::string_view extra_fields = {});

// A message header as Beast's serializer writes it: the start line (the message's own version),
// the fields as they are, the blank line. The gateway sends a relayed message's header so.
std::string header_text(bhttp::request_header<> const& header);
std::string header_text(bhttp::response_header<> const& header);

// A response's status line and header fields as Beast's serializer writes them ("HTTP/1.1 200 OK",
// its fields as they are, the blank line): a response whose body is not chunked goes out as this
// text and its body, in one gather write, without Beast's serializer (io::async_write_response).
std::string response_head_text(Response const& response);

}  // namespace outboard::http
