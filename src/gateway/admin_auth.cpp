#include "gateway/admin_auth.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>

#include "core/random.hpp"
#include "core/secret_file.hpp"

namespace outboard::gateway {
namespace {

using field = http::bhttp::field;

bool iequals_prefix(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  return std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
}

// application/json, with or without parameters (charset=utf-8), in any letter case.
bool is_json_media_type(std::string_view content_type) {
  auto type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  return type.size() == 16 && iequals_prefix(type, "application/json");
}

}  // namespace

std::string load_or_create_admin_token(std::filesystem::path const& path, bool& created) {
  // 32 random bytes: guessing is out of the question, and hex survives any editor or shell.
  created = core::create_secret_file(path, core::hex_encode(core::random_bytes(32)));
  return core::read_secret_file(path);
}

bool admin_changes_state(http::bhttp::verb method) {
  return method != http::bhttp::verb::get && method != http::bhttp::verb::head;
}

std::optional<AdminRefusal> AdminAuth::check(http::Request const& request) const {
  if (request.find(field::origin) != request.end()) {
    return AdminRefusal{http::Status::forbidden, "cross_origin",
                        "the admin API refuses requests a browser sends on behalf of a web page (Origin header)"};
  }
  std::string_view target = request.target();
  bool health = request.method() == http::bhttp::verb::get && target.substr(0, target.find('?')) == "/healthz";
  if (!health && !token_matches(request[field::authorization])) {
    return AdminRefusal{http::Status::unauthorized, "unauthorized",
                        "send Authorization: Bearer <token>, the token in the gateway's admin token file"};
  }
  if (admin_changes_state(request.method()) && !is_json_media_type(request[field::content_type])) {
    return AdminRefusal{http::Status::unsupported_media_type, "unsupported_media_type",
                        "requests that change the gateway must send Content-Type: application/json"};
  }
  return std::nullopt;
}

bool AdminAuth::token_matches(std::string_view authorization) const {
  constexpr std::string_view scheme = "Bearer ";
  if (!iequals_prefix(authorization, scheme)) return false;
  auto given = authorization.substr(scheme.size());
  while (!given.empty() && given.front() == ' ') given.remove_prefix(1);
  while (!given.empty() && given.back() == ' ') given.remove_suffix(1);
  // Constant time over the token's length, so a wrong guess tells nothing about how close it was.
  if (given.size() != token_.size()) return false;
  return CRYPTO_memcmp(given.data(), token_.data(), token_.size()) == 0;
}

}  // namespace outboard::gateway
