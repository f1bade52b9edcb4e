#pragma once
// FUZZ_CHECK(cond): a fuzz target's invariant. Unlike assert it is never compiled out, and it
// prints the condition before aborting so the crash report says which rule an input broke.
#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: fuzz invariant broken: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (false)

namespace outboard::fuzz {

// Splits off the text before the first '\n' (the whole rest when there is none). The seed
// corpora are written by hand, so targets take their parameters as leading lines.
inline std::string_view take_line(std::string_view& rest) {
  auto nl = rest.find('\n');
  std::string_view line = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  return line;
}

}  // namespace outboard::fuzz
