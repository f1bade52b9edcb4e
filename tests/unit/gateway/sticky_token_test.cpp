// The cookie_sticky token: opaque (never the address), fixed for a key, unforgeable without it,
// and mapped back only for current members.
#include <gtest/gtest.h>

#include "gateway/backend_pool.hpp"
#include "gateway/sticky_token.hpp"

namespace outboard::gateway {
namespace {

std::vector<std::shared_ptr<Backend>> members(std::vector<std::string> const& ids) {
  std::vector<std::shared_ptr<Backend>> out;
  for (auto const& id : ids) out.push_back(std::make_shared<Backend>(*parse_backend_address(id), 1, 0));
  return out;
}

TEST(StickyToken, IsOpaqueAndFixedForAKey) {
  StickySigner signer("0123456789abcdef0123456789abcdef");
  auto token = signer.token_for("10.0.0.1:9001");
  EXPECT_EQ(token.find("10.0.0.1"), std::string::npos);
  EXPECT_EQ(token.find("9001"), std::string::npos);
  EXPECT_EQ(token.size(), 22u);  // 16 bytes, base64url without padding
  EXPECT_EQ(token, StickySigner("0123456789abcdef0123456789abcdef").token_for("10.0.0.1:9001"));
  EXPECT_NE(token, signer.token_for("10.0.0.1:9002"));
  EXPECT_NE(token, StickySigner("another key, just as long........").token_for("10.0.0.1:9001"));
}

TEST(StickyToken, WithoutAKeyEachSignerHasItsOwn) {
  EXPECT_NE(StickySigner("").token_for("10.0.0.1:9001"), StickySigner("").token_for("10.0.0.1:9001"));
}

TEST(StickyToken, MapsBackOnlyOurTokensForCurrentMembers) {
  StickySigner signer("0123456789abcdef0123456789abcdef");
  StickyTokenMap map;
  map.rebuild(signer, members({"10.0.0.1:9001", "10.0.0.2:9001"}));
  auto token = map.token_for("10.0.0.2:9001");
  EXPECT_EQ(token, signer.token_for("10.0.0.2:9001"));
  EXPECT_EQ(map.backend_for(token), "10.0.0.2:9001");
  // Forged, plain, foreign or junk: as if there were no cookie.
  EXPECT_EQ(map.backend_for("10.0.0.2:9001"), "");
  EXPECT_EQ(map.backend_for(""), "");
  EXPECT_EQ(map.backend_for("not-a-token-at-all"), "");
  EXPECT_EQ(map.backend_for(StickySigner("another key, just as long........").token_for("10.0.0.2:9001")), "");
  // Stale: the member left.
  map.rebuild(signer, members({"10.0.0.1:9001"}));
  EXPECT_EQ(map.backend_for(token), "");
  EXPECT_EQ(map.token_for("10.0.0.2:9001"), "");
}

}  // namespace
}  // namespace outboard::gateway
