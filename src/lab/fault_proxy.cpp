#include "lab/fault_proxy.hpp"
#include "core/use_nothrow.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <deque>
#include <exception>
#include <random>
#include <tuple>
#include <utility>
#include <vector>

namespace outboard::lab {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using core::use_nothrow;

constexpr std::size_t kChunkBytes = 16 * 1024;
// Per direction: past this much read and not yet sent, the reader stops reading (see the header).
constexpr std::size_t kMaxHeldBytes = 256 * 1024;

void rethrow(std::exception_ptr e) {
  if (e) std::rethrow_exception(e);  // a bug in the lab itself: let it surface
}

// A broadcast wake-up: wait() suspends until the next notify(), which wakes every waiter. A
// waiter re-checks its own condition after each wake (the wake may have been for another), so a
// spurious one costs one loop turn. Single-threaded: no wake is lost between check and wait.
class Signal {
 public:
  explicit Signal(asio::any_io_executor executor) : timer_(std::move(executor), Clock::time_point::max()) {}
  asio::awaitable<void> wait() {
    auto [ec] = co_await timer_.async_wait(use_nothrow);
    (void)ec;  // operation_aborted is the wake-up itself
  }
  void notify() { timer_.cancel(); }

 private:
  asio::steady_timer timer_;
};

struct Chunk {
  std::string bytes;
  Clock::time_point due;  // read time + the latency then in force
};

// One direction of a link: what was read from one side and not yet written to the other.
struct Pipe {
  explicit Pipe(asio::any_io_executor executor) : delay(std::move(executor)) {}
  std::deque<Chunk> held;  // the front one may be being written right now
  std::size_t held_bytes = 0;
  // The source's end, read but (like its bytes) not yet passed on: once the held chunks are sent,
  // an EOF shuts the other side's send half and a failure (a reset) closes the whole link.
  enum class End { open, eof, failed } source_end = End::open;
  asio::steady_timer delay;  // the writer's wait for the front chunk's due time
};

// One accepted connection and its connection to the target. Owned by its coroutines (shared_ptr
// by value); the proxy keeps a weak_ptr to reach it for faults and resets.
struct Link {
  explicit Link(asio::any_io_executor const& executor)
      : client(executor), target(executor), up(executor), down(executor), wake(executor) {}
  tcp::socket client;
  tcp::socket target;
  Pipe up;    // client -> target
  Pipe down;  // target -> client
  Signal wake;  // something changed: bytes held, room freed, a fault switched, the link closed
  bool closed = false;
  int directions_done = 0;
};

}  // namespace

struct FaultProxyState {
  FaultProxyState(asio::any_io_executor ex, std::string host, std::uint16_t port, std::uint32_t seed)
      : executor(std::move(ex)), acceptor(executor), target_host(std::move(host)), target_port(port), rng(seed) {}

  asio::any_io_executor executor;
  tcp::acceptor acceptor;
  std::string target_host;
  std::uint16_t target_port;
  std::uint16_t listen_port = 0;
  std::chrono::milliseconds latency{0};
  int loss_percent = 0;
  bool partitioned = false;
  bool started = false;
  bool stopped = false;
  std::mt19937 rng;
  FaultProxyStats stats;
  std::vector<std::weak_ptr<Link>> links;  // open or recently closed; pruned at each accept
};

