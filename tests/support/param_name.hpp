#pragma once
// gtest names allow [A-Za-z0-9_] only: a backend parameter "redis-cluster" runs as redis_cluster.
// INSTANTIATE_TEST_SUITE_P's name generator for parameters that are a backend's name, or have a
// `name` member.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <type_traits>

namespace outboard::testing {

struct ParamName {
  template <class Param>
  std::string operator()(::testing::TestParamInfo<Param> const& info) const {
    std::string name;
    if constexpr (std::is_convertible_v<Param const&, std::string>) name = info.param;
    else name = info.param.name;
    std::replace(name.begin(), name.end(), '-', '_');
    return name;
  }
};

}  // namespace outboard::testing
