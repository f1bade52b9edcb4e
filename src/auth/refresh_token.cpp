#include "auth/refresh_token.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

#include "core/random.hpp"
#include "core/secret_file.hpp"

namespace outboard::auth {
namespace {

// Domain separation: this key derives refresh successors and nothing else.
constexpr std::string_view kSuccessorLabel = "outboard refresh successor v1";

// base64url text that decodes to exactly `bytes` bytes and is the canonical encoding of them
// (no stray low bits), so one token has exactly one spelling.
std::optional<std::string> decode_exact(std::string_view text, std::size_t bytes) {
  std::string raw;
  if (!core::base64url_decode(text, raw) || raw.size() != bytes) return std::nullopt;
  if (core::base64url_encode(raw) != text) return std::nullopt;
  return raw;
}

}  // namespace

RefreshKey::RefreshKey(std::string raw) : raw_(std::move(raw)) {
  if (raw_.size() < kMinBytes) throw std::invalid_argument("a refresh key must be at least 32 bytes");
}

RefreshKey RefreshKey::from_file(std::filesystem::path const& path) {
  std::string text = core::read_secret_file(path);
  std::string raw;
  if (text.size() >= 2 * kMinBytes && core::hex_decode(text, raw)) return RefreshKey(std::move(raw));
  raw.clear();
  if (core::base64url_decode(text, raw) && raw.size() >= kMinBytes) return RefreshKey(std::move(raw));
  throw std::runtime_error(path.string() + ": not a refresh key (hex of 64+ digits or base64url of 32+ bytes)");
}

RefreshKey RefreshKey::generate() { return RefreshKey(core::random_bytes(kMinBytes)); }

std::string RefreshKey::mac(std::string_view message) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), raw_.data(), static_cast<int>(raw_.size()), reinterpret_cast<unsigned char const*>(message.data()),
       message.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

RefreshToken RefreshToken::first_of_new_family() {
  return RefreshToken{core::random_token(kFamilyBytes), core::random_bytes(kSecretBytes)};
}

std::optional<RefreshToken> RefreshToken::parse(std::string_view text) {
  auto dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string_view family = text.substr(0, dot);
  if (!decode_exact(family, kFamilyBytes)) return std::nullopt;
  auto secret = decode_exact(text.substr(dot + 1), kSecretBytes);
  if (!secret) return std::nullopt;
  return RefreshToken{std::string(family), std::move(*secret)};
}

std::string RefreshToken::text() const { return family + '.' + core::base64url_encode(secret); }

RefreshToken RefreshToken::successor(RefreshKey const& key) const {
  std::string message(kSuccessorLabel);
  message += '\0';
  message += family;
  message += '\0';
  message += secret;
  return RefreshToken{family, key.mac(message)};
}

std::string RefreshToken::digest() const {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(secret.data(), secret.size(), out, &len, EVP_sha256(), nullptr);
  return core::base64url_encode(std::string_view(reinterpret_cast<char*>(out), len));
}

std::string family_key(std::string_view family) { return "rtf:{" + std::string(family) + "}"; }

std::string token_key(std::string_view family, std::string_view digest) {
  return "rtt:{" + std::string(family) + "}:" + std::string(digest);
}

std::string user_families_key(std::string_view user) { return "rtu:{" + std::string(user) + "}"; }

}  // namespace outboard::auth
