#include "io/http_server.hpp"

#include "io/connection_loop.hpp"
#include "io/listener.hpp"
#include "io/strict_read.hpp"
#include "io/write_response.hpp"
#include "core/use_nothrow.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

#include <vector>
#include <chrono>
#include <stdexcept>
#include <thread>

namespace outboard::io {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using core::use_nothrow;

// An io_context that can be shut down before it is destroyed (execution_context::shutdown is
// protected), so that what the handler owns can go in between.
class WorkerContext : public asio::io_context {
 public:
  using asio::io_context::io_context;
  using asio::execution_context::shutdown;
};

struct HttpServer::Worker {
  // The coroutine frames that might still use the handler go first (shutdown destroys them and
  // closes the sockets); then the handler, whose store connections hand their closing to the
  // context (queued, then dropped with it): dispatching to an already destroyed context was a
  // heap-use-after-free at every exit of a serve on redis. Then the context.
  ~Worker() {
    io.shutdown();
    handler.reset();
  }
  std::shared_ptr<RequestHandler> handler;
  WorkerContext io{1};
  tcp::acceptor acceptor{io};
  // Keep-alive connections waiting for their next request, and this thread's copy of the
  // draining flag (read and written only on this thread); drain closes the waiting ones at once.
  IdleConnections idle;
  std::thread thread;
};

// Hands a request body to the handler piece by piece, straight from the socket.
class StreamedBody final : public BodyStream {
 public:
  StreamedBody(beast::tcp_stream& stream, beast::flat_buffer& buffer,
               beast::http::request_parser<beast::http::buffer_body>& parser, core::Millis timeout)
      : stream_(stream), buffer_(buffer), parser_(parser), guard_(parser.chunked()), timeout_(timeout) {}

  asio::awaitable<core::Result<std::string>> read() override {
    using he = beast::http::error;
    while (!parser_.is_done()) {
      parser_.get().body().data = chunk_.data();
      parser_.get().body().size = chunk_.size();
      stream_.expires_after(timeout_);  // per piece: a slow upload is fine, a stalled one is not
      auto read = co_await async_read_body_some_strict(stream_, buffer_, parser_, guard_);
      if (read.rejection) {
        co_return core::make_error(core::Errc::invalid, read.rejection->rule + ": " + read.rejection->detail);
      }
      auto ec = read.ec;
      if (ec == he::need_buffer) ec = {};
      if (ec == he::body_limit) co_return core::make_error(core::Errc::too_large, "the body is over the size limit");
      if (ec == beast::error::timeout) co_return core::make_error(core::Errc::timeout, "the body stopped arriving");
      if (ec) co_return core::make_error(core::Errc::invalid, "the body could not be read: " + ec.message());
      std::size_t got = chunk_.size() - parser_.get().body().size;
      if (got > 0) co_return std::string(chunk_.data(), got);
    }
    stream_.expires_never();
    co_return std::string();
  }

 private:
  beast::tcp_stream& stream_;
  beast::flat_buffer& buffer_;
  beast::http::request_parser<beast::http::buffer_body>& parser_;
  ChunkGuard guard_;  // the chunk rules, before the parser sees the bytes
  core::Millis timeout_;
  // On the heap, not in the object: the object lives in the connection coroutine's frame, which
  // every connection carries for its whole life (a WebSocket's too), streamed body or not.
  std::vector<char> chunk_ = std::vector<char>(64 * 1024);
};

// One connection's life, as a coroutine on its worker's thread. Static members only: a
// coroutine must not run on a `this` that may be a temporary.
struct ConnectionServer {

  // A connection handed over after a 101, and what runs it.
  struct HandOver {
    Takeover takeover;
    TakenConnection connection;
  };

  // The HTTP part first; a connection taken over runs after serve()'s frame (its parsers and
  // buffers) is gone, since a WebSocket may stay open for hours.
  static asio::awaitable<void> run(HttpServer& server, HttpServer::Worker& worker, tcp::socket socket) {
    std::optional<HandOver> next = co_await serve(server, worker, std::move(socket));
    if (!next) co_return;
    // Moved out and `next` emptied: its buffer is freed before the taken connection's long life.
    Takeover takeover = std::move(next->takeover);
    TakenConnection connection{std::move(next->connection.socket), std::move(next->connection.buffer)};
    next.reset();
    co_await takeover(std::move(connection));
  }

