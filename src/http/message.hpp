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

}  // namespace outboard::http
