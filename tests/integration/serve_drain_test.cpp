// SIGTERM draining of `outboard serve`, observed from outside: the listener closes at once, idle
// keep-alive connections are closed, a request in flight is still answered in full, and the
// process then exits 0. No sleeps: every wait is a bounded poll on something observable.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <thread>

#include "integration/http_expectations.hpp"
#include "support/http_client.hpp"
#include "support/serve_process.hpp"

namespace outboard::testing {
namespace {

constexpr int kExitTimeoutMs = 20'000;

// Polls (bounded) until a new connection to the port is refused, i.e. every listener closed.
bool wait_until_refused(std::uint16_t port, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (RawConnection::refused(port)) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

ServeOptions drain_options(std::string drain_timeout_ms) {
  ServeOptions o;
  o.name = "drain";
  // Long enough that the drain deadline never decides these tests; the tests bound themselves.
  o.extra_args = {"--drain-timeout-ms", std::move(drain_timeout_ms)};
  return o;
}

TEST(ServeDrain, RequestInFlightFinishesAfterSigterm) {
  ServeProcess serve(drain_options("60000"));
  std::string body = credentials_json("drain-user", "correct-horse");
  std::size_t half = body.size() / 2;

  RawConnection conn(serve.port());
  // Expect: 100-continue makes the server tell us it has read the headers: from then on the
  // request is in flight (not an idle connection), with no timing assumption.
  conn.send("POST /signup HTTP/1.1\r\n"
            "Host: 127.0.0.1\r\n"
            "Content-Type: application/json\r\n"
            "Content-Length: " + std::to_string(body.size()) + "\r\n"
            "Expect: 100-continue\r\n"
            "\r\n");
  auto interim = conn.read_response();
  ASSERT_EQ(interim.status, 100) << "the server did not acknowledge the headers";
  conn.send(body.substr(0, half));

  serve.signal(SIGTERM);
  ASSERT_TRUE(wait_until_refused(serve.port())) << "the listener did not close within 10 s of SIGTERM";
  ASSERT_TRUE(serve.running()) << "the process exited with a request still in flight (status "
                               << serve.wait_exit(0).value_or(-1) << ")";

  conn.send(body.substr(half));
  auto res = conn.read_response();
  EXPECT_EQ(res.status, 201) << res.body;
  EXPECT_EQ(res.json().value("user", ""), "drain-user") << res.body;
  EXPECT_EQ(res.header("X-Served-By"), serve.instance());
  // While draining the server closes the connection after the answer.
  EXPECT_EQ(res.header("Connection").value_or("(none)"), "close");
  EXPECT_TRUE(conn.wait_closed()) << "the connection stayed open after the drained response";

  EXPECT_EQ(serve.wait_exit(kExitTimeoutMs), std::optional<int>(0)) << "no clean exit after the drain";
}

TEST(ServeDrain, IdleKeepAliveConnectionIsClosedOnSigterm) {
  // With a 60 s drain deadline and the default 60 s idle timeout, only the drain itself can close
  // the idle connection within the 10 s this test waits.
  ServeOptions options = drain_options("60000");
  // One event loop, so the barrier below is ordered after the idle connection's own handlers.
  options.threads = 1;
  ServeProcess serve(options);
  RawConnection conn(serve.port());
  conn.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  auto res = conn.read_response();
  ASSERT_EQ(res.status, 200) << res.body;
  ASSERT_NE(res.header("Connection").value_or(""), "close") << "expected a keep-alive connection";

  // Barrier: a whole request/response on another connection, served by the same (only) event
  // loop after `conn`'s post-response step. From here `conn` is parked as idle for certain; a
  // SIGTERM sent earlier could find it before it parks, and close it by another path.
  HttpClient barrier(serve.port());
  ASSERT_EQ(barrier.get("/healthz").status, 200);

  serve.signal(SIGTERM);
  EXPECT_TRUE(conn.wait_closed(std::chrono::seconds(10))) << "the idle keep-alive connection was not closed";
  EXPECT_EQ(serve.wait_exit(kExitTimeoutMs), std::optional<int>(0)) << "no clean exit after the drain";
  EXPECT_TRUE(RawConnection::refused(serve.port()));
}

TEST(ServeDrain, NoConnectionsExitsPromptly) {
  ServeProcess serve(drain_options("60000"));
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait_exit(kExitTimeoutMs), std::optional<int>(0));
  EXPECT_NE(serve.log().find("draining"), std::string::npos) << serve.log();
}

TEST(ServeDrain, DrainDeadlineCutsARequestThatNeverCompletes) {
  // A client that stops sending mid-request cannot hold the process forever: after the drain
  // deadline the process exits (still 0: a deliberate stop) and the connection is closed.
  ServeProcess serve(drain_options("300"));
  RawConnection conn(serve.port());
  conn.send("POST /signup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Content-Length: 100\r\nExpect: 100-continue\r\n\r\n");
  ASSERT_EQ(conn.read_response().status, 100);
  conn.send("{\"user\":");

  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait_exit(kExitTimeoutMs), std::optional<int>(0));
  EXPECT_TRUE(conn.wait_closed(std::chrono::seconds(10)));
  EXPECT_NE(serve.log().find("drain deadline passed"), std::string::npos) << serve.log();
}

}  // namespace
}  // namespace outboard::testing
