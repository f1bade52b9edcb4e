#pragma once
// GET /ws: the WebSocket upgrade of the realtime rooms (docs/REALTIME.md). The request goes
// through the whole middleware chain like any other (request id, access log, bearer token,
// session); this handler refuses what must not upgrade, with a JSON reason, and otherwise hands
// the connection to the thread's realtime::ThreadHub.
#include "runtime/router.hpp"

namespace outboard::runtime {

Handler websocket_route();

// The Origin rule against cross-site WebSocket hijacking: no Origin (not a browser), the
// request's own host, or one listed. `origin` and `host` as the headers carry them.
bool origin_allowed(std::string_view origin, std::string_view host, std::vector<std::string> const& allowed);

}  // namespace outboard::runtime
