#include "runtime/websocket_route.hpp"

#include <boost/beast/websocket/rfc6455.hpp>

#include <algorithm>

#include "realtime/connection.hpp"
#include "runtime/context.hpp"
#include "runtime/errors.hpp"

namespace outboard::runtime {

using http::Status;

bool origin_allowed(std::string_view origin, std::string_view host, std::vector<std::string> const& allowed) {
  if (origin.empty()) return true;
  if (std::find(allowed.begin(), allowed.end(), origin) != allowed.end()) return true;
  // "scheme://host[:port]" against the Host header ("host[:port]").
  auto scheme_end = origin.find("://");
  if (scheme_end == std::string_view::npos || host.empty()) return false;
  return origin.substr(scheme_end + 3) == host;
}

Handler websocket_route() {
  return [](RequestContext& ctx) -> boost::asio::awaitable<http::Response> {
    realtime::ThreadHub* hub = ctx.services().realtime;
    if (!hub) co_return http::json_error(Status::not_found, "not_found", "realtime is not enabled on this server");
    auto const& request = ctx.request();
    if (!boost::beast::websocket::is_upgrade(request)) {
      auto refused = http::json_error(Status::upgrade_required, "not_websocket", "GET /ws is a WebSocket upgrade");
      refused.set(http::bhttp::field::upgrade, "websocket");
      co_return refused;
    }
    if (!origin_allowed(request[http::bhttp::field::origin], request[http::bhttp::field::host],
                        hub->config().allowed_origins)) {
      co_return http::json_error(Status::forbidden, "origin_not_allowed",
                                 "this Origin may not open a WebSocket here (realtime.allowed_origins)");
    }
    if (hub->draining()) {
      co_return http::json_error(Status::service_unavailable, "draining", "this instance is shutting down");
    }
    auto user = co_await ctx.current_user();
    if (!user) co_return error_response(user.error());
    if (!*user) co_return http::json_error(Status::unauthorized, "unauthorized", "not logged in");
    if (!ctx.take_over([hub, upgrade = request, who = std::move(**user)](io::TakenConnection taken) mutable {
          // A plain lambda returning the coroutine: its arguments move into the frame, so no
          // copy of the upgrade request stays behind in the lambda for the connection's life.
          return realtime::Connection::run(*hub, std::move(taken), std::move(upgrade), std::move(who));
        })) {
      co_return http::json_error(Status::internal_server_error, "internal", "this connection cannot be taken over");
    }
    co_return http::Response{Status::switching_protocols, 11};
  };
}

}  // namespace outboard::runtime
