#include "support/backend_tally.hpp"

namespace outboard::testing {

std::string describe(Tally const& tally) {
  std::string out;
  for (auto const& [name, count] : tally) out += name + "=" + std::to_string(count) + " ";
  return out;
}

}  // namespace outboard::testing
