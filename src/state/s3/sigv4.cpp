#include "state/s3/sigv4.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <ctime>

#include "core/random.hpp"

namespace outboard::state::s3 {
namespace {

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<unsigned char const*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return out;
}

// Header values are trimmed and inner runs of spaces folded to one, as SigV4 requires.
std::string fold_spaces(std::string_view value) {
  std::string out;
  bool in_space = false;
  for (char c : value) {
    bool space = c == ' ' || c == '\t';
    if (space && !out.empty()) in_space = true;
    if (space) continue;
    if (in_space) out += ' ';
    in_space = false;
    out += c;
  }
  return out;
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

Pairs canonical_headers_of(SignableRequest const& request) {
  Pairs headers;
  for (auto const& [name, value] : request.headers) headers.emplace_back(lower(name), fold_spaces(value));
  std::sort(headers.begin(), headers.end());
  return headers;
}

std::string signed_headers_of(Pairs const& headers) {
  std::string out;
  for (auto const& header : headers) out += (out.empty() ? "" : ";") + header.first;
  return out;
}

std::string credential_scope(SigningScope const& scope) {
  return scope.amz_date.substr(0, 8) + "/" + scope.region + "/" + scope.service + "/aws4_request";
}

}  // namespace

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[32];
  unsigned len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr);
  return core::hex_encode(std::string_view(reinterpret_cast<char*>(digest), len));
}

std::string uri_encode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += char(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string amz_date_of(long long unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char text[17];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &utc);
  return text;
}

std::string canonical_request(SignableRequest const& request) {
  Pairs query;
  for (auto const& [name, value] : request.query) query.emplace_back(uri_encode(name, false), uri_encode(value, false));
  std::sort(query.begin(), query.end());
  std::string query_text;
  for (auto const& [name, value] : query) query_text += (query_text.empty() ? "" : "&") + name + "=" + value;

  auto headers = canonical_headers_of(request);
  std::string header_text;
  for (auto const& [name, value] : headers) header_text += name + ":" + value + "\n";

  return request.method + "\n" + uri_encode(request.path, true) + "\n" + query_text + "\n" + header_text + "\n" +
         signed_headers_of(headers) + "\n" + request.payload_sha256;
}

std::string string_to_sign(SignableRequest const& request, SigningScope const& scope) {
  return "AWS4-HMAC-SHA256\n" + scope.amz_date + "\n" + credential_scope(scope) + "\n" +
         sha256_hex(canonical_request(request));
}

std::string authorization_header(SignableRequest const& request, SigningScope const& scope,
                                 SigningKeys const& keys) {
  auto key = hmac_sha256("AWS4" + keys.secret, scope.amz_date.substr(0, 8));
  key = hmac_sha256(key, scope.region);
  key = hmac_sha256(key, scope.service);
  key = hmac_sha256(key, "aws4_request");
  auto signature = core::hex_encode(hmac_sha256(key, string_to_sign(request, scope)));
  return "AWS4-HMAC-SHA256 Credential=" + keys.key_id + "/" + credential_scope(scope) +
         ", SignedHeaders=" + signed_headers_of(canonical_headers_of(request)) + ", Signature=" + signature;
}

}  // namespace outboard::state::s3
