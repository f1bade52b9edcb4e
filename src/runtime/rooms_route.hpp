#pragma once
// GET /rooms/{id}: a game room over WebSocket (docs/ACTORS.md). The request goes through the
// middleware chain like any other; this handler refuses what must not upgrade, then serves the
// player here when this server owns the room, or relays it to the owner.
#include "runtime/router.hpp"

namespace outboard::runtime {

Handler rooms_route();

}  // namespace outboard::runtime
