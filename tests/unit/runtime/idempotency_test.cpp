// The idempotency state machine over every backend, driven directly (no HTTP): replay, 409 while
// the first is running, 422 for another body, a retry after a 5xx, users scoped apart, and two
// "instances" (separate store connections) racing on one key: exactly one runs.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

#include "runtime/idempotency.hpp"
#include "support/redis_server.hpp"
#include "support/run_coro.hpp"
#include "support/temp_dir.hpp"

namespace outboard::runtime {
namespace {

using testing::run_coro;
using Outcome = IdempotentCall::Outcome;

http::Response answer(http::Status status, std::string body) {
  http::Response res{status, 11};
  res.set(http::bhttp::field::content_type, "application/json");
  res.set("X-Not-Kept", "1");
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

class IdempotencyTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<state::StoreProvider> open() {
    state::StoreOptions options;
    options.clock = &clock_;
    if (GetParam() == "memory") {
      // Both "instances" must share memory for the race to mean anything: one provider.
      if (!memory_) memory_ = state::open_store("memory://", options);
      return nullptr;
    }
    if (GetParam() == "sqlite") return state::open_store("sqlite://" + (dir_ / "i.db").string(), options);
    if (!redis_) redis_ = std::make_unique<testing::RedisServer>();
    return state::open_store(redis_->url(), options);
  }
  void SetUp() override {
    provider_a_ = open();
    provider_b_ = open();
    auto& a = provider_a_ ? *provider_a_ : *memory_;
    auto& b = provider_b_ ? *provider_b_ : *memory_;
    store_a_ = a.store_for(io_.get_executor());
    store_b_ = b.store_for(io_.get_executor());
  }

  Outcome begin(IdempotentCall& call) {
    auto r = run_coro(io_, call.begin());
    EXPECT_TRUE(r.has_value()) << r.error().describe();
    return r.has_value() ? *r : Outcome{};
  }
  void finish(IdempotentCall& call, http::Response const& res) {
    auto r = run_coro(io_, call.finish(res));
    EXPECT_TRUE(r.has_value()) << r.error().describe();
  }
  static unsigned status_of(Outcome const& o) {
    auto const* res = std::get_if<http::Response>(&o);
    return res ? res->result_int() : 0;  // 0: proceed
  }

  core::ManualClock clock_;
  testing::TempDir dir_;
  std::unique_ptr<testing::RedisServer> redis_;
  std::unique_ptr<state::StoreProvider> memory_, provider_a_, provider_b_;
  boost::asio::io_context io_;
  std::shared_ptr<state::Store> store_a_, store_b_;
  IdempotencyPolicy policy_;
};

TEST_P(IdempotencyTest, ReplayReturnsTheFirstAnswerMarked) {
  IdempotentCall first(*store_a_, policy_, "ada", "key-1", "fp");
  ASSERT_EQ(status_of(begin(first)), 0u);
  finish(first, answer(http::Status::created, R"({"order":1})"));

  IdempotentCall again(*store_b_, policy_, "ada", "key-1", "fp");
  Outcome o = begin(again);
  ASSERT_EQ(status_of(o), 201u);
  auto const& res = std::get<http::Response>(o);
  EXPECT_EQ(res.body(), R"({"order":1})");
  EXPECT_EQ(res[http::bhttp::field::content_type], "application/json");
  EXPECT_EQ(res["Idempotent-Replayed"], "true");
  EXPECT_EQ(res["X-Not-Kept"], "");
}

TEST_P(IdempotencyTest, SameKeyWhileRunningIs409) {
  IdempotentCall first(*store_a_, policy_, "ada", "key-1", "fp");
  ASSERT_EQ(status_of(begin(first)), 0u);
  IdempotentCall second(*store_b_, policy_, "ada", "key-1", "fp");
  Outcome o = begin(second);
  EXPECT_EQ(status_of(o), 409u);
  EXPECT_EQ(std::get<http::Response>(o)[http::bhttp::field::retry_after], "1");
}

TEST_P(IdempotencyTest, SameKeyOtherBodyIs422) {
  IdempotentCall first(*store_a_, policy_, "ada", "key-1", "fp-1");
  ASSERT_EQ(status_of(begin(first)), 0u);
  finish(first, answer(http::Status::created, "{}"));
  IdempotentCall other(*store_b_, policy_, "ada", "key-1", "fp-2");
  EXPECT_EQ(status_of(begin(other)), 422u);
  // ...and while running, too.
  IdempotentCall running(*store_a_, policy_, "ada", "key-2", "fp-1");
  ASSERT_EQ(status_of(begin(running)), 0u);
  IdempotentCall other_running(*store_b_, policy_, "ada", "key-2", "fp-2");
  EXPECT_EQ(status_of(begin(other_running)), 422u);
}

TEST_P(IdempotencyTest, A5xxReleasesTheKeyForARetry) {
  IdempotentCall first(*store_a_, policy_, "ada", "key-1", "fp");
  ASSERT_EQ(status_of(begin(first)), 0u);
  finish(first, answer(http::Status::service_unavailable, "{}"));
  IdempotentCall retry(*store_b_, policy_, "ada", "key-1", "fp");
  EXPECT_EQ(status_of(begin(retry)), 0u);
}

TEST_P(IdempotencyTest, A4xxIsKeptAndReplayed) {
  IdempotentCall first(*store_a_, policy_, "ada", "key-1", "fp");
  ASSERT_EQ(status_of(begin(first)), 0u);
  finish(first, answer(http::Status::bad_request, R"({"error":"cart_empty"})"));
  IdempotentCall again(*store_b_, policy_, "ada", "key-1", "fp");
  EXPECT_EQ(status_of(begin(again)), 400u);
}

TEST_P(IdempotencyTest, KeysAreScopedToTheUser) {
  IdempotentCall ada(*store_a_, policy_, "ada", "shared-key", "fp");
  ASSERT_EQ(status_of(begin(ada)), 0u);
  IdempotentCall bob(*store_b_, policy_, "bob", "shared-key", "fp");
  EXPECT_EQ(status_of(begin(bob)), 0u);
  EXPECT_NE(ada.derived_id(), bob.derived_id());
}

TEST_P(IdempotencyTest, DerivedIdIsStableAcrossRetries) {
  IdempotentCall a(*store_a_, policy_, "ada", "k", "fp");
  IdempotentCall b(*store_b_, policy_, "ada", "k", "fp");
  EXPECT_EQ(a.derived_id(), b.derived_id());
}

TEST_P(IdempotencyTest, TwoInstancesRacingOnOneKeyRunOnce) {
  // 20 claims in flight at once, alternating between the two connections.
  std::vector<std::unique_ptr<IdempotentCall>> calls;
  std::vector<std::future<state::Result<Outcome>>> futures;
  for (int i = 0; i < 20; ++i) {
    calls.push_back(std::make_unique<IdempotentCall>(i % 2 ? *store_a_ : *store_b_, policy_, "ada", "race", "fp"));
    futures.push_back(boost::asio::co_spawn(io_, calls.back()->begin(), boost::asio::use_future));
  }
  int proceeded = 0, conflicts = 0;
  for (auto& f : futures) {
    testing::run_until_ready(io_, f);
    auto r = f.get();
    ASSERT_TRUE(r.has_value()) << r.error().describe();
    unsigned s = status_of(*r);
    proceeded += s == 0;
    conflicts += s == 409;
  }
  EXPECT_EQ(proceeded, 1);
  EXPECT_EQ(conflicts, 19);
}

INSTANTIATE_TEST_SUITE_P(Backends, IdempotencyTest, ::testing::Values("memory", "sqlite", "redis"));

TEST(IdempotencyKey, FormatIsChecked) {
  EXPECT_EQ(check_idempotency_key("abc-123_XYZ:1"), std::nullopt);
  EXPECT_NE(check_idempotency_key(""), std::nullopt);
  EXPECT_NE(check_idempotency_key(std::string(256, 'a')), std::nullopt);
  EXPECT_NE(check_idempotency_key("has space"), std::nullopt);
  EXPECT_NE(check_idempotency_key("tab\there"), std::nullopt);
  EXPECT_EQ(check_idempotency_key(std::string(255, 'a')), std::nullopt);
}

TEST(IdempotencyKey, FingerprintCoversMethodPathQueryAndBody) {
  http::Request a{http::bhttp::verb::post, "/cart/items", 11};
  a.body() = R"({"sku":"sku-001","qty":1})";
  http::Request b = a;
  EXPECT_EQ(request_fingerprint(a), request_fingerprint(b));
  b.body() = R"({"sku":"sku-001","qty":2})";
  EXPECT_NE(request_fingerprint(a), request_fingerprint(b));
  http::Request c = a;
  c.target("/checkout");
  EXPECT_NE(request_fingerprint(a), request_fingerprint(c));
  http::Request d = a;
  d.target("/cart/items?x=1");  // a query string changes what is asked
  EXPECT_NE(request_fingerprint(a), request_fingerprint(d));
  http::Request e = d;
  e.target("/cart/items?x=2");
  EXPECT_NE(request_fingerprint(d), request_fingerprint(e));
}

}  // namespace
}  // namespace outboard::runtime
