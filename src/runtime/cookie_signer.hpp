#pragma once
// Signs session ids for cookies with HMAC-SHA256 so a client cannot forge or guess one.
// Keys rotate: the first key signs, every key verifies, so a new key can be put in front and
// the old one kept until the cookies it signed have expired.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace outboard::runtime {

class CookieSigner {
 public:
  // Raw key bytes, newest first; each at least kMinKeyBytes. Throws std::invalid_argument.
  explicit CookieSigner(std::vector<std::string> keys);

  static constexpr std::size_t kMinKeyBytes = 32;

  // "<id>.<base64url mac>"
  std::string sign(std::string_view id) const;
  // The id when the MAC matches one of the keys; nullopt for anything tampered or malformed.
  std::optional<std::string> verify(std::string_view cookie_value) const;

  // Parses a configured key: 64+ hex characters, or base64url of 32+ bytes. nullopt if neither.
  static std::optional<std::string> decode_key(std::string_view text);

 private:
  std::string mac(std::string const& key, std::string_view id) const;
  std::vector<std::string> keys_;
};

}  // namespace outboard::runtime
