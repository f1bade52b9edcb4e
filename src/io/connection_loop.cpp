#include "io/connection_loop.hpp"

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include <array>

namespace outboard::io {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

struct ConnectionDeadline::State {
  State(tcp::socket* s) : socket(s), timer(s->get_executor()) {}
  explicit State(asio::any_io_executor ex) : timer(std::move(ex)) {}
  tcp::socket* socket = nullptr;  // null once the connection ended
  TimePoint until = TimePoint::max();
  bool guarding = false;
  bool expired = false;
  bool timer_pending = false;
  TimePoint timer_at = TimePoint::max();
  asio::steady_timer timer;
  // Links in IdleConnections' list while the connection waits for a request.
  State* prev = nullptr;
  State* next = nullptr;
  void unlink() {
    if (prev) prev->next = next;
    if (next) next->prev = prev;
    prev = next = nullptr;
  }
};

ConnectionDeadline::ConnectionDeadline(tcp::socket& socket) : state_(std::make_shared<State>(&socket)) {}

ConnectionDeadline::~ConnectionDeadline() {
  state_->unlink();
  state_->socket = nullptr;
  state_->guarding = false;
  if (state_->timer_pending) state_->timer.cancel();
}

void ConnectionDeadline::arm(TimePoint until) {
  state_->until = until;
  state_->guarding = true;
  state_->expired = false;
  // Re-set the timer only when it would fire too late (a shorter deadline than the pending
  // one); one that fires too early re-arms itself.
  if (!state_->timer_pending || state_->timer_at > until) {
    state_->timer_at = until;
    state_->timer.expires_at(until);  // cancels a pending wait: its handler sees operation_aborted
    wait(state_);
  }
}

void ConnectionDeadline::disarm() { state_->guarding = false; }

bool ConnectionDeadline::expired() const { return state_->expired; }

void ConnectionDeadline::wait(std::shared_ptr<State> const& state) {
  state->timer_pending = true;
  state->timer.async_wait([state](boost::system::error_code ec) {
    if (ec == asio::error::operation_aborted) return;  // replaced by a newer wait, or the connection ended
    state->timer_pending = false;
    if (!state->socket || !state->guarding) return;
    if (std::chrono::steady_clock::now() >= state->until) {
      state->expired = true;
      state->guarding = false;
      boost::system::error_code ignored;
      state->socket->cancel(ignored);
      return;
    }
    state->timer_at = state->until;
    state->timer.expires_at(state->until);
    wait(state);
  });
}

IdleConnections::IdleConnections() = default;
IdleConnections::~IdleConnections() {
  if (waiting_) {
    while (waiting_->next) waiting_->next->unlink();
  }
}

void IdleConnections::drain() {
  draining_ = true;
  boost::system::error_code ignored;
  for (auto* s = waiting_ ? waiting_->next : nullptr; s; s = s->next) {
    if (s->socket) s->socket->cancel(ignored);
  }
}

asio::awaitable<bool> IdleConnections::wait_for_request(tcp::socket& socket, beast::flat_buffer& buffer,
                                                        ConnectionDeadline& deadline,
                                                        ConnectionDeadline::TimePoint until) {
  if (draining_) co_return false;
  if (!waiting_) waiting_ = std::make_unique<ConnectionDeadline::State>(socket.get_executor());
  auto& me = *deadline.state_;
  me.next = waiting_->next;
  me.prev = waiting_.get();
  if (me.next) me.next->prev = &me;
  waiting_->next = &me;
  deadline.arm(until);
  auto [ec, n] = co_await socket.async_read_some(buffer.prepare(4096), asio::as_tuple(asio::use_awaitable));
  deadline.disarm();
  me.unlink();
  if (ec) co_return false;  // EOF, reset, the idle deadline or a drain (operation_aborted)
  buffer.commit(n);
  co_return !draining_;
}

namespace {
http::Response closing_error(http::Status status, std::string_view code, std::string_view why) {
  auto res = http::json_error(status, code, why);
  res.keep_alive(false);
  return res;
}
}  // namespace

std::optional<http::Response> read_error_response(beast::error_code ec) {
  using he = beast::http::error;
  if (ec == he::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
      ec == asio::error::operation_aborted) {
    return std::nullopt;
  }
  if (ec == beast::error::timeout) {
    return closing_error(http::Status::request_timeout, "request_timeout", "the request did not arrive in time");
  }
  if (ec == he::body_limit) {
    return closing_error(http::Status::payload_too_large, "payload_too_large", "the request body is over the size limit");
  }
  if (ec == he::header_limit) {
    return closing_error(http::Status::request_header_fields_too_large, "header_too_large",
                         "the request headers are over the size limit");
  }
  if (ec.category() == beast::http::make_error_code(he::bad_target).category()) {
    return closing_error(http::Status::bad_request, "bad_request", "malformed HTTP request: " + ec.message());
  }
  return std::nullopt;  // a socket error: nobody to answer
}

void close_gently(tcp::socket& socket) {
  beast::error_code ec;
  socket.shutdown(tcp::socket::shutdown_send, ec);
  std::array<char, 4096> sink{};
  for (std::size_t total = 0; !ec && total < (64u << 10);) {
    auto ready = socket.available(ec);
    if (ec || ready == 0) break;
    total += socket.read_some(asio::buffer(sink.data(), std::min(ready, sink.size())), ec);
  }
}

}  // namespace outboard::io
