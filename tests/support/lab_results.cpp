#include "support/lab_results.hpp"

#include <gtest/gtest.h>

namespace outboard::testing {

nlohmann::json mode_named(nlohmann::json const& results, std::string const& name) {
  for (auto const& m : results.at("modes")) {
    if (m.value("mode", "") == name) return m;
  }
  ADD_FAILURE() << "no mode " << name << " in the results";
  return nlohmann::json::object();
}

}  // namespace outboard::testing
