// Request smuggling and abuse at the door of `outboard gateway`: every ambiguous or malformed
// request is answered by the gateway itself (400, 408, 413, 431) and never reaches a backend.
// "Reaches" is strict: the test backend counts a request as soon as its header arrives.
// One gateway and one backend for the whole suite (restarted if a test took the gateway down).
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "support/gateway_process.hpp"
#include "support/http_client.hpp"
#include "support/test_backend.hpp"

namespace outboard::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kGatewayMaxBody = 4096;
constexpr int kHeaderReadMs = 300;

class GatewayFraming : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { backend_ = std::make_unique<TestBackend>("framing"); }
  static void TearDownTestSuite() {
    gateway_.reset();
    backend_.reset();
  }

  void SetUp() override {
    if (!gateway_ || !gateway_->running()) {
      GatewayOptions o;
      o.backends = {backend_->address()};
      o.env = {{"OUTBOARD_GATEWAY_TIMEOUTS_HEADER_READ_MS", std::to_string(kHeaderReadMs)},
               {"OUTBOARD_GATEWAY_LIMITS_MAX_BODY_BYTES", std::to_string(kGatewayMaxBody)}};
      gateway_ = std::make_unique<GatewayProcess>(o);
    }
    backend_->reset_counts();
  }

  void TearDown() override {
    if (HasFailure() && gateway_) std::cerr << "---- gateway log ----\n" << gateway_->log() << "---- end ----\n";
  }

  // Sends `wire` as is and returns the gateway's answer (status 0: it closed without one).
  static HttpResponse exchange(std::string const& wire) {
    RawConnection conn(gateway_->port());
    conn.try_send(wire);  // the gateway may answer and close before reading everything
    HttpResponse res;
    try {
      res = conn.read_response();
    } catch (std::exception const& e) {
      res.status = 0;
      res.body = e.what();
    }
    return res;
  }

  // The request is answered `status` by the gateway (not a backend) and reaches no backend.
  static void expect_rejected(std::string const& wire, int status) {
    auto res = exchange(wire);
    EXPECT_EQ(res.status, status) << res.body;
    EXPECT_EQ(res.header("X-Served-By"), std::nullopt) << "a backend answered";
    // A request that leaked would have reached the backend before the answer came; a short
    // pause covers the backend's own thread recording it.
    std::this_thread::sleep_for(50ms);
    auto counts = backend_->counts();
    EXPECT_EQ(counts.value("total", -1), 0) << "the backend received it: " << counts.dump();
    EXPECT_TRUE(gateway_->running()) << "the gateway exited";
  }

  static std::unique_ptr<TestBackend> backend_;
  static std::unique_ptr<GatewayProcess> gateway_;
};

std::unique_ptr<TestBackend> GatewayFraming::backend_;
std::unique_ptr<GatewayProcess> GatewayFraming::gateway_;

