#include "gateway/sticky_token.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/random.hpp"
#include "gateway/backend_pool.hpp"

namespace outboard::gateway {
namespace {
constexpr std::string_view kContext = "outboard-sticky-v1:";
constexpr std::size_t kTokenBytes = 16;  // 128 bits: forging one means guessing the HMAC
const std::string kEmpty;
}  // namespace

StickySigner::StickySigner(std::string key) : key_(key.empty() ? core::random_bytes(32) : std::move(key)) {}

std::string StickySigner::token_for(std::string_view backend_id) const {
  std::string message(kContext);
  message += backend_id;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), reinterpret_cast<unsigned char const*>(message.data()),
       message.size(), digest, &length);
  return core::base64url_encode(std::string(reinterpret_cast<char const*>(digest), kTokenBytes));
}

void StickyTokenMap::rebuild(StickySigner const& signer, std::vector<std::shared_ptr<Backend>> const& backends) {
  by_token_.clear();
  by_id_.clear();
  for (auto const& b : backends) {
    auto token = signer.token_for(b->id());
    by_token_[token] = b->id();
    by_id_[b->id()] = token;
  }
}

std::string const& StickyTokenMap::backend_for(std::string_view token) const {
  auto it = by_token_.find(std::string(token));
  return it == by_token_.end() ? kEmpty : it->second;
}

std::string const& StickyTokenMap::token_for(std::string const& backend_id) const {
  auto it = by_id_.find(backend_id);
  return it == by_id_.end() ? kEmpty : it->second;
}

}  // namespace outboard::gateway
