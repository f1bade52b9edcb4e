#pragma once
#include <cstdint>

namespace outboard::testing {

// A loopback TCP port nobody listens on right now: bind port 0, read it, close. A process started
// next is told to use it (the small race with other processes is accepted for child processes
// that cannot report a port of their own).
std::uint16_t free_port();

}  // namespace outboard::testing
