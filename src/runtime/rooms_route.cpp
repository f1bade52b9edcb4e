#include "runtime/rooms_route.hpp"

#include <boost/beast/websocket/rfc6455.hpp>

#include "actors/forward.hpp"
#include "actors/protocol.hpp"
#include "actors/room_connection.hpp"
#include "runtime/context.hpp"
#include "runtime/errors.hpp"
#include "runtime/websocket_route.hpp"

namespace outboard::runtime {

using http::Status;

namespace {

http::Response unavailable(std::string const& reason) {
  auto refused = http::json_error(Status::service_unavailable, reason,
                                  reason == "store_unavailable" ? "the store cannot be reached"
                                  : reason == "draining"        ? "this instance is shutting down"
                                                                : "the room's owner is changing: try again shortly");
  refused.set(http::bhttp::field::retry_after, "1");
  return refused;
}

}  // namespace

Handler rooms_route() {
  return [](RequestContext& ctx) -> boost::asio::awaitable<http::Response> {
    RoomServices* rooms = ctx.services().rooms;
    if (!rooms) co_return http::json_error(Status::not_found, "not_found", "game rooms are not enabled on this server");
    auto const& request = ctx.request();
    std::string room = ctx.param("id");
    if (!actors::valid_room_id(room)) {
      co_return http::json_error(Status::bad_request, "bad_room_id", "a room id is 1-64 of A-Z a-z 0-9 _ -");
    }
    if (!boost::beast::websocket::is_upgrade(request)) {
      auto refused = http::json_error(Status::upgrade_required, "not_websocket", "GET /rooms/{id} is a WebSocket upgrade");
      refused.set(http::bhttp::field::upgrade, "websocket");
      co_return refused;
    }
    if (!origin_allowed(request[http::bhttp::field::origin], request[http::bhttp::field::host], rooms->allowed_origins)) {
      co_return http::json_error(Status::forbidden, "origin_not_allowed", "this Origin may not open a WebSocket here");
    }
    auto user = co_await ctx.current_user();
    if (!user) co_return error_response(user.error());
    if (!*user) co_return http::json_error(Status::unauthorized, "unauthorized", "not logged in");
    bool forwarded = !request[actors::kForwardedHeader].empty();
    std::string where_room = room;  // named: no temporaries inside co_await (g++ 12)
    actors::Located where = co_await rooms->host.locate(std::move(where_room), forwarded);
    io::Takeover takeover;
    std::string instance = ctx.services().instance_id;
    switch (where.kind) {
      case actors::Located::Kind::unavailable: co_return unavailable(where.reason);
      case actors::Located::Kind::here:
        takeover = [&host = rooms->host, upgrade = request, room, who = std::move(**user),
                    instance](io::TakenConnection taken) mutable {
          return actors::RoomConnection::run(host, std::move(taken), std::move(upgrade), std::move(room),
                                             std::move(who), std::move(instance));
        };
        break;
      case actors::Located::Kind::forward:
        rooms->host.metrics().forwarded.fetch_add(1, std::memory_order_relaxed);
        takeover = [&relays = rooms->relays, upgrade = request, address = where.address,
                    instance](io::TakenConnection taken) mutable {
          return actors::relay_to_owner(std::move(taken), std::move(upgrade), std::move(address), std::move(instance),
                                        relays);
        };
        break;
    }
    if (!ctx.take_over(std::move(takeover))) {
      co_return http::json_error(Status::internal_server_error, "internal", "this connection cannot be taken over");
    }
    co_return http::Response{Status::switching_protocols, 11};
  };
}

}  // namespace outboard::runtime
