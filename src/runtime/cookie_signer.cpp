#include "runtime/cookie_signer.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <functional>
#include <stdexcept>

#include "core/random.hpp"

namespace outboard::runtime {

void CookieSigner::FreeMac::operator()(EVP_MAC_CTX* ctx) const { EVP_MAC_CTX_free(ctx); }

CookieSigner::CookieSigner(std::vector<std::string> keys) {
  if (keys.empty()) throw std::invalid_argument("at least one session signing key is needed");
  for (auto const& k : keys) {
    if (k.size() < kMinKeyBytes) {
      throw std::invalid_argument("a session signing key must be at least 32 bytes");
    }
  }
  std::unique_ptr<EVP_MAC, decltype(&EVP_MAC_free)> hmac(EVP_MAC_fetch(nullptr, "HMAC", nullptr), &EVP_MAC_free);
  if (!hmac) throw std::runtime_error("OpenSSL has no HMAC");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
  for (auto const& k : keys) {
    MacContext ctx(EVP_MAC_CTX_new(hmac.get()));
    if (!ctx || EVP_MAC_init(ctx.get(), reinterpret_cast<unsigned char const*>(k.data()), k.size(), params) != 1) {
      throw std::runtime_error("OpenSSL could not set up HMAC-SHA256");
    }
    keyed_.push_back(std::move(ctx));
  }
}

std::string CookieSigner::mac(EVP_MAC_CTX& keyed, std::string_view id) const {
  // No key given: HMAC starts again from the pads of the key set in the constructor.
  unsigned char out[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  if (EVP_MAC_init(&keyed, nullptr, 0, nullptr) != 1 ||
      EVP_MAC_update(&keyed, reinterpret_cast<unsigned char const*>(id.data()), id.size()) != 1 ||
      EVP_MAC_final(&keyed, out, &len, sizeof out) != 1) {
    // Out of memory inside OpenSSL: an empty MAC, which never matches a cookie's (verify) and
    // signs nothing anyone could use.
    return std::string();
  }
  return core::base64url_encode(std::string_view(reinterpret_cast<char*>(out), len));
}

std::string CookieSigner::sign(std::string_view id) const {
  std::string out(id);
  out += '.';
  out += mac(*keyed_.front(), id);
  return out;
}

std::optional<std::string> CookieSigner::verify(std::string_view value) const {
  // Constant time, as the MAC's own comparison: a timing difference must not tell a client how
  // much of another session's cookie it has guessed.
  Verified& slot = verified_[std::hash<std::string_view>{}(value) % kVerifiedSlots];
  if (!slot.value.empty() && core::constant_time_equal(slot.value, value)) return slot.value.substr(0, slot.id_size);
  auto dot = value.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return std::nullopt;
  std::string_view id = value.substr(0, dot);
  std::string_view given = value.substr(dot + 1);
  for (auto const& key : keyed_) {
    std::string expected = mac(*key, id);
    if (!expected.empty() && core::constant_time_equal(expected, given)) {
      if (value.size() <= kMaxCachedValue) {
        slot.value.assign(value);
        slot.id_size = id.size();
      }
      return std::string(id);
    }
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
