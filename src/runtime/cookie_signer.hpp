#pragma once
// Signs session ids for cookies with HMAC-SHA256 so a client cannot forge or guess one.
// Keys rotate: the first key signs, every key verifies, so a new key can be put in front and
// the old one kept until the cookies it signed have expired.
// Not thread-safe: it reuses its HMAC contexts, so each worker thread makes its own (from the
// same keys); sign() and verify() are const for their callers, not for other threads.
#include <openssl/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace outboard::runtime {

class CookieSigner {
 public:
  // Raw key bytes, newest first; each at least kMinKeyBytes. Throws std::invalid_argument (and
  // std::runtime_error when OpenSSL cannot set up HMAC-SHA256).
  explicit CookieSigner(std::vector<std::string> keys);

  static constexpr std::size_t kMinKeyBytes = 32;

  // "<id>.<base64url mac>".
  std::string sign(std::string_view id) const;
  // The id when the MAC matches one of the keys; nullopt for anything tampered or malformed.
  // A value verified lately is recognised by its exact text (a table of kVerifiedSlots entries,
  // compared in constant time) without computing its MAC again: the same session's cookie comes
  // back on every request, and the MAC was a tenth of a GET /me's instructions.
  std::optional<std::string> verify(std::string_view cookie_value) const;

  static constexpr std::size_t kVerifiedSlots = 1024;
  static constexpr std::size_t kMaxCachedValue = 256;  // longer values are verified every time

  // Parses a configured key: 64+ hex characters, or base64url of 32+ bytes. nullopt if neither.
  static std::optional<std::string> decode_key(std::string_view text);

 private:
  struct FreeMac {
    void operator()(EVP_MAC_CTX* ctx) const;
  };
  using MacContext = std::unique_ptr<EVP_MAC_CTX, FreeMac>;

  // base64url of HMAC-SHA256(key, id), `keyed` one of keyed_.
  std::string mac(EVP_MAC_CTX& keyed, std::string_view id) const;

  // Per key, an HMAC context with the key set once (its inner and outer pads hashed), restarted
  // from those pads for each MAC: a MAC costs two SHA-256 blocks and no allocation, where
  // one-shot HMAC() fetched the algorithm, parsed parameters and hashed the key again on every
  // request (about a fifth of a GET /me's instructions). Mutable: the reason for one per thread.
  mutable std::vector<MacContext> keyed_;

  // Values that verified, direct-mapped by their hash: a slot's value is replaced by the next
  // one that lands there. Valid only for this signer's keys, which never change. Only values
  // whose MAC matched get in, so a client can fill it with nothing but cookies of its own.
  struct Verified {
    std::string value;         // empty: a free slot
    std::size_t id_size = 0;  // the id is value's first id_size bytes
  };
  mutable std::vector<Verified> verified_ = std::vector<Verified>(kVerifiedSlots);
};

}  // namespace outboard::runtime