  static asio::awaitable<std::optional<HandOver>> serve(HttpServer& server, HttpServer::Worker& worker,
                                                        tcp::socket socket) {
    ConnectionInfo connection;
    boost::system::error_code peer_ec;
    auto peer = socket.remote_endpoint(peer_ec);
    if (!peer_ec) connection.peer = peer.address();
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    ConnectionDeadline deadline(stream.socket());  // the idle wait's, armed per request without a timer call
    bool first = true;
    for (;;) {
      // A new connection must start its request within read_timeout (sending nothing is a
      // slowloris too); between keep-alive requests it may idle for idle_timeout.
      core::Millis wait = first ? server.options_.read_timeout : server.options_.idle_timeout;
      first = false;
      if (buffer.size() == 0 && !co_await worker.idle.wait_for_request(stream.socket(), buffer, deadline,
                                                                       std::chrono::steady_clock::now() + wait)) {
        break;
      }

      // The header first, with no body limit yet: the route decides whether the body is read
      // whole (max_body_bytes) or streamed to the handler (its own limit).
      // The strict layer decides on the raw head before Beast parses it (io/strict_read.hpp).
      beast::http::request_parser<beast::http::empty_body> header_parser;
      header_parser.body_limit(boost::none);
      auto head = co_await async_read_head_strict(stream, buffer, header_parser, head_limits(server.options_),
                                                  server.options_.read_timeout);
      if (head.rejection) {
        co_await answer_rejection(worker, stream, std::move(*head.rejection), http::Request{}, connection);
        break;
      }
      auto hec = head.ec;
      if (hec) {
        // What arrived of the header, for the access log.
        co_await answer_error(worker, stream, hec, header_copy(header_parser.get()), connection);
        break;
      }

      // The parser's own header, not a copy of it (the copy cost 3 allocations and 1.2k of a
      // `GET /me`'s 36.7k instructions: bench/service/profile.sh). The parser is moved from
      // below; nothing reads `header` after that.
      auto const& header = header_parser.get();
      auto limit = worker.handler->stream_limit(header);
      std::size_t body_limit = limit.value_or(server.options_.max_body_bytes);
      if (header_parser.content_length() && *header_parser.content_length() > body_limit) {
        co_await answer_error(worker, stream, beast::http::error::body_limit, header_copy(header), connection);
        break;
      }
      if (header[beast::http::field::expect] == "100-continue") {
        // Clients (curl among them) wait for this before sending a large body.
        beast::http::response<beast::http::empty_body> cont{beast::http::status::continue_, 11};
        auto [cec, cn] = co_await beast::http::async_write(stream, cont, use_nothrow);
        if (cec) break;
      }

      bool keep_alive = header.keep_alive();
      Takeover takeover;
      connection.takeover = &takeover;
      http::Response response;
      if (limit) {
        http::Request streamed = header_copy(header);
        beast::http::request_parser<beast::http::buffer_body> parser{std::move(header_parser)};
        parser.body_limit(body_limit);
        StreamedBody body(stream, buffer, parser, server.options_.read_timeout);
        response = co_await call_handler(worker, std::move(streamed), &body, connection);
        // A body the handler did not read to the end leaves the connection mid-request.
        if (!parser.is_done()) keep_alive = false;
      } else {
        beast::http::request_parser<beast::http::string_body> parser{std::move(header_parser)};
        parser.body_limit(body_limit);
        ChunkGuard guard(parser.chunked());
        auto got = co_await async_read_body_strict(stream, buffer, parser, guard);
        if (got.rejection || got.ec) {
          http::Request seen = header_copy(parser.get());
          if (got.rejection) {
            co_await answer_rejection(worker, stream, std::move(*got.rejection), std::move(seen), connection);
          } else {
            co_await answer_error(worker, stream, got.ec, std::move(seen), connection);
          }
          break;
        }
        stream.expires_never();
        http::Request request = parser.release();
        response = co_await call_handler(worker, std::move(request), nullptr, connection);
      }
      if (takeover && response.result() == beast::http::status::switching_protocols) {
        // Named before the co_return: g++ 12 destroys a non-trivial temporary in one twice.
        std::optional<HandOver> next(HandOver{std::move(takeover), TakenConnection{stream.release_socket(), std::move(buffer)}});
        co_return next;
      }
      response.keep_alive(keep_alive && response.keep_alive() && !worker.idle.draining());
      stream.expires_after(server.options_.read_timeout);
      auto wec = co_await async_write_response(stream, response);
      if (wec || !response.keep_alive()) break;
    }
    close_gently(stream.socket());
    stream.close();
    co_return std::nullopt;
  }

