// The per-backend slot limit and its FIFO: granted at once under the limit, waiters served in
// order as slots free, refused when the FIFO is full, given up at the deadline. One io_context
// driven by poll(): every step is an event, no clock is waited on.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <optional>

#include "gateway/backend_pool.hpp"
#include "gateway/backend_queue.hpp"

namespace outboard::gateway {
namespace {

namespace asio = boost::asio;
using Outcome = BackendQueue::Outcome;
using namespace std::chrono_literals;

class BackendQueueTest : public ::testing::Test {
 protected:
  // Starts an acquire; its outcome lands in `out` when it finishes.
  void start(std::optional<Outcome>& out, std::int64_t limit, std::size_t max_waiting,
             std::chrono::steady_clock::duration wait = 1h) {
    auto deadline = std::chrono::steady_clock::now() + wait;
    asio::co_spawn(io_, queue_.acquire(*backend_, limit, max_waiting, deadline),
                   [&out](std::exception_ptr e, Outcome o) {
                     if (!e) out = o;
                   });
    run_ready();
  }
  // Runs what is ready (an io_context that ran out of work stops, and must be restarted).
  void run_ready() {
    io_.restart();
    io_.poll();
  }
  // A request on the backend finished: its slot goes back and the first waiter is woken.
  void finish_one() {
    backend_->leave();
    queue_.wake(*backend_);
    run_ready();
  }

  asio::io_context io_;
  BackendQueue queue_{io_.get_executor()};
  std::shared_ptr<Backend> backend_ = std::make_shared<Backend>(BackendAddress{"10.0.0.1", 9001}, 1, 0);
};

TEST_F(BackendQueueTest, UnderTheLimitASlotIsGrantedAtOnce) {
  std::optional<Outcome> a, b;
  start(a, 2, 10);
  start(b, 2, 10);
  EXPECT_EQ(a, Outcome::granted);
  EXPECT_EQ(b, Outcome::granted);
  EXPECT_EQ(backend_->in_flight.load(), 2);
}

TEST_F(BackendQueueTest, WaitersAreServedInOrderAsSlotsFree) {
  std::optional<Outcome> a, b, c;
  start(a, 1, 10);
  start(b, 1, 10);
  start(c, 1, 10);
  EXPECT_EQ(a, Outcome::granted);
  EXPECT_EQ(b, std::nullopt);
  EXPECT_EQ(c, std::nullopt);
  EXPECT_EQ(backend_->queued.load(), 2);
  finish_one();
  EXPECT_EQ(b, Outcome::granted_after_wait);
  EXPECT_EQ(c, std::nullopt) << "the second waiter overtook or shared the one freed slot";
  EXPECT_EQ(backend_->in_flight.load(), 1);
  finish_one();
  EXPECT_EQ(c, Outcome::granted_after_wait);
  EXPECT_EQ(backend_->queued.load(), 0);
}

TEST_F(BackendQueueTest, ANewcomerDoesNotJumpTheQueue) {
  std::optional<Outcome> a, b, late;
  start(a, 1, 10);
  start(b, 1, 10);
  backend_->leave();  // a slot is free, but b has not been woken yet
  start(late, 1, 10);
  EXPECT_EQ(late, std::nullopt) << "a newcomer took the slot a waiter was owed";
  queue_.wake(*backend_);
  run_ready();
  EXPECT_EQ(b, Outcome::granted_after_wait);
  finish_one();
  EXPECT_EQ(late, Outcome::granted_after_wait);
}

TEST_F(BackendQueueTest, AFullQueueRefusesAtOnce) {
  std::optional<Outcome> a, b, c;
  start(a, 1, 1);
  start(b, 1, 1);
  start(c, 1, 1);
  EXPECT_EQ(c, Outcome::queue_full);
  EXPECT_EQ(b, std::nullopt);
  finish_one();
  EXPECT_EQ(b, Outcome::granted_after_wait);
}

TEST_F(BackendQueueTest, AWaiterGivesUpAtItsDeadline) {
  std::optional<Outcome> a, b;
  start(a, 1, 10);
  start(b, 1, 10, -1ms);  // the deadline has passed: the timer completes at once
  EXPECT_EQ(b, Outcome::timed_out);
  EXPECT_EQ(backend_->queued.load(), 0);
  EXPECT_EQ(backend_->in_flight.load(), 1) << "a request that gave up must not hold a slot";
}

TEST_F(BackendQueueTest, NoLimitNeverQueues) {
  std::optional<Outcome> out;
  for (int i = 0; i < 100; ++i) {
    out.reset();
    start(out, 0, 0);
    ASSERT_EQ(out, Outcome::granted);
  }
  EXPECT_EQ(backend_->in_flight.load(), 100);
}

}  // namespace
}  // namespace outboard::gateway