namespace {

// Closes both sockets (the peers see EOF) and wakes every coroutine of the link, which then sees
// `closed` and ends.
void close_link(Link& link) {
  if (link.closed) return;
  link.closed = true;
  boost::system::error_code ignored;
  for (tcp::socket* socket : {&link.client, &link.target}) {
    if (!socket->is_open()) continue;
    socket->shutdown(tcp::socket::shutdown_both, ignored);
    socket->close(ignored);
  }
  link.up.delay.cancel();
  link.down.delay.cancel();
  link.wake.notify();
}

// What "loss" does to a connection: an RST at once (linger 0), no FIN, no byte.
void reset_now(tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.set_option(asio::socket_base::linger(true, 0), ignored);
  socket.close(ignored);
}

// One draw per accepted connection, whatever the percentage, so the sequence of outcomes
// depends on the seed and the count of connections only. `% 100` rather than a
// uniform_int_distribution: mt19937's output is fixed by the standard, a distribution's is not.
bool draw_loss(FaultProxyState& state) {
  auto draw = static_cast<int>(state.rng() % 100);
  return draw < state.loss_percent;
}

// O(links remembered): the lab's proxies carry tens of connections, not thousands.
void remember(FaultProxyState& state, std::shared_ptr<Link> const& link) {
  std::erase_if(state.links, [](std::weak_ptr<Link> const& l) { return l.expired(); });
  state.links.push_back(link);
}

template <class F>
void for_each_link(FaultProxyState& state, F&& f) {
  for (auto const& weak : state.links) {
    if (auto link = weak.lock()) f(*link);
  }
}

// The writer's end of a direction: the other side has sent EOF and all it sent is delivered.
void finish_direction(Link& link, tcp::socket& to) {
  boost::system::error_code ignored;
  to.shutdown(tcp::socket::shutdown_send, ignored);
  if (++link.directions_done == 2) close_link(link);
}

// Reads one side into the pipe, stamping each chunk with its due time. Stops reading while the
// pipe holds kMaxHeldBytes. Its end (EOF or error) is queued behind its bytes, so a partition
// holds a close as it holds data.
asio::awaitable<void> read_side(std::shared_ptr<FaultProxyState> state, std::shared_ptr<Link> link, bool upstream) {
  tcp::socket& from = upstream ? link->client : link->target;
  Pipe& pipe = upstream ? link->up : link->down;
  std::uint64_t& read_count = upstream ? state->stats.bytes_up : state->stats.bytes_down;
  std::vector<char> buffer(kChunkBytes);
  while (!link->closed) {
    if (pipe.held_bytes >= kMaxHeldBytes) {
      co_await link->wake.wait();
      continue;
    }
    auto [ec, n] = co_await from.async_read_some(asio::buffer(buffer), use_nothrow);
    if (link->closed) co_return;
    if (ec) {
      pipe.source_end = ec == asio::error::eof ? Pipe::End::eof : Pipe::End::failed;
      link->wake.notify();
      co_return;
    }
    read_count += n;
    pipe.held.push_back(Chunk{std::string(buffer.data(), n), Clock::now() + state->latency});
    pipe.held_bytes += n;
    link->wake.notify();
  }
}

// Writes the pipe's chunks to the other side in order, each once due and only while not
// partitioned (the source's end too is held by a partition). A write error closes the link. A chunk already being written when a
// partition starts goes through: it was on the wire.
asio::awaitable<void> write_side(std::shared_ptr<FaultProxyState> state, std::shared_ptr<Link> link, bool upstream) {
  tcp::socket& to = upstream ? link->target : link->client;
  Pipe& pipe = upstream ? link->up : link->down;
  std::uint64_t& delivered = upstream ? state->stats.delivered_up : state->stats.delivered_down;
  while (!link->closed) {
    if (state->partitioned || (pipe.held.empty() && pipe.source_end == Pipe::End::open)) {
      co_await link->wake.wait();
      continue;
    }
    if (pipe.held.empty()) {
      if (pipe.source_end == Pipe::End::eof) {
        finish_direction(*link, to);
      } else {
        close_link(*link);
      }
      co_return;
    }
    Chunk& front = pipe.held.front();  // a deque keeps references across push_back
    if (Clock::now() < front.due) {
      pipe.delay.expires_at(front.due);
      auto [ec] = co_await pipe.delay.async_wait(use_nothrow);
      (void)ec;  // cancelled by close_link: the loop's condition ends it
      continue;
    }
    auto [ec, n] = co_await asio::async_write(to, asio::buffer(front.bytes), use_nothrow);
    if (link->closed) co_return;
    if (ec) {
      close_link(*link);
      co_return;
    }
    delivered += n;
    pipe.held_bytes -= front.bytes.size();
    pipe.held.pop_front();
    link->wake.notify();  // the reader may be waiting for room
  }
}

// Connects the link's target socket. An address literal (the lab's usual 127.0.0.1) skips the
// resolver, which would hop through its own thread for nothing.
asio::awaitable<std::tuple<boost::system::error_code>> dial_target(std::shared_ptr<FaultProxyState> state,
                                                                   std::shared_ptr<Link> link) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(state->target_host, ec);
  if (!ec) {
    tcp::endpoint where(address, state->target_port);
    co_return co_await link->target.async_connect(where, use_nothrow);
  }
  tcp::resolver resolver(state->executor);
  std::string service = std::to_string(state->target_port);
  auto [rec, endpoints] = co_await resolver.async_resolve(state->target_host, service, use_nothrow);
  if (rec || link->closed) co_return std::tuple(rec);
  auto [cec, where] = co_await asio::async_connect(link->target, endpoints, use_nothrow);
  (void)where;
  co_return std::tuple(cec);
}

