#pragma once
// The keys of one issuer: one signing key, and every key a token may be verified with (the
// signing key's own public part included, and the keys of earlier rotations until their last
// tokens expire). Lookup is by exact kid only; the alg comes from the key found, never the token.
// Immutable after construction, so worker threads share one without a lock.
#include <string_view>
#include <vector>

#include "auth/jwt_key.hpp"

namespace outboard::auth {

class KeySet {
 public:
  // Throws std::invalid_argument (start-up only) when the signing key cannot sign, a kid is empty,
  // or two keys share a kid: one kid must name one key, or lookup would depend on list order.
  KeySet(JwtKey signing, std::vector<JwtKey> verification_only);

  JwtKey const& signing_key() const { return keys_.front(); }
  // The key whose kid is exactly `kid`, or nullptr. O(keys), and there are a handful.
  JwtKey const* find(std::string_view kid) const;
  // Every key, the signing key first.
  std::vector<JwtKey> const& keys() const { return keys_; }

 private:
  std::vector<JwtKey> keys_;
};

}  // namespace outboard::auth
