#include "core/error.hpp"

#include <stdexcept>

namespace outboard::core {

std::string_view to_string(Errc code) {
  switch (code) {
    case Errc::invalid: return "invalid";
    case Errc::not_found: return "not_found";
    case Errc::conflict: return "conflict";
    case Errc::too_large: return "too_large";
    case Errc::unavailable: return "unavailable";
    case Errc::timeout: return "timeout";
    case Errc::internal: return "internal";
  }
  return "internal";
}

std::string Error::describe() const {
  std::string out(to_string(code));
  if (!context.empty()) {
    out += ": ";
    out += context;
  }
  return out;
}

}  // namespace outboard::core

namespace boost::system {
void throw_exception_from_error(outboard::core::Error const& e, boost::source_location const&) {
  throw std::runtime_error(e.describe());
}
}  // namespace boost::system
