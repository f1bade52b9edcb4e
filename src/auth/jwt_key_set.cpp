#include "auth/jwt_key_set.hpp"

#include <stdexcept>
#include <string>

namespace outboard::auth {

KeySet::KeySet(JwtKey signing, std::vector<JwtKey> verification_only) {
  if (!signing.can_sign()) throw std::invalid_argument("signing key '" + signing.kid() + "' has no private part");
  keys_.push_back(std::move(signing));
  for (auto& key : verification_only) keys_.push_back(std::move(key));
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i].kid().empty()) throw std::invalid_argument("a key has an empty kid");
    for (std::size_t j = 0; j < i; ++j) {
      if (keys_[j].kid() == keys_[i].kid()) throw std::invalid_argument("two keys share kid '" + keys_[i].kid() + "'");
    }
  }
}

JwtKey const* KeySet::find(std::string_view kid) const {
  for (auto const& key : keys_) {
    if (key.kid() == kid) return &key;
  }
  return nullptr;
}

}  // namespace outboard::auth
