#include "support/free_port.hpp"

#include "lab/cluster.hpp"

namespace outboard::testing {

// The lab picks its cluster's ports the same way.
std::uint16_t free_port() { return lab::free_port(); }

}  // namespace outboard::testing
