#include "runtime/cookie_signer.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

#include "core/random.hpp"

namespace outboard::runtime {

CookieSigner::CookieSigner(std::vector<std::string> keys) : keys_(std::move(keys)) {
  if (keys_.empty()) throw std::invalid_argument("at least one session signing key is needed");
  for (auto const& k : keys_) {
    if (k.size() < kMinKeyBytes) {
      throw std::invalid_argument("a session signing key must be at least 32 bytes");
    }
  }
}

std::string CookieSigner::mac(std::string const& key, std::string_view id) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<unsigned char const*>(id.data()), id.size(), out, &len);
  return core::base64url_encode(std::string_view(reinterpret_cast<char*>(out), len));
}

std::string CookieSigner::sign(std::string_view id) const {
  std::string out(id);
  out += '.';
  out += mac(keys_.front(), id);
  return out;
}

std::optional<std::string> CookieSigner::verify(std::string_view value) const {
  auto dot = value.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return std::nullopt;
  std::string_view id = value.substr(0, dot);
  std::string_view given = value.substr(dot + 1);
  for (auto const& key : keys_) {
    if (core::constant_time_equal(mac(key, id), given)) return std::string(id);
  }
  return std::nullopt;
}

std::optional<std::string> CookieSigner::decode_key(std::string_view text) {
  std::string raw;
  if (text.size() >= 2 * kMinKeyBytes && core::hex_decode(text, raw)) return raw;
  if (core::base64url_decode(text, raw) && raw.size() >= kMinKeyBytes) return raw;
  return std::nullopt;
}

}  // namespace outboard::runtime