  // A request with a copy of `header`'s start line and fields, and no body.
  static http::Request header_copy(beast::http::request_header<> const& header) {
    http::Request request;
    request.base() = header;
    return request;
  }

  static http::HeadLimits head_limits(ServerOptions const& options) {
    return http::HeadLimits{options.max_header_bytes, options.max_header_fields, options.max_target_bytes};
  }

  // A request a rule of the strict layer refused: its status and {"error": rule, "detail"}.
  static asio::awaitable<void> answer_rejection(HttpServer::Worker& worker, beast::tcp_stream& stream,
                                                http::Rejection rejection, http::Request seen,
                                                ConnectionInfo connection) {
    auto res = http::rejection_response(rejection);
    worker.handler->refused(seen, res, rejection.rule, connection);
    stream.expires_after(std::chrono::seconds(5));
    co_await async_write_response(stream, res);
  }

  static asio::awaitable<http::Response> call_handler(HttpServer::Worker& worker, http::Request request,
                                                     BodyStream* body, ConnectionInfo connection) {
    try {
      co_return co_await worker.handler->handle(std::move(request), body, connection);
    } catch (std::exception const& e) {
      // Handlers return errors as values; reaching here is a bug, answered and logged.
      spdlog::error("handler threw: {}", e.what());
    }
    auto response = http::json_error(http::Status::internal_server_error, "internal", "unexpected server error");
    response.keep_alive(false);
    worker.handler->decorate(response);
    co_return response;
  }

  static asio::awaitable<void> answer_error(HttpServer::Worker& worker, beast::tcp_stream& stream,
                                            beast::error_code ec, http::Request seen, ConnectionInfo connection) {
    if (auto res = read_error_response(ec)) {
      worker.handler->rejected(seen, *res, connection);
      stream.expires_after(std::chrono::seconds(5));
      co_await async_write_response(stream, *res);
    }
  }

  static void log_exception(std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (std::exception const& ex) {
      spdlog::error("connection ended by exception: {}", ex.what());
    }
  }

  static void start_connection(HttpServer& server, HttpServer::Worker& worker, tcp::socket socket) {
    ++server.open_connections_;
    asio::co_spawn(worker.io, run(server, worker, std::move(socket)), [&server](std::exception_ptr e) {
      --server.open_connections_;
      log_exception(e);
    });
  }
};

HttpServer::HttpServer(ServerOptions options, HandlerFactory factory)
    : options_(std::move(options)), factory_(std::move(factory)) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
  if (options_.threads < 1) options_.threads = 1;
  std::uint16_t port = options_.port;
  for (int i = 0; i < options_.threads; ++i) {
    auto w = std::make_unique<Worker>();
    // The others join the first one's port.
    port = listen_reuseport(w->acceptor, options_.address, port, options_.reuse_port);
    workers_.push_back(std::move(w));
  }
  port_ = port;
  for (auto& w : workers_) {
    Worker* worker = w.get();
    // The handler is made on its own thread, before the first accept, so per-thread resources
    // (store connections) belong to that thread's event loop.
    worker->thread = std::thread([this, worker] {
      worker->handler = factory_(worker->io.get_executor(), *this);
      auto on_accept = [this, worker](tcp::socket socket) {
        ConnectionServer::start_connection(*this, *worker, std::move(socket));
      };
      asio::co_spawn(worker->io, accept_loop(worker->acceptor, on_accept), [](std::exception_ptr e) {
        if (e) spdlog::error("accept loop ended by exception");
      });
      worker->io.run();
    });
  }
}

bool HttpServer::drain(core::Millis deadline) {
  draining_ = true;
  for (auto& w : workers_) {
    Worker* worker = w.get();
    asio::post(worker->io, [worker] {
      boost::system::error_code ignored;
      worker->acceptor.close(ignored);
      worker->idle.drain();
    });
  }
  bool finished = wait_for_zero(open_connections_, deadline);
  stop();
  return finished;
}

void HttpServer::stop() {
  for (auto& w : workers_) w->io.stop();
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

}  // namespace outboard::io
