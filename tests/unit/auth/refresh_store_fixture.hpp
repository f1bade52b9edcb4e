#pragma once
// A store for the refresh and revocation tests, on sqlite (a temp file) or a private
// redis-server, with the ManualClock the code under test reads. sqlite also expires keys by that
// clock; redis keeps its own time (so there TTLs are checked with PTTL, never waited for).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>
#include <type_traits>

#include "core/clock.hpp"
#include "state/store.hpp"
#include "support/redis_server.hpp"
#include "support/run_coro.hpp"
#include "support/temp_dir.hpp"

namespace outboard::auth::testing_support {

class StoreFixture : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    options_.clock = &clock_;
    provider_ = open_provider();
    store_ = provider_->store_for(io_.get_executor());
  }

  bool on_redis() const { return GetParam() == "redis"; }

  // Another provider on the same backend: what a second server process opens.
  std::unique_ptr<state::StoreProvider> open_provider() {
    if (!on_redis()) return state::open_store("sqlite://" + (dir_ / "state.db").string(), options_);
    if (!redis_) redis_ = std::make_unique<testing::RedisServer>();
    return state::open_store(redis_->url(), options_);
  }

  template <class T>
  core::Result<T> run(boost::asio::awaitable<core::Result<T>> op) {
    return testing::run_coro(io_, std::move(op));
  }

  // The value of a call that must succeed.
  template <class T>
  T ok(boost::asio::awaitable<core::Result<T>> op) {
    auto r = run(std::move(op));
    EXPECT_TRUE(r.has_value()) << r.error().describe();
    if constexpr (std::is_void_v<T>) {
      return;
    } else {
      return r.has_value() ? *r : T{};
    }
  }

  core::ManualClock clock_;
  state::StoreOptions options_;
  testing::TempDir dir_;
  std::unique_ptr<testing::RedisServer> redis_;
  boost::asio::io_context io_;
  std::unique_ptr<state::StoreProvider> provider_;
  std::shared_ptr<state::Store> store_;
};

inline std::string backend_name(::testing::TestParamInfo<std::string> const& info) { return info.param; }

}  // namespace outboard::auth::testing_support
