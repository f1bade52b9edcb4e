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

// Plain functions, so a test can tell which handler a route holds (std::function::target).
using HandlerFn = boost::asio::awaitable<http::Response> (*)(RequestContext&);
boost::asio::awaitable<http::Response> original(RequestContext&) { co_return http::Response{}; }
boost::asio::awaitable<http::Response> replacement(RequestContext&) { co_return http::Response{}; }

HandlerFn held_by(Router::Match const& m) {
  if (m.handler == nullptr) return nullptr;
  auto const* fn = m.handler->target<HandlerFn>();
  return fn ? *fn : nullptr;
}

TEST(Router, WrapHandsTheCurrentHandlerToTheDecoratorAndKeepsWhatItReturns) {
  Router r;
  RouteOptions idempotent;
  idempotent.idempotent = true;
  r.add(verb::post, "/cart/items", original, idempotent);
  HandlerFn given = nullptr;
  bool wrapped = r.wrap(verb::post, "/cart/items", [&](Handler inner) {
    auto const* fn = inner.target<HandlerFn>();
    given = fn ? *fn : nullptr;
    return Handler(replacement);
  });
  EXPECT_TRUE(wrapped);
  EXPECT_EQ(given, &original);
  auto m = r.match(verb::post, "/cart/items");
  EXPECT_EQ(held_by(m), &replacement);
  ASSERT_NE(m.options, nullptr);
  EXPECT_TRUE(m.options->idempotent) << "the route's options stay";
  EXPECT_EQ(m.index, 0) << "the route keeps its place (its metrics slot)";
}

TEST(Router, WrapTouchesOnlyTheRouteWithThatMethodAndPattern) {
  Router r;
  r.add(verb::get, "/uploads/{id}", original);
  r.add(verb::post, "/uploads", original);
  r.add(verb::get, "/uploads", original);
  int calls = 0;
  auto decorate = [&](Handler) {
    ++calls;
    return Handler(replacement);
  };
  EXPECT_TRUE(r.wrap(verb::get, "/uploads/{id}", decorate));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(held_by(r.match(verb::get, "/uploads/abc")), &replacement);
  EXPECT_EQ(held_by(r.match(verb::post, "/uploads")), &original);
  EXPECT_EQ(held_by(r.match(verb::get, "/uploads")), &original);
}

TEST(Router, WrapOfAnUnknownRouteSaysSoAndCallsNothing) {
  Router r;
  r.add(verb::get, "/me", original);
  r.add(verb::get, "/uploads/{id}", original);
  int calls = 0;
  auto decorate = [&](Handler inner) {
    ++calls;
    return inner;
  };
  EXPECT_FALSE(r.wrap(verb::post, "/me", decorate)) << "another method";
  EXPECT_FALSE(r.wrap(verb::get, "/you", decorate)) << "another path";
  EXPECT_FALSE(r.wrap(verb::get, "/uploads/abc", decorate)) << "a path is not a pattern";
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(held_by(r.match(verb::get, "/me")), &original);
}

}  // namespace
}  // namespace outboard::runtime