// The control: a well-formed request does reach the backend, and is counted.
TEST_F(GatewayFraming, AWellFormedRequestIsCounted) {
  auto res = exchange("POST /x HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
  EXPECT_EQ(res.status, 200) << res.body;
  EXPECT_EQ(res.header("X-Served-By"), backend_->name());
  EXPECT_EQ(backend_->count("/x"), 1u);
  auto chunked = exchange("POST /y HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                          "5\r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(chunked.status, 200) << chunked.body;
  EXPECT_EQ(backend_->count("/y"), 1u);
}

TEST_F(GatewayFraming, ContentLengthWithTransferEncoding) {
  expect_rejected("POST /x HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "0\r\n\r\nhello",
                  400);
}

TEST_F(GatewayFraming, TransferEncodingWithContentLength) {
  expect_rejected("POST /x HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
                  "0\r\n\r\nhello",
                  400);
}

TEST_F(GatewayFraming, TwoDifferentContentLengths) {
  expect_rejected("POST /x HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400);
}

TEST_F(GatewayFraming, ContentLengthListWithDifferentValues) {
  expect_rejected("POST /x HTTP/1.1\r\nHost: gw\r\nContent-Length: 5, 6\r\n\r\nhello!", 400);
}

TEST_F(GatewayFraming, TransferEncodingGzipThenChunked) {
  // A coding we do not implement (RFC 9112 section 6.1: 501), refused before any backend.
  expect_rejected("POST /x HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 501);
}

TEST_F(GatewayFraming, TransferEncodingChunkedThenIdentity) {
  expect_rejected("POST /x HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                  400);
}

TEST_F(GatewayFraming, TransferEncodingTwiceChunked) {
  expect_rejected("POST /x HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5\r\nhello\r\n0\r\n\r\n",
                  400);
}

TEST_F(GatewayFraming, InvalidChunkSize) {
  expect_rejected("POST /x HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400);
}

TEST_F(GatewayFraming, BareCarriageReturnInAHeaderValue) {
  expect_rejected("GET /x HTTP/1.1\r\nHost: gw\r\nX-Evil: a\rb\r\n\r\n", 400);
}

TEST_F(GatewayFraming, NulInAHeaderValue) {
  // The whole head, NUL included (sizeof counts the literal's bytes, less its terminating NUL).
  char const wire[] = "GET /x HTTP/1.1\r\nHost: gw\r\nX-Evil: a\0b\r\n\r\n";
  expect_rejected(std::string(wire, sizeof wire - 1), 400);
}

TEST_F(GatewayFraming, SpaceInAHeaderName) {
  expect_rejected("GET /x HTTP/1.1\r\nHost: gw\r\nBad Name: x\r\n\r\n", 400);
}

TEST_F(GatewayFraming, SpaceBeforeTheColon) {
  expect_rejected("POST /x HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\nhello", 400);
}

TEST_F(GatewayFraming, HeaderTooLarge) {
  expect_rejected("GET /x HTTP/1.1\r\nHost: gw\r\nX-Big: " + std::string(20'000, 'a') + "\r\n\r\n", 431);
}

TEST_F(GatewayFraming, TooManyHeaders) {
  std::string wire = "GET /x HTTP/1.1\r\nHost: gw\r\n";
  for (int i = 0; i < 150; ++i) wire += "X-H" + std::to_string(i) + ": v\r\n";
  wire += "\r\n";
  expect_rejected(wire, 431);
}

TEST_F(GatewayFraming, BodyOverTheLimitByContentLength) {
  std::string body(kGatewayMaxBody + 1, 'b');
  expect_rejected("POST /x HTTP/1.1\r\nHost: gw\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body,
                  413);
}

TEST_F(GatewayFraming, ChunkedBodyOverTheLimit) {
  std::string chunk(3000, 'c');
  std::string wire = "POST /x HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) wire += "bb8\r\n" + chunk + "\r\n";  // 0xbb8 = 3000
  wire += "0\r\n\r\n";
  expect_rejected(wire, 413);
}

TEST_F(GatewayFraming, SlowHeaderIsCutAfterTheHeaderReadTimeout) {
  RawConnection conn(gateway_->port());
  auto start = std::chrono::steady_clock::now();
  conn.send("GET /x HTTP/1.1\r\nHost: gw\r\nX-Slow: ");  // and nothing more
  int status = 0;
  try {
    status = conn.read_response().status;
  } catch (std::exception const&) {
    status = 0;  // closed without an answer: also fine
  }
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(status == 408 || status == 0) << "answered " << status;
  EXPECT_TRUE(conn.wait_closed(3s)) << "the connection stayed open";
  EXPECT_GE(took, kHeaderReadMs - 50) << "cut before the timeout";
  EXPECT_LE(took, kHeaderReadMs + 2000) << "the slow header held the connection for " << took << " ms";
  EXPECT_EQ(backend_->count(), 0u);
}

TEST_F(GatewayFraming, SilentConnectionIsClosedAfterTheHeaderReadTimeout) {
  // A connection that never sends a byte must not be held for the (long) keep-alive idle time.
  RawConnection conn(gateway_->port());
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(conn.wait_closed(5s)) << "a silent connection stayed open";
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LE(took, kHeaderReadMs + 2000) << "held for " << took << " ms";
  EXPECT_EQ(backend_->count(), 0u);
}

TEST_F(GatewayFraming, DripFedHeaderIsCutToo) {
  // A byte every 50 ms keeps any per-read timer happy; only a deadline on the whole header cuts it.
  RawConnection conn(gateway_->port());
  auto start = std::chrono::steady_clock::now();
  conn.send("GET /x HTTP/1.1\r\nHost: gw\r\n");
  bool open = true;
  for (int i = 0; i < 100 && open; ++i) {
    std::this_thread::sleep_for(50ms);
    open = conn.try_send("X");
    if (std::chrono::steady_clock::now() - start > 5s) break;
  }
  EXPECT_TRUE(conn.wait_closed(5s)) << "the connection stayed open";
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LE(took, kHeaderReadMs + 2000) << "a drip-fed header held the connection for " << took << " ms";
  EXPECT_EQ(backend_->count(), 0u);
}

}  // namespace
}  // namespace outboard::testing
