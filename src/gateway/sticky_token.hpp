#pragma once
// The value of the cookie_sticky cookie: an opaque token, never the backend's address (which
// would leak internal addresses and let a client choose its backend). token = base64url of the
// first 16 bytes of HMAC-SHA256(key, "outboard-sticky-v1:" + backend id). The gateway maps a
// token back by recomputing the tokens of the current members (StickyTokenMap); a forged, stale
// or unknown token maps to nothing, and the request is balanced as if it had no cookie.
//
// The key comes from sticky.key_file or OUTBOARD_STICKY_KEY; without one, a random key per
// process (so a gateway restart re-pins every client, and gateways behind one address disagree).
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace outboard::gateway {

class Backend;

class StickySigner {
 public:
  // An empty key: a random 32-byte key for this process.
  explicit StickySigner(std::string key);
  std::string token_for(std::string_view backend_id) const;

 private:
  std::string key_;
};

// token → backend id for one membership snapshot. Owned by one worker thread; rebuilt when the
// membership changes (one HMAC per backend then, none per request).
class StickyTokenMap {
 public:
  void rebuild(StickySigner const& signer, std::vector<std::shared_ptr<Backend>> const& backends);
  // The backend id the token stands for, or empty when the token is not one of ours for a
  // current member.
  std::string const& backend_for(std::string_view token) const;
  // The token for a current member's id (empty for an unknown id).
  std::string const& token_for(std::string const& backend_id) const;

 private:
  std::unordered_map<std::string, std::string> by_token_;
  std::unordered_map<std::string, std::string> by_id_;
};

}  // namespace outboard::gateway
