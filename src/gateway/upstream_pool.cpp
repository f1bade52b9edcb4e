#include "gateway/upstream_pool.hpp"
#include "core/use_nothrow.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace outboard::gateway {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using core::use_nothrow;

std::unique_ptr<Upstream> UpstreamPool::take(Backend const& backend) {
  auto it = idle_.find(&backend);
  if (it == idle_.end() || it->second.empty()) return nullptr;
  auto up = std::move(it->second.back());
  it->second.pop_back();
  return up;
}

void UpstreamPool::put(Backend const& backend, std::unique_ptr<Upstream> up, std::size_t max_idle) {
  auto& idle = idle_[&backend];
  if (idle.size() < max_idle) idle.push_back(std::move(up));
}

void UpstreamPool::retain_only(std::vector<std::shared_ptr<Backend>> const& members) {
  std::erase_if(idle_, [&](auto const& entry) {
    return std::none_of(members.begin(), members.end(), [&](auto const& b) { return b.get() == entry.first; });
  });
}

asio::awaitable<std::unique_ptr<Upstream>> open_upstream(asio::any_io_executor ex, Backend const& backend,
                                                         core::Millis timeout, GatewayMetrics& metrics,
                                                         MeterRegistry& meters) {
  auto up = std::make_unique<Upstream>(ex);
  boost::system::error_code ec;
  auto address = asio::ip::make_address(backend.address().host, ec);
  tcp::endpoint endpoint;
  if (ec) {
    tcp::resolver resolver(ex);
    auto [rec, results] =
        co_await resolver.async_resolve(backend.address().host, std::to_string(backend.address().port), use_nothrow);
    if (rec || results.empty()) co_return nullptr;
    endpoint = *results.begin();
  } else {
    endpoint = tcp::endpoint(address, backend.address().port);
  }
  up->stream.expires_after(timeout);
  auto [cec] = co_await up->stream.async_connect(endpoint, use_nothrow);
  if (cec) co_return nullptr;
  up->stream.socket().set_option(tcp::no_delay(true), ec);
  up->meter.attach(meters, up->stream.socket().native_handle(), metrics.backend_received_bytes,
                   metrics.backend_sent_bytes);
  metrics.upstream_connects.fetch_add(1, std::memory_order_relaxed);
  co_return up;
}

}  // namespace outboard::gateway
