// A WebSocket upgrade through the gateway (proxy_session.hpp): the handshake forwarded on a new
// backend connection, then the frame-following tunnel (websocket_tunnel.hpp).
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "gateway/proxy_session.hpp"
#include "http/cookies.hpp"

namespace outboard::gateway {

// A backend that refuses an upgrade (401, 403, 426...) answers with a body, small: it is read
// whole, through the same chunk rules as any response, and passed on with it.
asio::awaitable<void> ClientSession::relay_refusal(ProxyServer& server, beast::tcp_stream& client, Upstream& up,
                                                   bhttp::response_parser<bhttp::string_body>& rp,
                                                   bhttp::request_header<> const& request) {
  io::ChunkGuard guard(rp.chunked());
  auto body = co_await io::async_read_body_strict(up.stream, up.buffer, rp, guard);
  if (body.ec || body.rejection) {
    auto answer = gateway_error(http::Status::bad_gateway, "bad_gateway", "the backend's refusal of the upgrade was cut short");  // named: see core/offload.hpp on g++ 12
    co_await send_error(server, client, std::move(answer), &request);
    co_return;
  }
  auto refusal = rp.release();
  prepare_client_response(refusal.base());
  refusal.keep_alive(false);  // the backend connection was made for this handshake alone
  refusal.prepare_payload();
  client.expires_after(server.config_.idle_timeout);
  co_await bhttp::async_write(client, refusal, use_nothrow);
}

// Forwards the handshake, then copies bytes both ways until either side closes.
asio::awaitable<void> ClientSession::proxy_websocket(ProxyServer& server, Worker& w, beast::tcp_stream& client,
                                             beast::flat_buffer& client_buffer,
                                             bhttp::request_parser<bhttp::buffer_body>& parser,
                                             std::string const& client_ip) {
  auto const& config = server.config_;
  refresh(server, w);
  std::string key = uses_hash_key(config.policy) ? hash_key_of(server, parser.get().base(), client_ip) : "";
  std::string sticky;
  if (auto v = http::find_cookie(parser.get()[bhttp::field::cookie], config.sticky_cookie)) {
    sticky = w.sticky_tokens.backend_for(*v);  // an opaque token, as for any request
  }
  RequestKey rk{key, sticky};
  auto pick = w.balancer->pick(w.candidates, rk, {});
  if (!pick) {
    {
      auto answer = gateway_error(http::Status::service_unavailable, "no_backend", "no backend is available");  // named: see core/offload.hpp on g++ 12
      co_await send_error(server, client, std::move(answer), &parser.get().base());
    }
    co_return;
  }
  auto backend = w.members->backends[*pick];
  InFlight in_flight(w, *backend);
  // A new connection, never a pooled one: a handshake is not sent twice, so it must not meet
  // a keep-alive connection the backend closed meanwhile.
  bool reused = false;
  auto up = co_await connect_upstream(server, w, *backend, reused, true);
  if (!up) {
    {
      auto answer = gateway_error(http::Status::bad_gateway, "bad_gateway", "the backend is unreachable");  // named: see core/offload.hpp on g++ 12
      co_await send_error(server, client, std::move(answer), &parser.get().base());
    }
    co_return;
  }
  ForwardInfo info{client_ip, parser.get()["X-Request-Id"].empty() ? w.next_request_id() : "", true};
  prepare_upstream_request(parser.get().base(), info);
  bhttp::request<bhttp::empty_body> handshake{parser.get().base()};
  up->stream.expires_after(config.first_byte_timeout);
  auto [wec, wn] = co_await bhttp::async_write(up->stream, handshake, use_nothrow);
  if (wec) co_return;
  // No skip(): a 101 has no body anyway, and a refusal (401, 403...) has one the client must get.
  bhttp::response_parser<bhttp::string_body> rp;
  rp.body_limit(kRefusalBodyLimit);
  auto got = co_await io::async_read_head_strict(up->stream, up->buffer, rp, kBackendHeadLimits);
  if (got.rejection) {
    co_await send_rejection(server, client, *got.rejection, &parser.get().base());
    co_return;
  }
  if (got.ec) {
    {
      auto answer = gateway_error(http::Status::bad_gateway, "bad_gateway", "no handshake answer");  // named: see core/offload.hpp on g++ 12
      co_await send_error(server, client, std::move(answer), &parser.get().base());
    }
    co_return;
  }
  if (rp.get().result() != http::Status::switching_protocols) {
    co_await relay_refusal(server, client, *up, rp, parser.get().base());
    co_return;
  }
  bhttp::response<bhttp::empty_body> answer{rp.get().base()};
  prepare_client_response(answer.base());
  client.expires_after(config.idle_timeout);
  auto [aec, an] = co_await bhttp::async_write(client, answer, use_nothrow);
  if (aec) co_return;
  server.metrics_.websocket_sessions.fetch_add(1, std::memory_order_relaxed);

  // Spliced through the frame-following tunnel (websocket_tunnel.hpp). Bytes either side sent
  // with the handshake are the start of its first frames: they go through the tunnel too.
  client.expires_never();
  up->stream.expires_never();
  std::string from_client = beast::buffers_to_string(client_buffer.data());
  std::string from_upstream = beast::buffers_to_string(up->buffer.data());
  client_buffer.consume(client_buffer.size());
  up->buffer.consume(up->buffer.size());
  // `backend` (a shared_ptr in this frame) outlives the tunnel: the worker may close it by it.
  TunnelOptions options{config.websocket_idle_timeout, config.websocket_drain_grace, backend.get()};
  co_await splice_websocket(client.socket(), up->stream.socket(), std::move(from_client), std::move(from_upstream),
                            options, w.tunnels, server.metrics_.websocket);
}
}  // namespace outboard::gateway
