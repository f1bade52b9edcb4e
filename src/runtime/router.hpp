#pragma once
// Maps method + path to a handler. Patterns are literal segments and {name} captures
// ("/uploads/{id}"). Unknown path: 404; known path, other method: 405 with Allow.
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"

namespace outboard::runtime {

class RequestContext;
using Handler = std::function<boost::asio::awaitable<http::Response>(RequestContext&)>;
using PathParams = std::map<std::string, std::string>;

// What the middleware does around a route's handler.
struct RouteOptions {
  // Requires an Idempotency-Key header (and a logged-in user it is scoped to); replays the first
  // answer for a repeated key. See runtime/idempotency.hpp.
  bool idempotent = false;
  // The body is streamed to the handler (ctx.body()) up to this many bytes instead of being read
  // whole first.
  std::optional<std::size_t> stream_limit;
  // The route never looks at who is calling (login, sign-up, token refresh): an Authorization
  // header is not verified, so a client holding an expired access token can still refresh.
  bool ignores_bearer = false;
};

class Router {
 public:
  void add(http::bhttp::verb method, std::string pattern, Handler handler, RouteOptions options = {});

  // Replaces the handler of the route registered as exactly (method, pattern) with
  // decorate(current handler), keeping its options and its place; false when there is no such
  // route. For wiring before the service starts (a test-only server with a known defect); the
  // router is not to change once it serves.
  bool wrap(http::bhttp::verb method, std::string_view pattern, std::function<Handler(Handler)> const& decorate);

  struct RouteName {
    std::string method;   // "POST"
    std::string pattern;  // "/cart/items"
  };
  // Every route, in the order added, so Match::index finds its name (metrics pre-allocate a slot
  // per route; the access log names the route's template).
  std::vector<RouteName> names() const;

  struct Match {
    Handler const* handler = nullptr;  // null: no route for this method
    RouteOptions const* options = nullptr;
    int index = -1;  // position of the route, for metrics
    PathParams params;
    std::string route;  // the pattern, for metrics and logs
    std::string allow;  // when the path exists for other methods: "GET, POST"
  };
  // target may carry a query string; it is ignored for matching.
  Match match(http::bhttp::verb method, std::string_view target) const;

 private:
  struct Route {
    http::bhttp::verb method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
    RouteOptions options;
  };
  static bool match_segments(Route const& route, std::span<std::string_view const> parts, PathParams& params);
  std::vector<Route> routes_;
};

}  // namespace outboard::runtime
