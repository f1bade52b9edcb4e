#pragma once
// One error type for every layer (after Pingora's pingora-error): a code a caller can act on,
// plus a short human context. Data-plane code returns Result<T> and never throws.
#include <boost/system/result.hpp>
#include <string>
#include <string_view>

namespace outboard::core {

enum class Errc {
  invalid,      // the caller's input is wrong (maps to 4xx)
  not_found,    // the thing asked for does not exist
  conflict,     // it exists already / lost a race
  too_large,    // over a configured size limit
  unavailable,  // a store or peer cannot be reached (maps to 503, never to "logged out")
  timeout,      // a store or peer did not answer within its deadline (also 503)
  internal,     // a bug or an impossible state
};

std::string_view to_string(Errc code);

struct Error {
  Errc code = Errc::internal;
  std::string context;

  bool transient() const { return code == Errc::unavailable || code == Errc::timeout; }
  std::string describe() const;
};

inline Error make_error(Errc code, std::string context) { return Error{code, std::move(context)}; }

template <class T>
using Result = boost::system::result<T, Error>;

}  // namespace outboard::core

namespace boost::system {
// boost::system::result calls this when value() is read from an error: it must not be reached on
// the data plane, where every Result is checked first.
[[noreturn]] void throw_exception_from_error(outboard::core::Error const& e,
                                             boost::source_location const& loc);
}  // namespace boost::system
