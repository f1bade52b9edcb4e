// The password hasher's two protections: an unknown user's password costs the same KDF work
// (a verification against the dummy hash), and the queue is bounded (kdf_busy, then 503).
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "runtime/password.hpp"
#include "support/run_coro.hpp"

namespace outboard::runtime {
namespace {

namespace asio = boost::asio;
using testing::run_coro;

TEST(PasswordHasher, AnUnknownUserCostsOneVerificationAndNeverMatches) {
  asio::io_context io;
  PasswordHasher hasher(KdfCost::min, 1, 4);
  auto stored = run_coro(io, hasher.hash("correct-horse"));
  ASSERT_TRUE(stored);
  auto before = hasher.counts().verifications;

  auto known = run_coro(io, hasher.verify(*stored, "correct-horse"));
  ASSERT_TRUE(known);
  EXPECT_TRUE(*known);
  auto wrong = run_coro(io, hasher.verify(*stored, "wrong-horse"));
  ASSERT_TRUE(wrong);
  EXPECT_FALSE(*wrong);
  EXPECT_EQ(hasher.counts().verifications, before + 2);

  // No stored hash: the same KDF call (counted), against the dummy, and never a match.
  auto unknown = run_coro(io, hasher.verify(std::nullopt, "correct-horse"));
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(*unknown);
  EXPECT_EQ(hasher.counts().verifications, before + 3);
}

TEST(PasswordHasher, AFullQueueRefusesAtOnceAndAdmitsAgainOnceDrained) {
  asio::io_context io;
  PasswordHasher hasher(KdfCost::min, 1, 0);  // one running, none waiting
  // Both start on `io` before it runs anything else: the first is admitted and handed to the
  // pool; the second starts while the first has not come back (its result is queued behind).
  auto first = asio::co_spawn(io, hasher.hash("first-password"), asio::use_future);
  auto second = asio::co_spawn(io, hasher.hash("second-password"), asio::use_future);
  testing::run_until_ready(io, second);
  testing::run_until_ready(io, first);
  auto refused = second.get();
  ASSERT_FALSE(refused);
  EXPECT_TRUE(is_kdf_busy(refused.error()));
  EXPECT_TRUE(first.get());
  EXPECT_EQ(hasher.counts().busy, 1u);

  auto again = run_coro(io, hasher.verify(std::nullopt, "x"));
  EXPECT_TRUE(again) << "the slot was not released";
}

TEST(PasswordHasher, BusyIsA503WithRetryAfter) {
  auto res = kdf_error_response(core::make_error(core::Errc::unavailable, "kdf_busy"));
  EXPECT_EQ(res.result_int(), 503);
  EXPECT_EQ(res[http::bhttp::field::retry_after], "1");
  EXPECT_NE(res.body().find("\"kdf_busy\""), std::string::npos) << res.body();
  EXPECT_EQ(kdf_error_response(core::make_error(core::Errc::internal, "out of memory")).result_int(), 500);
}

}  // namespace
}  // namespace outboard::runtime
