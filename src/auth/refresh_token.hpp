#pragma once
// The refresh token itself: its text form, the server key that derives successors, and the
// digests and store keys it is filed under. Pure functions, no store, no clock.
//
// A token is "<family>.<secret>": a 128-bit family id and a 256-bit secret, both base64url.
// The family id is not a secret (it names store keys and log lines; alone it grants nothing);
// the secret is, and it is never stored: the store keeps only its SHA-256.
//   - the first token of a family (a login) has a secret from the CSPRNG;
//   - every successor's secret is HMAC-SHA256(server refresh key, family || parent secret), so
//     two servers rotating the same token at once compute the same successor without storing
//     anything raw or talking to each other.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace outboard::auth {

// The server's refresh key (HMAC-SHA256), shared by every instance. At least 32 bytes.
class RefreshKey {
 public:
  static constexpr std::size_t kMinBytes = 32;

  // Raw key bytes; throws std::invalid_argument when shorter than kMinBytes (start-up only).
  explicit RefreshKey(std::string raw);
  // A 0600 file holding the key as hex (64+ digits) or base64url (32+ bytes). Throws
  // std::runtime_error naming the file and the reason, never the key (start-up only).
  static RefreshKey from_file(std::filesystem::path const& path);
  // A fresh random key: for tests and for writing a new key file.
  static RefreshKey generate();

  // HMAC-SHA256 of `message` under the key (32 bytes).
  std::string mac(std::string_view message) const;

 private:
  std::string raw_;
};

struct RefreshToken {
  static constexpr std::size_t kFamilyBytes = 16;
  static constexpr std::size_t kSecretBytes = 32;

  std::string family;  // base64url of kFamilyBytes, as it appears in the token and in store keys
  std::string secret;  // kSecretBytes raw bytes

  // A new family's first token, from the CSPRNG.
  static RefreshToken first_of_new_family();
  // Strict: exactly "<22 base64url>.<43 base64url>" in canonical form; nullopt otherwise.
  static std::optional<RefreshToken> parse(std::string_view text);

  std::string text() const;
  // The token that follows this one in its family (deterministic, see above).
  RefreshToken successor(RefreshKey const& key) const;
  // What the store keeps for it: base64url(SHA-256(secret)).
  std::string digest() const;
};

// Store keys. A family's keys share the "{family}" tag, a user's index the "{user}" tag, so each
// conditional write stays on one Redis Cluster slot.
std::string family_key(std::string_view family);                        // hash: user, created, expires[, ended]
std::string token_key(std::string_view family, std::string_view digest);  // hash: issued[, used]
std::string user_families_key(std::string_view user);                   // hash: family -> expires (ms)

}  // namespace outboard::auth
