#pragma once
// How many requests each gateway backend answered, counted by the backend's name.
#include <map>
#include <string>

namespace outboard::testing {

using Tally = std::map<std::string, int>;

// "a=3 b=4 " for failure messages.
std::string describe(Tally const& tally);

}  // namespace outboard::testing
