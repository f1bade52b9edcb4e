// A streamed response (server-sent events, a long poll, a download produced as it goes) passes
// through `outboard gateway` piece by piece: what the backend has sent reaches the client while
// the backend still holds the rest. Regression: the relay read until it had 16 KiB or the whole
// body, so a slow stream reached the client only at its end.
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>

#include "support/gateway_process.hpp"
#include "support/http_client.hpp"
#include "support/test_backend.hpp"

namespace outboard::testing {
namespace {

TEST(GatewayStreaming, EachPieceOfAStreamedResponseIsPassedOnAtOnce) {
  TestBackend backend("stream");
  GatewayOptions o;
  o.backends = {backend.address()};
  GatewayProcess gateway(o);

  // /trickle sends "first\n" and then waits for POST /_release: no clock decides anything.
  RawConnection conn(gateway.port(), std::chrono::milliseconds(5000));
  conn.send("GET /trickle HTTP/1.1\r\nHost: outboard\r\n\r\n");
  bool got_first = false;
  std::string why;
  try {
    got_first = conn.receive_until("first\n");
  } catch (std::exception const& e) {
    why = e.what();
  }
  HttpClient control(backend.port());
  EXPECT_EQ(control.post("/_release").status, 200);  // in every case, so the backend's stream ends
  EXPECT_TRUE(got_first) << "the first piece did not come through while the backend held the rest: " << why;
  if (!got_first) return;
  auto res = conn.read_response();
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "first\nlast\n");
}

}  // namespace
}  // namespace outboard::testing
