#include <gtest/gtest.h>

#include "runtime/router.hpp"

namespace outboard::runtime {
namespace {

using http::bhttp::verb;

Handler noop() {
  return [](RequestContext&) -> boost::asio::awaitable<http::Response> { co_return http::Response{}; };
}

TEST(Router, MatchesMethodAndPathWithParams) {
  Router r;
  r.add(verb::get, "/uploads/{id}", noop());
  r.add(verb::post, "/uploads", noop());
  auto m = r.match(verb::get, "/uploads/abc?x=1");
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.params.at("id"), "abc");
  EXPECT_EQ(m.route, "/uploads/{id}");
  EXPECT_NE(r.match(verb::post, "/uploads").handler, nullptr);
}

TEST(Router, UnknownPathHasNoAllow) {
  Router r;
  r.add(verb::get, "/me", noop());
  auto m = r.match(verb::get, "/you");
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_TRUE(m.allow.empty());
}

TEST(Router, OtherMethodListsAllowed) {
  Router r;
  r.add(verb::get, "/cart", noop());
  r.add(verb::post, "/cart", noop());
  auto m = r.match(verb::delete_, "/cart");
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.allow, "GET, POST");
}

TEST(Router, HeadFallsBackToGet) {
  Router r;
  r.add(verb::get, "/me", noop());
  EXPECT_NE(r.match(verb::head, "/me").handler, nullptr);
}

}  // namespace
}  // namespace outboard::runtime
