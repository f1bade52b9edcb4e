#pragma once
#include <cstdint>

namespace outboard::lab {

// A port nobody listens on right now (bind to 0, read it, close). Another process could take it
// before we do; a server that fails to bind is then started again on another.
std::uint16_t free_port();

}  // namespace outboard::lab