// Dials the target (not before a partition heals: it would drop the SYN), then runs the four
// pumps. A target that cannot be reached closes the client's connection.
asio::awaitable<void> serve_link(std::shared_ptr<FaultProxyState> state, std::shared_ptr<Link> link) {
  while (state->partitioned && !link->closed) co_await link->wake.wait();
  if (link->closed) co_return;
  ++state->stats.dials;
  auto [ec] = co_await dial_target(state, link);
  if (link->closed) co_return;
  if (ec) {
    close_link(*link);
    co_return;
  }
  boost::system::error_code ignored;
  link->target.set_option(tcp::no_delay(true), ignored);  // Nagle would add latency we did not ask for
  for (bool upstream : {true, false}) {
    asio::co_spawn(state->executor, read_side(state, link, upstream), rethrow);
    asio::co_spawn(state->executor, write_side(state, link, upstream), rethrow);
  }
}

asio::awaitable<void> accept_connections(std::shared_ptr<FaultProxyState> state) {
  asio::steady_timer pause(state->executor);
  while (!state->stopped) {
    auto [ec, socket] = co_await state->acceptor.async_accept(use_nothrow);
    if (state->stopped) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) co_return;
      // Out of descriptors or a connection aborted before accept: try again a little later
      // rather than spin.
      pause.expires_after(50ms);
      auto [pec] = co_await pause.async_wait(use_nothrow);
      (void)pec;
      continue;
    }
    ++state->stats.connections;
    if (draw_loss(*state)) {
      ++state->stats.refused;
      reset_now(socket);
      continue;
    }
    auto link = std::make_shared<Link>(state->executor);
    link->client = std::move(socket);
    boost::system::error_code ignored;
    link->client.set_option(tcp::no_delay(true), ignored);
    remember(*state, link);
    asio::co_spawn(state->executor, serve_link(state, link), rethrow);
  }
}

}  // namespace

FaultProxy::FaultProxy(asio::any_io_executor executor, std::string target_host, std::uint16_t target_port,
                       std::uint32_t seed)
    : state_(std::make_shared<FaultProxyState>(std::move(executor), std::move(target_host), target_port, seed)) {
  tcp::endpoint where(asio::ip::address_v4::loopback(), 0);
  state_->acceptor.open(where.protocol());
  state_->acceptor.bind(where);
  state_->acceptor.listen();
  state_->listen_port = state_->acceptor.local_endpoint().port();
}

FaultProxy::~FaultProxy() { stop(); }

void FaultProxy::start() {
  if (state_->started || state_->stopped) return;
  state_->started = true;
  asio::co_spawn(state_->executor, accept_connections(state_), rethrow);
}

std::uint16_t FaultProxy::port() const { return state_->listen_port; }

void FaultProxy::set_latency(std::chrono::milliseconds latency) { state_->latency = std::max(latency, 0ms); }

void FaultProxy::set_loss_percent(int percent) { state_->loss_percent = std::clamp(percent, 0, 100); }

void FaultProxy::set_partitioned(bool partitioned) {
  state_->partitioned = partitioned;
  for_each_link(*state_, [](Link& link) { link.wake.notify(); });
}

void FaultProxy::reset_all() {
  for_each_link(*state_, [](Link& link) { close_link(link); });
  state_->links.clear();
}

FaultProxyStats FaultProxy::stats() const { return state_->stats; }

void FaultProxy::stop() {
  state_->stopped = true;
  boost::system::error_code ignored;
  state_->acceptor.close(ignored);
  reset_all();
}

}  // namespace outboard::lab
