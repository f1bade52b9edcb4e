#include "actors/forward.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <array>
#include <charconv>

#include "core/use_nothrow.hpp"

namespace outboard::actors {

namespace asio = boost::asio;
using asio::ip::tcp;
using core::use_nothrow;

std::uint64_t Relays::add(std::function<void()> cut) {
  std::lock_guard lock(mutex_);
  if (cutting_) {
    cut();
    return 0;
  }
  cuts_.emplace(++next_, std::move(cut));
  return next_;
}

void Relays::remove(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  cuts_.erase(id);
}

void Relays::cut_all() {
  std::lock_guard lock(mutex_);
  cutting_ = true;
  for (auto& [id, cut] : cuts_) cut();
  cuts_.clear();
}

namespace {

constexpr std::chrono::seconds kConnectTimeout{2};
constexpr std::chrono::seconds kFirstAnswerTimeout{2};

std::optional<tcp::endpoint> endpoint_of(std::string_view address) {
  auto colon = address.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::uint16_t port = 0;
  auto digits = address.substr(colon + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  boost::system::error_code bad;
  auto ip = asio::ip::make_address(std::string(address.substr(0, colon)), bad);
  if (bad) return std::nullopt;
  return tcp::endpoint(ip, port);
}

asio::awaitable<void> copy(tcp::socket& from, tcp::socket& to) {
  std::array<char, 16 * 1024> buffer;
  for (;;) {
    auto [read_ec, n] = co_await from.async_read_some(asio::buffer(buffer), use_nothrow);
    if (read_ec) co_return;
    auto [write_ec, written] = co_await asio::async_write(to, asio::buffer(buffer.data(), n), use_nothrow);
    if (write_ec) co_return;
  }
}

asio::awaitable<void> refuse(tcp::socket& client) {
  std::string body = R"({"error":"owner_unavailable","detail":"the room's owner cannot be reached"})";
  std::string answer =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\n"
      "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  auto [ec, n] = co_await asio::async_write(client, asio::buffer(answer), use_nothrow);
  (void)ec;
}

}  // namespace

asio::awaitable<void> relay_to_owner(io::TakenConnection taken, http::Request request, std::string address,
                                     std::string instance, Relays& relays) {
  using namespace asio::experimental::awaitable_operators;
  tcp::socket& client = taken.socket;
  auto target = endpoint_of(address);
  boost::beast::tcp_stream owner(client.get_executor());
  bool connected = false;
  if (target) {
    owner.expires_after(kConnectTimeout);
    auto [ec] = co_await owner.async_connect(*target, use_nothrow);
    connected = !ec;
    owner.expires_never();
  }
  if (!connected) {
    co_await refuse(client);
    co_return;
  }
  auto early = taken.buffer.cdata();
  std::string head = http::request_head_text(request, std::string(kForwardedHeader) + ": " + instance);
  head.append(static_cast<char const*>(early.data()), early.size());
  taken.buffer.clear();
  // The owner's first bytes (its 101, or a refusal) within the bound: a frozen owner (its kernel
  // still accepts connections) is a 503 now, not a player waiting on its own timeout.
  owner.expires_after(kFirstAnswerTimeout);
  auto [write_ec, n] = co_await asio::async_write(owner, asio::buffer(head), use_nothrow);
  std::array<char, 4096> first;
  std::size_t got = 0;
  if (!write_ec) {
    auto [read_ec, read] = co_await owner.async_read_some(asio::buffer(first), use_nothrow);
    got = read_ec ? 0 : read;
  }
  if (got == 0) {
    co_await refuse(client);
    co_return;
  }
  owner.expires_never();
  auto [pass_ec, passed] = co_await asio::async_write(client, asio::buffer(first.data(), got), use_nothrow);
  if (pass_ec) co_return;
  tcp::socket upstream = owner.release_socket();
  // Shared with the drain's cut, which may run after this coroutine ended.
  struct Pair {
    tcp::socket client;
    tcp::socket upstream;
    void close() {
      boost::system::error_code ignored;
      client.close(ignored);
      upstream.close(ignored);
    }
  };
  auto pair = std::make_shared<Pair>(Pair{std::move(client), std::move(upstream)});
  auto executor = pair->client.get_executor();
  std::uint64_t id = relays.add([executor, pair] { asio::post(executor, [pair] { pair->close(); }); });
  co_await (copy(pair->client, pair->upstream) || copy(pair->upstream, pair->client));
  relays.remove(id);
  pair->close();
}

}  // namespace outboard::actors
