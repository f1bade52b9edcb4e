// HttpServer hands every strict-layer refusal to RequestHandler::refused with the rule id (what
// the access log and counters record), and answers it itself: the handler never runs.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <mutex>
#include <string>

#include "io/http_server.hpp"

namespace outboard::io {
namespace {

namespace asio = boost::asio;

struct Seen {
  std::mutex mutex;
  std::string rule;
  std::atomic<int> handled{0};
};

class RecordingHandler final : public RequestHandler {
 public:
  explicit RecordingHandler(Seen& seen) : seen_(seen) {}
  asio::awaitable<http::Response> handle(http::Request request, BodyStream*, ConnectionInfo) override {
    ++seen_.handled;
    (void)request;
    co_return http::json_error(http::Status::ok, "handled", "the handler ran");
  }
  void refused(http::Request const& header, http::Response& response, std::string_view rule,
               ConnectionInfo const& connection) override {
    std::lock_guard lock(seen_.mutex);
    seen_.rule = rule;
    rejected(header, response, connection);
  }

 private:
  Seen& seen_;
};

// Sends `wire`, reads until the server closes, returns everything it sent.
std::string exchange(std::uint16_t port, std::string const& wire) {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::address_v4::loopback(), port});
  asio::write(socket, asio::buffer(wire));
  std::string out;
  boost::system::error_code ec;
  asio::read(socket, asio::dynamic_buffer(out), ec);  // to EOF: the refusal closes the connection
  return out;
}

TEST(HttpServerRefusal, TheRuleReachesTheHandlerHookAndTheHandlerNeverRuns) {
  Seen seen;
  HttpServer server(ServerOptions{}, [&seen](asio::any_io_executor, HttpServer const&) {
    return std::make_shared<RecordingHandler>(seen);
  });
  server.start();
  auto answer = exchange(server.port(), "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                                        "5;a=\"b\r\nhello\r\n0\r\n\r\n");
  server.stop();
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 400 ")) << answer;
  EXPECT_NE(answer.find(R"("error":"chunk-ext")"), std::string::npos) << answer;
  std::lock_guard lock(seen.mutex);
  EXPECT_EQ(seen.rule, "chunk-ext");
  EXPECT_EQ(seen.handled.load(), 0);
}

}  // namespace
}  // namespace outboard::io
