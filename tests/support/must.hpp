#pragma once
// The value of a Result a test expects to succeed: the test fails (with the error's context) and
// gets T{} when it did not.
#include <gtest/gtest.h>

#include "core/error.hpp"

namespace outboard::testing {

template <class T>
T must(core::Result<T> result) {
  EXPECT_TRUE(result) << (result ? "" : result.error().context);
  return result ? *result : T{};
}

}  // namespace outboard::testing
