#pragma once
// What a token-carrying client keeps for the lab's `jwt` design (docs/AUTH.md's token API): the
// access token and when it expires, and the refresh token that buys the next pair. A real client
// refreshes before the access token runs out, so a request rarely meets an expired one; the lab
// does the same, so a 401 it meets means a server refused a token it should have taken.
#include <cstdint>
#include <string>
#include <string_view>

namespace outboard::lab {

class TokenWallet {
 public:
  // Takes the pair from a /login or /token/refresh answer body
  // ({"access_token", "expires_in", "refresh_token", ...}), answered at `now_ms`. False, and the
  // wallet unchanged, when the body lacks either token or a positive lifetime.
  bool take(std::string_view body, std::int64_t now_ms);
  bool holding() const { return !access_.empty(); }
  void forget();

  // True once less than a fifth of the access token's lifetime is left (at least 1 s before its
  // expiry, so a request sent now does not arrive with a token that just ran out).
  bool should_refresh(std::int64_t now_ms) const;

  std::string authorization() const { return "Bearer " + access_; }
  std::string const& access_token() const { return access_; }
  // The body of POST /token/refresh.
  std::string refresh_request() const;

 private:
  std::string access_;
  std::string refresh_;
  std::int64_t refresh_from_ms_ = 0;
};

}  // namespace outboard::lab
